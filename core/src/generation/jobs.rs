//! Generation jobs, the queue's rows: created when a request is accepted (with its quota
//! reservation, in one transaction), read and cancelled by their owner, failed by background
//! work. A job that stops without producing all its images refunds the rest, exactly once: the
//! status can leave `queued`/`running` only once.

use contract::generation::{GenerationParams, Job, JobStatus};
use time::OffsetDateTime;

use crate::{
    quota::{self, Reservation},
    tenancy::{JobsTx, TenantDb, TenantError, TenantTx},
};
use contract::ids::{BoardId, ImageId, JobId, UserId};

#[derive(Debug, sqlx::FromRow)]
struct JobRow {
    job_id: JobId,
    status: String,
    params: String,
    board_id: Option<BoardId>,
    progress_step: i32,
    progress_total: i32,
    images_charged: i32,
    error: Option<String>,
    image_ids: Vec<ImageId>,
    created_at: OffsetDateTime,
    started_at: Option<OffsetDateTime>,
    finished_at: Option<OffsetDateTime>,
}

impl TryFrom<JobRow> for Job {
    type Error = TenantError;

    fn try_from(row: JobRow) -> Result<Self, TenantError> {
        Ok(Self {
            job_id: row.job_id,
            status: JobStatus::parse(&row.status).ok_or_else(|| {
                TenantError::corrupt(std::io::Error::other(format!("job status {:?}", row.status)))
            })?,
            params: serde_json::from_str(&row.params).map_err(TenantError::corrupt)?,
            board_id: row.board_id,
            progress_step: row.progress_step,
            progress_total: row.progress_total,
            images_charged: row.images_charged,
            error: row.error,
            image_ids: row.image_ids,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
        })
    }
}

const COLUMNS: &str = "j.job_id, j.status, j.params::text AS params, j.board_id, j.progress_step, \
     j.progress_total, j.images_reserved - j.images_refunded AS images_charged, j.error, \
     ARRAY(SELECT i.image_id FROM images i WHERE i.job_id = j.job_id ORDER BY i.created_at, i.image_id) AS image_ids, \
     j.created_at, j.started_at, j.finished_at";

/// Most jobs one list returns.
pub const MAX_LIST: i64 = 100;

/// Queues a job in `tx`, the transaction that made `reservation`.
///
/// # Errors
/// The database failed.
pub async fn insert(
    tx: &mut TenantTx,
    params: &GenerationParams,
    board_id: Option<BoardId>,
    priority: i16,
    reservation: Reservation,
) -> Result<Job, TenantError> {
    let params_json = serde_json::to_string(params).map_err(TenantError::corrupt)?;
    let total = i32::try_from(u64::from(params.steps) * u64::from(params.batch_size)).unwrap_or(i32::MAX);
    let user = tx.user();
    let row: JobRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO generation_jobs AS j
             (user_id, priority, params, board_id, images_reserved, quota_period, progress_total)
         VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7)
         RETURNING {COLUMNS}"
    )))
    .bind(user)
    .bind(priority)
    .bind(params_json)
    .bind(board_id)
    .bind(reservation.images)
    .bind(reservation.period)
    .bind(total)
    .fetch_one(tx.conn())
    .await?;
    row.try_into()
}

/// The caller's jobs, newest first (at most [`MAX_LIST`]), optionally of one status.
///
/// # Errors
/// The database failed.
pub async fn list(db: &TenantDb, user: UserId, status: Option<JobStatus>) -> Result<Vec<Job>, TenantError> {
    let mut tx = db.begin(user).await?;
    let rows: Vec<JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM generation_jobs j
         WHERE j.user_id = $1 AND ($2::text IS NULL OR j.status = $2)
         ORDER BY j.created_at DESC, j.job_id LIMIT {MAX_LIST}"
    )))
    .bind(user)
    .bind(status.map(JobStatus::as_str))
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    rows.into_iter().map(Job::try_from).collect()
}

async fn fetch(tx: &mut TenantTx, id: JobId) -> Result<Job, TenantError> {
    let user = tx.user();
    let row: Option<JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM generation_jobs j WHERE j.job_id = $1 AND j.user_id = $2"
    )))
    .bind(id)
    .bind(user)
    .fetch_optional(tx.conn())
    .await?;
    row.ok_or(TenantError::NotFound)?.try_into()
}

/// One of the caller's jobs.
///
/// # Errors
/// 404 if it is not theirs.
pub async fn get(db: &TenantDb, user: UserId, id: JobId) -> Result<Job, TenantError> {
    let mut tx = db.begin(user).await?;
    let job = fetch(&mut tx, id).await?;
    tx.commit().await?;
    Ok(job)
}

/// Who pays for the image a running job was making when it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InProgress {
    /// The owner stopped it: the GPU time was spent on their behalf, so the image being made
    /// counts (SECURITY.md 38); otherwise a cancel just before the last step would be free.
    Charged,
    /// We failed it: nothing not delivered is charged.
    Refunded,
}

/// Stops job `id` if it is still queued or running, with `status` and `error`, and refunds the
/// images it did not produce (less the one in progress, if `in_progress` says so) into the month
/// they were reserved in. Returns whether it stopped it (false: already finished, or not visible
/// in this transaction).
pub(crate) async fn stop(
    tx: &mut impl JobsTx,
    id: JobId,
    status: JobStatus,
    error: Option<&str>,
    in_progress: InProgress,
) -> Result<bool, sqlx::Error> {
    // In SET, `status` is still the old value: 'running' means a worker had it.
    let stopped: Option<(UserId, i32, OffsetDateTime)> = sqlx::query_as(
        "UPDATE generation_jobs
         SET status = $2, error = $3, finished_at = now(), lease_expires_at = NULL,
             images_refunded = images_reserved - images_produced
                 - CASE WHEN $4 AND status = 'running' AND images_produced < images_reserved THEN 1 ELSE 0 END
         WHERE job_id = $1 AND status IN ('queued', 'running')
         RETURNING user_id, images_refunded, quota_period",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(error)
    .bind(in_progress == InProgress::Charged)
    .fetch_optional(tx.conn())
    .await?;
    let Some((user, refund, period)) = stopped else { return Ok(false) };
    quota::refund(tx.conn(), user, refund, period).await?;
    Ok(true)
}

/// Cancels one of the caller's queued or running jobs and refunds the images not started: a
/// running job's image in progress is charged.
///
/// # Errors
/// 404 if it is not theirs; 409 `already_finished` if it has finished.
pub async fn cancel(db: &TenantDb, user: UserId, id: JobId) -> Result<Job, TenantError> {
    let mut tx = db.begin(user).await?;
    let status: Option<String> = sqlx::query_scalar(
        "SELECT status FROM generation_jobs WHERE job_id = $1 AND user_id = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(user)
    .fetch_optional(tx.conn())
    .await?;
    if status.is_none() {
        return Err(TenantError::NotFound);
    }
    if !stop(&mut tx, id, JobStatus::Cancelled, None, InProgress::Charged).await? {
        return Err(TenantError::Conflict {
            code: "already_finished",
            message: "This job has already finished; there is nothing to cancel.",
        });
    }
    let job = fetch(&mut tx, id).await?;
    tx.commit().await?;
    Ok(job)
}

/// Marks job `id` failed with `reason` (for its owner to read) and refunds what it did not
/// produce: the background path, for workers. Returns whether it was still running or queued.
///
/// # Errors
/// The database failed.
pub async fn fail(db: &TenantDb, id: JobId, reason: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_background("fail generation job").await?;
    let stopped = stop(&mut tx, id, JobStatus::Failed, Some(reason), InProgress::Refunded).await?;
    tx.commit().await?;
    Ok(stopped)
}

/// One of the caller's jobs and, while it runs, its latest low-resolution preview, read in one
/// transaction so the two agree.
///
/// # Errors
/// 404 if it is not theirs.
pub async fn get_with_preview(
    db: &TenantDb,
    user: UserId,
    id: JobId,
) -> Result<(Job, Option<Vec<u8>>), TenantError> {
    let mut tx = db.begin(user).await?;
    let job = fetch(&mut tx, id).await?;
    let preview = if job.status == JobStatus::Running {
        let png: Option<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT preview_png FROM generation_jobs WHERE job_id = $1 AND user_id = $2")
                .bind(id)
                .bind(user)
                .fetch_optional(tx.conn())
                .await?;
        png.flatten()
    } else {
        None
    };
    tx.commit().await?;
    Ok((job, preview))
}
