//! The gallery as its owner sees it: pages of images and single images with their file links
//! signed now for the caller's session, edits, and deletion of the row and its files. The REST
//! routes and the UI's server functions both answer with these.

use contract::images::{ImageFilter, ImageInfo, ImagePage, UpdateImage};
use time::OffsetDateTime;

use crate::{
    Core,
    accounts::CurrentUser,
    images::{self, ImageRecord},
    tenancy::TenantError,
};
use contract::ids::{ImageId, UserId};

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// A page of `user`'s images, newest first, with links signed now for their session.
///
/// # Errors
/// The database failed.
pub async fn page(core: &Core, user: &CurrentUser, filter: ImageFilter) -> Result<ImagePage, TenantError> {
    let filter = filter.within_bounds();
    let (rows, total) = images::list(&core.tenants, user.user_id, &filter).await?;
    let now = now();
    let items = rows.iter().map(|r| r.to_info(&core.links, user.session, now)).collect::<Result<_, _>>()?;
    Ok(ImagePage { items, total, offset: filter.offset, limit: filter.limit })
}

/// `record` as its owner sees it, with links signed now for their session.
///
/// # Errors
/// Stored parameters that do not decode.
pub fn signed_now(core: &Core, user: &CurrentUser, record: &ImageRecord) -> Result<ImageInfo, TenantError> {
    record.to_info(&core.links, user.session, now())
}

/// One of `user`'s images.
///
/// # Errors
/// 404 if it is not theirs.
pub async fn image(core: &Core, user: &CurrentUser, id: ImageId) -> Result<ImageInfo, TenantError> {
    signed_now(core, user, &images::get(&core.tenants, user.user_id, id).await?)
}

/// Stars, unstars or moves one of `user`'s images.
///
/// # Errors
/// 404 if it is not theirs; 422 for a board that is not theirs.
pub async fn update(
    core: &Core,
    user: &CurrentUser,
    id: ImageId,
    edit: &UpdateImage,
) -> Result<ImageInfo, TenantError> {
    signed_now(core, user, &images::update(&core.tenants, user.user_id, id.0, edit).await?)
}

/// Deletes one of `user`'s images and its files.
///
/// # Errors
/// 404 if it is not theirs.
pub async fn delete(core: &Core, user: UserId, id: ImageId) -> Result<(), TenantError> {
    for key in images::delete(&core.tenants, user, id).await? {
        // The row is gone, so a file left behind is unreachable; log it for clean-up.
        if let Err(e) = core.store.delete(&key).await {
            tracing::warn!(key, error = %e, "image file not deleted");
        }
    }
    Ok(())
}
