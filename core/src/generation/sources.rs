//! Where an edit's source images are fetched for a job: the init image's and the mask's rows read
//! as the job's owner (so only their own images, as at submission), their files from the store,
//! then decoded and prepared ([`edit::prepare_files`]) on a blocking thread, once for all the
//! job's images.

use contract::{generation::Edit, ids::UserId};

use super::edit::{self, Prepared, SourceError};
use crate::{
    images,
    storage::{ImageStore, StorageError},
    tenancy::{TenantDb, TenantError},
};

/// Why an edit's sources could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The images are gone or unusable: the job fails with this message.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The database failed (may pass).
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The object store failed (may pass).
    #[error(transparent)]
    Storage(StorageError),
    /// The preparing thread panicked.
    #[error("the image preparation thread stopped: {0}")]
    Panicked(String),
}

/// Loads the files `edit` of `owner`'s job starts from and prepares the engine's input for
/// `size`.
///
/// # Errors
/// [`LoadError::Source`] when an image was deleted or cannot be used; the others when the
/// database, the store or the thread failed.
pub async fn load(
    db: &TenantDb,
    store: &ImageStore,
    owner: UserId,
    edit: &Edit,
    size: (usize, usize),
) -> Result<Prepared, LoadError> {
    let mut files = Vec::with_capacity(2);
    for id in std::iter::once(edit.init_image_id).chain(edit.mask_image_id) {
        let record = match images::get(db, owner, id).await {
            Ok(record) => record,
            Err(TenantError::Database(e)) => return Err(e.into()),
            // Not found, or any refusal: as far as this job is concerned, the image is gone.
            Err(_) => return Err(SourceError::Gone.into()),
        };
        files.push(match store.get(&record.storage_key).await {
            Ok(bytes) => bytes,
            Err(StorageError::NotFound(_)) => return Err(SourceError::Gone.into()),
            Err(e) => return Err(LoadError::Storage(e)),
        });
    }
    let edit = edit.clone();
    tokio::task::spawn_blocking(move || {
        edit::prepare_files(&edit, &files[0], files.get(1).map(|mask| &mask[..]), size)
    })
    .await
    .map_err(|e| LoadError::Panicked(e.to_string()))?
    .map_err(LoadError::from)
}
