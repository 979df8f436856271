//! Image files in an object store (the `object_store` crate): a folder on the local filesystem by
//! default, S3 or any S3-compatible store when `OBJECT_STORE_URL` names a bucket. Every key lives
//! under its owner's prefix, `users/{user_id}/…`, so a key can never name another user's file.

use std::{path::Path as FsPath, sync::Arc};

use bytes::Bytes;
use object_store::{
    ObjectStore, PutPayload,
    aws::{AmazonS3Builder, AmazonS3ConfigKey},
    local::LocalFileSystem,
    path::Path,
};

use contract::ids::{ImageId, UserId};

/// Where image files are kept.
#[derive(Debug, Clone)]
pub struct ImageStore {
    store: Arc<dyn ObjectStore>,
    /// For logs: `file:///…` or `s3://bucket`.
    location: String,
}

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No object under that key.
    #[error("no stored file {0}")]
    NotFound(String),
    /// The store failed or is misconfigured.
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// The local folder could not be made.
    #[error("cannot create the storage folder {path}: {source}")]
    Folder {
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The kinds of file an image has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The full image (PNG for generated ones, as uploaded otherwise).
    Original,
    /// The small WebP shown in the gallery grid.
    Thumbnail,
}

impl ImageStore {
    /// Files under the local folder `dir` (created if missing).
    ///
    /// # Errors
    /// The folder cannot be created.
    pub fn local(dir: &FsPath) -> Result<Self, StorageError> {
        std::fs::create_dir_all(dir)
            .map_err(|source| StorageError::Folder { path: dir.display().to_string(), source })?;
        let store = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Self { store: Arc::new(store), location: format!("file://{}", dir.display()) })
    }

    /// The bucket of an `s3://bucket` URL; credentials, region and endpoint come from the usual
    /// `AWS_*` variables (`AWS_ENDPOINT` and `AWS_ALLOW_HTTP=true` for S3-compatible servers).
    ///
    /// # Errors
    /// The URL or the variables do not describe a usable bucket.
    pub fn s3(url: &str) -> Result<Self, StorageError> {
        Self::s3_with(url, &[])
    }

    /// As [`ImageStore::s3`], with `options` (`aws_endpoint`, `aws_allow_http`, …, as
    /// object_store names them) overriding the environment's.
    ///
    /// # Errors
    /// An unknown option, or a configuration that does not describe a usable bucket.
    pub fn s3_with(url: &str, options: &[(&str, &str)]) -> Result<Self, StorageError> {
        let mut builder = AmazonS3Builder::from_env().with_url(url);
        for (key, value) in options {
            builder = builder.with_config(key.parse::<AmazonS3ConfigKey>()?, *value);
        }
        Ok(Self { store: Arc::new(builder.build()?), location: url.to_owned() })
    }

    /// The store `url` names: `s3://…`, `file:///…`, or `None` for `default_dir`.
    ///
    /// # Errors
    /// See [`ImageStore::local`] and [`ImageStore::s3`].
    pub fn from_url(url: Option<&str>, default_dir: &FsPath) -> Result<Self, StorageError> {
        match url {
            Some(url) if url.starts_with("s3://") => Self::s3(url),
            Some(url) => Self::local(FsPath::new(url.strip_prefix("file://").unwrap_or(url))),
            None => Self::local(default_dir),
        }
    }

    /// For logs.
    #[must_use]
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The key of one of `user`'s image files: `users/{user}/images/{image}.png` for generated
    /// originals (`extension` for uploads), `users/{user}/thumbnails/{image}.webp` for thumbnails.
    #[must_use]
    pub fn key(user: UserId, image: ImageId, kind: FileKind, extension: &str) -> String {
        match kind {
            FileKind::Original => format!("users/{user}/images/{image}.{extension}"),
            FileKind::Thumbnail => format!("users/{user}/thumbnails/{image}.webp"),
        }
    }

    /// Stores `bytes` under `key`, replacing what was there (so a retried job rewrites, never
    /// duplicates, its files).
    ///
    /// # Errors
    /// The store failed.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        self.store.put(&Path::from(key), PutPayload::from(bytes)).await?;
        Ok(())
    }

    /// The bytes under `key`.
    ///
    /// # Errors
    /// [`StorageError::NotFound`], or the store failed.
    pub async fn get(&self, key: &str) -> Result<Bytes, StorageError> {
        match self.store.get(&Path::from(key)).await {
            Ok(found) => Ok(found.bytes().await?),
            Err(object_store::Error::NotFound { .. }) => Err(StorageError::NotFound(key.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// Every key under `user`'s prefix: what the store holds of theirs.
    ///
    /// # Errors
    /// The store failed.
    pub async fn keys_of(&self, user: UserId) -> Result<Vec<String>, StorageError> {
        use futures::TryStreamExt;
        let prefix = Path::from(format!("users/{user}"));
        let listed: Vec<_> = self.store.list(Some(&prefix)).try_collect().await?;
        Ok(listed.into_iter().map(|object| object.location.to_string()).collect())
    }

    /// Deletes every file under `user`'s prefix (their account is being erased); returns how many.
    ///
    /// # Errors
    /// The store failed (what was deleted before stays deleted).
    pub async fn delete_all_of(&self, user: UserId) -> Result<usize, StorageError> {
        let keys = self.keys_of(user).await?;
        for key in &keys {
            self.delete(key).await?;
        }
        Ok(keys.len())
    }

    /// Deletes `key`; a key that is already gone is fine.
    ///
    /// # Errors
    /// The store failed.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_live_under_their_owners_prefix() {
        let user = UserId(uuid::Uuid::nil());
        let image = ImageId(uuid::Uuid::from_u128(1));
        assert_eq!(
            ImageStore::key(user, image, FileKind::Original, "png"),
            "users/00000000-0000-0000-0000-000000000000/images/00000000-0000-0000-0000-000000000001.png"
        );
        assert!(
            ImageStore::key(user, image, FileKind::Thumbnail, "png")
                .ends_with("/thumbnails/00000000-0000-0000-0000-000000000001.webp")
        );
    }
}
