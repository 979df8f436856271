//! The gallery's rows: listing, reading, editing and deleting a user's images, and recording
//! uploads, always in a transaction bound to that user (row-level security), never by id alone.
//! Generated images are recorded by the queue (`queue::store_image`), in the job's transaction.

use contract::images::{ImageFilter, ImageInfo, UpdateImage};
use time::OffsetDateTime;

use contract::plans::Plan;

use crate::{
    links::{LinkOwner, LinkPurpose, LinkSigner},
    storage_budget::{self, Adding},
    tenancy::{TenantDb, TenantError, TenantTx},
};
use contract::ids::{BoardId, ImageId, JobId, SessionId, UserId};

/// An image row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImageRecord {
    /// Its id.
    pub image_id: ImageId,
    /// Its owner.
    pub user_id: UserId,
    /// Its board.
    pub board_id: Option<BoardId>,
    /// The job that made it.
    pub job_id: Option<JobId>,
    /// `generated`, `uploaded`, `asset` or `staged` ([`Origin`]).
    pub origin: String,
    /// The file's key in the object store.
    pub storage_key: String,
    /// The thumbnail's key.
    pub thumbnail_key: Option<String>,
    /// MIME type.
    pub content_type: String,
    /// Pixels.
    pub width: i32,
    /// Pixels.
    pub height: i32,
    /// Bytes.
    pub byte_size: i64,
    /// Generation parameters as JSON text.
    pub params: Option<String>,
    /// Starred.
    pub starred: bool,
    /// Made at.
    pub created_at: OffsetDateTime,
}

const COLUMNS: &str = "image_id, user_id, board_id, job_id, origin, storage_key, thumbnail_key, content_type, \
                       width, height, byte_size, params::text AS params, starred, created_at";

impl ImageRecord {
    /// As its owner sees it in `session`, with links signed at `now` (Unix seconds) that work
    /// while the session does. Takes the record: its strings move into the answer (a page of
    /// the gallery converts twenty).
    ///
    /// # Errors
    /// Stored parameters that do not decode.
    pub fn into_info(
        self,
        signer: &LinkSigner,
        session: SessionId,
        now: i64,
    ) -> Result<ImageInfo, TenantError> {
        let owner = LinkOwner { user: self.user_id, session };
        let params =
            self.params.as_deref().map(serde_json::from_str).transpose().map_err(TenantError::corrupt)?;
        let mut buffer = uuid::Uuid::encode_buffer();
        let id = self.image_id.0.hyphenated().encode_lower(&mut buffer);
        let link = |file: &str, purpose| {
            signer.link(&["/api/v1/images/", id, file], purpose, owner, self.image_id.0, now)
        };
        Ok(ImageInfo {
            file_url: link("/file", LinkPurpose::File),
            thumbnail_url: link("/thumbnail", LinkPurpose::Thumbnail),
            image_id: self.image_id,
            board_id: self.board_id,
            job_id: self.job_id,
            origin: self.origin,
            content_type: self.content_type,
            width: self.width,
            height: self.height,
            byte_size: self.byte_size,
            params,
            starred: self.starred,
            created_at: self.created_at,
        })
    }
}

/// A page of `user`'s images, newest first, and how many match in all; `filter` is expected
/// [within bounds](ImageFilter::within_bounds).
///
/// # Errors
/// The database failed.
pub async fn list(
    db: &TenantDb,
    user: UserId,
    filter: &ImageFilter,
) -> Result<(Vec<ImageRecord>, i64), TenantError> {
    // The page and the total in one statement and one round trip, without an explicit
    // transaction: the function declares the user itself (migration `image_page`).
    let read = db.read(user);
    let rows: Vec<Counted> = sqlx::query_as("SELECT * FROM tenant_image_page($1, $2, $3, $4, $5)")
        .bind(read.user())
        .bind(filter.board_id)
        .bind(filter.starred)
        .bind(filter.offset)
        .bind(filter.limit)
        .fetch_all(read.pool())
        .await?;
    let total = match rows.first() {
        Some(first) => first.total,
        None if filter.offset == 0 => 0,
        // A page past the end has no row to carry the total.
        None => {
            let mut tx = db.begin(user).await?;
            let total = sqlx::query_scalar(
                "SELECT count(*) FROM images WHERE user_id = $1 AND ($2::uuid IS NULL OR board_id = $2) \
                 AND (NOT $3 OR starred) AND origin IN ('generated', 'uploaded')",
            )
            .bind(user)
            .bind(filter.board_id)
            .bind(filter.starred)
            .fetch_one(tx.conn())
            .await?;
            tx.finish_read();
            total
        }
    };
    Ok((rows.into_iter().map(|counted| counted.record).collect(), total))
}

/// A row of a page with the number of rows on every page.
#[derive(sqlx::FromRow)]
struct Counted {
    #[sqlx(flatten)]
    record: ImageRecord,
    total: i64,
}

/// One of `user`'s images.
///
/// # Errors
/// 404 if it is not theirs.
pub async fn get(db: &TenantDb, user: UserId, id: ImageId) -> Result<ImageRecord, TenantError> {
    let mut tx = db.begin(user).await?;
    let row: Option<ImageRecord> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM images WHERE image_id = $1 AND user_id = $2"
    )))
    .bind(id)
    .bind(user)
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    row.ok_or(TenantError::NotFound)
}

/// The images `user`'s job `job` made (none for another user's job), oldest first.
///
/// # Errors
/// The database failed.
pub async fn of_job(db: &TenantDb, user: UserId, job: JobId) -> Result<Vec<ImageRecord>, TenantError> {
    let mut tx = db.begin(user).await?;
    let rows: Vec<ImageRecord> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM images WHERE job_id = $1 AND user_id = $2 ORDER BY created_at, image_id"
    )))
    .bind(job)
    .bind(user)
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(rows)
}

fn unknown_board() -> TenantError {
    TenantError::invalid("unknown_board", "board_id", "You have no board with this id.")
}

/// Stars, unstars or moves one of `user`'s images (only the fields present change).
///
/// # Errors
/// 404 if it is not theirs; 422 `unknown_board` for a board that is not theirs.
pub async fn update(
    db: &TenantDb,
    user: UserId,
    id: ImageId,
    edit: &UpdateImage,
) -> Result<ImageRecord, TenantError> {
    let mut tx = db.begin(user).await?;
    // The composite foreign key (board_id, user_id) already refuses another user's board.
    let row: Option<ImageRecord> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE images SET starred = coalesce($3, starred),
                board_id = CASE WHEN $4 THEN $5 ELSE board_id END
         WHERE image_id = $1 AND user_id = $2
         RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(user)
    .bind(edit.starred)
    .bind(edit.board_id.is_some())
    .bind(edit.board_id.flatten())
    .fetch_optional(tx.conn())
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => unknown_board(),
        _ => TenantError::Database(e),
    })?;
    let row = row.ok_or(TenantError::NotFound)?;
    tx.commit().await?;
    Ok(row)
}

/// Deletes one of `user`'s images and returns the keys of its files, for the caller to delete
/// from the store (the row goes first: a file left behind by a failed delete is invisible, a row
/// without its file would be a broken gallery entry).
///
/// # Errors
/// 404 if it is not theirs.
pub async fn delete(db: &TenantDb, user: UserId, id: ImageId) -> Result<Vec<String>, TenantError> {
    let mut tx = db.begin(user).await?;
    let keys: Option<(String, Option<String>)> = sqlx::query_as(
        "DELETE FROM images WHERE image_id = $1 AND user_id = $2 RETURNING storage_key, thumbnail_key",
    )
    .bind(id)
    .bind(user)
    .fetch_optional(tx.conn())
    .await?;
    let (file, thumbnail) = keys.ok_or(TenantError::NotFound)?;
    tx.commit().await?;
    Ok(std::iter::once(file).chain(thumbnail).collect())
}

/// Where an image came from, and so whether the gallery shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Made by a job: a picture of the gallery.
    Generated,
    /// Uploaded into the gallery.
    Uploaded,
    /// Uploaded for an edit to start from (a canvas's base or mask): not among the pictures.
    Asset,
    /// Made by a canvas job and waiting to be accepted ([`accept`]) or discarded (deleted).
    Staged,
}

impl Origin {
    /// Its stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Generated => "generated",
            Self::Uploaded => "uploaded",
            Self::Asset => "asset",
            Self::Staged => "staged",
        }
    }
}

/// A new image row.
#[derive(Debug, Clone)]
pub struct NewImage {
    /// Its id (chosen before its files were stored under it).
    pub image_id: ImageId,
    /// Where it came from.
    pub origin: Origin,
    /// Its board.
    pub board_id: Option<BoardId>,
    /// The file's key.
    pub storage_key: String,
    /// The thumbnail's key.
    pub thumbnail_key: String,
    /// MIME type.
    pub content_type: &'static str,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// Bytes.
    pub byte_size: usize,
}

/// Inserts an image row, whose files are already stored, of the user whose transaction `tx` is:
/// made by `job` with `params` (JSON), or uploaded when `job` is `None` (the queue records a
/// generated image in its job's transaction).
///
/// # Errors
/// The database refused it (a foreign-key violation: a board that is not theirs).
pub(crate) async fn insert(
    tx: &mut TenantTx,
    image: &NewImage,
    generated: Option<(JobId, &str)>,
) -> Result<ImageRecord, sqlx::Error> {
    let (job, params) = generated.unzip();
    let user = tx.user();
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO images (image_id, user_id, board_id, job_id, origin, storage_key, thumbnail_key,
                             content_type, width, height, byte_size, params)
         VALUES ($1, $2, $3, $4, $12, $5, $6, $7, $8, $9, $10, $11::jsonb)
         RETURNING {COLUMNS}"
    )))
    .bind(image.image_id)
    .bind(user)
    .bind(image.board_id)
    .bind(job)
    .bind(&image.storage_key)
    .bind(&image.thumbnail_key)
    .bind(image.content_type)
    .bind(i32::try_from(image.width).unwrap_or(i32::MAX))
    .bind(i32::try_from(image.height).unwrap_or(i32::MAX))
    .bind(i64::try_from(image.byte_size).unwrap_or(i64::MAX))
    .bind(params)
    .bind(image.origin.as_str())
    .fetch_one(tx.conn())
    .await
}

/// Moves a staged result of `user`'s into the gallery (an image already there stays as it is).
///
/// # Errors
/// 404 if it is not theirs.
pub async fn accept(db: &TenantDb, user: UserId, id: ImageId) -> Result<ImageRecord, TenantError> {
    let mut tx = db.begin(user).await?;
    let row: Option<ImageRecord> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE images SET origin = CASE WHEN origin = 'staged' THEN 'generated' ELSE origin END
         WHERE image_id = $1 AND user_id = $2
         RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(user)
    .fetch_optional(tx.conn())
    .await?;
    let row = row.ok_or(TenantError::NotFound)?;
    tx.commit().await?;
    Ok(row)
}

/// The sizes of `ids` that are images of the user whose transaction `tx` is, in no order; an id
/// of another user's image is simply missing, as an unknown one is.
///
/// # Errors
/// The database failed.
pub(crate) async fn sizes_of(
    tx: &mut TenantTx,
    ids: &[ImageId],
) -> Result<Vec<(ImageId, u32, u32)>, sqlx::Error> {
    let user = tx.user();
    let ids: Vec<uuid::Uuid> = ids.iter().map(|id| id.0).collect();
    let rows: Vec<(ImageId, i32, i32)> = sqlx::query_as(
        "SELECT image_id, width, height FROM images WHERE user_id = $1 AND image_id = ANY($2)",
    )
    .bind(user)
    .bind(&ids)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, w, h)| (id, u32::try_from(w).unwrap_or(0), u32::try_from(h).unwrap_or(0)))
        .collect())
}

/// Whether `plan`'s storage budget has room for one more image of `bytes`, as last committed:
/// an early refusal before an upload is decoded and stored ([`insert_upload`] checks again,
/// under lock).
///
/// # Errors
/// 413 `storage_quota_exceeded` past the budget.
pub async fn check_room(db: &TenantDb, user: UserId, plan: Plan, bytes: usize) -> Result<(), TenantError> {
    let mut tx = db.begin(user).await?;
    let used = storage_budget::usage(tx.conn(), user).await?;
    tx.commit().await?;
    storage_budget::check(plan, used, upload_of(bytes))?;
    Ok(())
}

fn upload_of(bytes: usize) -> Adding {
    Adding { images: 1, bytes: u64::try_from(bytes).unwrap_or(u64::MAX) }
}

/// Records an uploaded image of `user`'s whose files are already stored, if it fits in `plan`'s
/// storage budget.
///
/// # Errors
/// 413 `storage_quota_exceeded` past the budget, 422 `unknown_board` for a board that is not theirs.
pub async fn insert_upload(
    db: &TenantDb,
    user: UserId,
    plan: Plan,
    image: &NewImage,
) -> Result<ImageRecord, TenantError> {
    let mut tx = db.begin(user).await?;
    let used = storage_budget::lock_usage(tx.conn(), user).await?;
    storage_budget::check(plan, used, upload_of(image.byte_size))?;
    let row = insert(&mut tx, image, None).await.map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => unknown_board(),
        _ => TenantError::Database(e),
    })?;
    tx.commit().await?;
    Ok(row)
}
