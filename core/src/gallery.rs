//! The gallery as its owner sees it: pages of images and single images with their file links
//! signed now for the caller's session, uploads, edits, and deletion of the row and its files.
//! The REST routes and the UI's server functions both answer with these.

use contract::images::{ImageFilter, ImageInfo, ImagePage, UpdateImage};
use time::OffsetDateTime;

use crate::{
    Core,
    accounts::CurrentUser,
    images::{self, ImageRecord, NewImage, Origin},
    imaging::{self, ImagingError, UploadLimits},
    links::LinkOwner,
    storage::{FileKind, ImageStore, StorageError},
    tenancy::TenantError,
};
use contract::ids::{BoardId, ImageId, JobId, UserId};

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
    let items =
        rows.into_iter().map(|r| r.into_info(&core.links, user.session, now)).collect::<Result<_, _>>()?;
    Ok(ImagePage { items, total, offset: filter.offset, limit: filter.limit })
}

/// `record` as its owner sees it, with links signed now for their session.
///
/// # Errors
/// Stored parameters that do not decode.
pub fn signed_now(core: &Core, user: &CurrentUser, record: ImageRecord) -> Result<ImageInfo, TenantError> {
    record.into_info(&core.links, user.session, now())
}

/// The images `owner`'s job `job` made, signed for the session that watches it (the completed
/// event of a job's stream carries them, so the page needs no request per image).
///
/// # Errors
/// The database failed.
pub async fn made_by_job(core: &Core, owner: LinkOwner, job: JobId) -> Result<Vec<ImageInfo>, TenantError> {
    let now = now();
    images::of_job(&core.tenants, owner.user, job)
        .await?
        .into_iter()
        .map(|record| record.into_info(&core.links, owner.session, now))
        .collect()
}

/// One of `user`'s images.
///
/// # Errors
/// 404 if it is not theirs.
pub async fn image(core: &Core, user: &CurrentUser, id: ImageId) -> Result<ImageInfo, TenantError> {
    signed_now(core, user, images::get(&core.tenants, user.user_id, id).await?)
}

/// Moves a staged canvas result of `user`'s into the gallery.
///
/// # Errors
/// 404 if it is not theirs.
pub async fn accept(core: &Core, user: &CurrentUser, id: ImageId) -> Result<ImageInfo, TenantError> {
    signed_now(core, user, images::accept(&core.tenants, user.user_id, id).await?)
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
    signed_now(core, user, images::update(&core.tenants, user.user_id, id, edit).await?)
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

/// Why an upload was not added to the gallery; nothing of it is kept.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The file is not an image we take (415, 413 or 422 by kind).
    #[error(transparent)]
    Image(#[from] ImagingError),
    /// Past the storage budget, a board that is not theirs, or the database failed.
    #[error(transparent)]
    Tenant(#[from] TenantError),
    /// The object store failed (500).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The decoding thread stopped (500).
    #[error("upload decoding stopped: {0}")]
    Stopped(String),
    /// Uploads being received hold all the room for bodies (503); retry after the duration.
    #[error("Many uploads are arriving right now. Try again in {} seconds.", .0.as_secs().max(1))]
    Busy(std::time::Duration),
}

/// Memory for upload bodies being received, all together (`UPLOAD_BUFFER_MIB`): each body holds
/// its declared length until it has been checked and stored, so many large uploads at once wait
/// for room (up to [`UploadBuffers::WAIT`]) instead of growing the server without bound.
#[derive(Debug, Clone)]
pub struct UploadBuffers {
    kib: std::sync::Arc<tokio::sync::Semaphore>,
    total_kib: u32,
}

impl UploadBuffers {
    /// How long a body waits for room before it is answered 503 `busy`.
    pub const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

    /// Room for `mib` MiB of bodies at once.
    #[must_use]
    pub fn new(mib: u32) -> Self {
        let total_kib = mib.max(1).saturating_mul(1024);
        Self { kib: std::sync::Arc::new(tokio::sync::Semaphore::new(total_kib as usize)), total_kib }
    }

    /// Room for a body of `bytes` (at most all of it), held until the returned permit drops.
    ///
    /// # Errors
    /// [`UploadError::Busy`] when no room came free within [`UploadBuffers::WAIT`].
    pub async fn take(&self, bytes: usize) -> Result<tokio::sync::OwnedSemaphorePermit, UploadError> {
        let kib = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX).clamp(1, self.total_kib);
        tokio::time::timeout(Self::WAIT, std::sync::Arc::clone(&self.kib).acquire_many_owned(kib))
            .await
            .map_err(|_| UploadError::Busy(std::time::Duration::from_secs(5)))?
            .map_err(|e| UploadError::Stopped(e.to_string()))
    }
}

/// Adds `file` to `user`'s gallery (on `board`), or as an asset for edits to start from when
/// `origin` is [`Origin::Asset`] (on no board): refused early if the storage budget has no
/// room, checked by content (type, declared pixels, bit depth) before it is decoded, thumbnailed,
/// stored, and recorded under the budget's lock. Files stored for a row that could not be
/// recorded are deleted again.
///
/// # Errors
/// [`UploadError`]: what was wrong with the file or the budget, or a failure on our side.
pub async fn upload(
    core: &Core,
    user: &CurrentUser,
    board: Option<BoardId>,
    origin: Origin,
    file: bytes::Bytes,
) -> Result<ImageInfo, UploadError> {
    images::check_room(&core.tenants, user.user_id, user.plan, file.len()).await?;
    // One turn per decode: the turn goes with the work to its thread, so memory stays bounded
    // even when a client disconnects mid-decode.
    let turn = std::sync::Arc::clone(&core.upload_decodes)
        .acquire_owned()
        .await
        .map_err(|e| UploadError::Stopped(e.to_string()))?;
    let limits = UploadLimits { max_pixels: core.config.limits.upload_max_pixels };
    let checked = tokio::task::spawn_blocking({
        let file = file.clone();
        move || {
            let checked = imaging::check_upload(&file, limits);
            drop(turn);
            checked
        }
    })
    .await
    .map_err(|e| UploadError::Stopped(e.to_string()))??;
    let image_id = ImageId(uuid::Uuid::new_v4());
    let record = NewImage {
        image_id,
        origin,
        board_id: board.filter(|_| origin != Origin::Asset),
        storage_key: ImageStore::key(user.user_id, image_id, FileKind::Original, checked.extension),
        thumbnail_key: ImageStore::key(user.user_id, image_id, FileKind::Thumbnail, "webp"),
        content_type: checked.content_type,
        width: checked.width,
        height: checked.height,
        byte_size: file.len(),
    };
    let stored = async {
        core.store.put(&record.storage_key, file.to_vec()).await?;
        core.store.put(&record.thumbnail_key, checked.thumbnail).await?;
        Ok::<_, UploadError>(images::insert_upload(&core.tenants, user.user_id, user.plan, &record).await?)
    };
    match stored.await {
        Ok(row) => Ok(signed_now(core, user, row)?),
        Err(e) => {
            for key in [&record.storage_key, &record.thumbnail_key] {
                let _ = core.store.delete(key).await;
            }
            Err(e)
        }
    }
}
