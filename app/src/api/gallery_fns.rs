//! The UI's server functions for generation and the gallery, handed to the server's
//! [`GalleryBackend`](super::backend::GalleryBackend), the core the REST API uses.

use leptos::{prelude::*, server_fn::codec::Json};
use uuid::Uuid;

use super::{
    error::UiError,
    generation::{GenerateRequest, Job, JobAccepted},
    images::{ImageFilter, ImageInfo, ImagePage, UpdateImage},
};

#[cfg(feature = "ssr")]
mod edge {
    use std::sync::Arc;

    use leptos::prelude::*;

    use crate::api::{backend::GalleryBackend, error::UiError};

    /// Runs `work` against the backend the server provided, setting the HTTP status from an error.
    pub async fn with_backend<T, Fut>(work: impl FnOnce(Arc<dyn GalleryBackend>) -> Fut) -> Result<T, UiError>
    where
        Fut: Future<Output = Result<T, UiError>>,
    {
        let result = match use_context::<Arc<dyn GalleryBackend>>() {
            Some(backend) => work(backend).await,
            None => Err(UiError::Failed("The server is not set up for this.".into())),
        };
        crate::api::account_fns::set_error_status(&result);
        result
    }
}

/// Queue a generation.
#[server(prefix = "/api/v1/ui", endpoint = "generate", input = Json)]
pub async fn ui_generate(access_token: String, request: GenerateRequest) -> Result<JobAccepted, UiError> {
    edge::with_backend(async move |b| b.generate(&access_token, request).await).await
}

/// One of my jobs.
#[server(prefix = "/api/v1/ui", endpoint = "jobs/get")]
pub async fn ui_job(access_token: String, id: Uuid) -> Result<Job, UiError> {
    edge::with_backend(async move |b| b.job(&access_token, id).await).await
}

/// Cancel one of my jobs.
#[server(prefix = "/api/v1/ui", endpoint = "jobs/cancel")]
pub async fn ui_cancel_job(access_token: String, id: Uuid) -> Result<Job, UiError> {
    edge::with_backend(async move |b| b.cancel_job(&access_token, id).await).await
}

/// A page of my images.
#[server(prefix = "/api/v1/ui", endpoint = "images", input = Json)]
pub async fn ui_images(access_token: String, filter: ImageFilter) -> Result<ImagePage, UiError> {
    edge::with_backend(async move |b| b.images(&access_token, filter).await).await
}

/// One of my images.
#[server(prefix = "/api/v1/ui", endpoint = "images/get")]
pub async fn ui_image(access_token: String, id: Uuid) -> Result<ImageInfo, UiError> {
    edge::with_backend(async move |b| b.image(&access_token, id).await).await
}

/// Star or move one of my images.
#[server(prefix = "/api/v1/ui", endpoint = "images/update", input = Json)]
pub async fn ui_update_image(
    access_token: String,
    id: Uuid,
    edit: UpdateImage,
) -> Result<ImageInfo, UiError> {
    edge::with_backend(async move |b| b.update_image(&access_token, id, edit).await).await
}

/// Delete one of my images.
#[server(prefix = "/api/v1/ui", endpoint = "images/delete")]
pub async fn ui_delete_image(access_token: String, id: Uuid) -> Result<(), UiError> {
    edge::with_backend(async move |b| b.delete_image(&access_token, id).await).await
}
