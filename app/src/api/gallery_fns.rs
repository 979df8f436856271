//! The UI's server functions for the gallery: the same core functions as the REST API
//! (`pingvas_core::gallery`). Generation's are in `crate::generation::server_fns`.

use leptos::{prelude::*, server_fn::codec::Json};

use contract::{
    error::UiError,
    images::{ImageFilter, ImageInfo, ImagePage, UpdateImage},
};

#[cfg(feature = "ssr")]
use super::call::as_user;
use contract::ids::ImageId;
#[cfg(feature = "ssr")]
use pingvas_core::gallery;

/// A page of my images.
#[server(prefix = "/api/v1/ui", endpoint = "images", input = Json)]
pub async fn ui_images(access_token: String, filter: ImageFilter) -> Result<ImagePage, UiError> {
    as_user(&access_token, async |core, user| gallery::page(core, &user, filter).await).await
}

/// One of my images.
#[server(prefix = "/api/v1/ui", endpoint = "images/get")]
pub async fn ui_image(access_token: String, id: ImageId) -> Result<ImageInfo, UiError> {
    as_user(&access_token, async |core, user| gallery::image(core, &user, id).await).await
}

/// Star or move one of my images.
#[server(prefix = "/api/v1/ui", endpoint = "images/update", input = Json)]
pub async fn ui_update_image(
    access_token: String,
    id: ImageId,
    edit: UpdateImage,
) -> Result<ImageInfo, UiError> {
    as_user(&access_token, async |core, user| gallery::update(core, &user, id, &edit).await).await
}

/// Keep a staged canvas result: it joins my gallery.
#[server(prefix = "/api/v1/ui", endpoint = "images/accept")]
pub async fn ui_accept_image(access_token: String, id: ImageId) -> Result<ImageInfo, UiError> {
    as_user(&access_token, async |core, user| gallery::accept(core, &user, id).await).await
}

/// Delete one of my images.
#[server(prefix = "/api/v1/ui", endpoint = "images/delete")]
pub async fn ui_delete_image(access_token: String, id: ImageId) -> Result<(), UiError> {
    as_user(&access_token, async |core, user| gallery::delete(core, user.user_id, id).await).await
}
