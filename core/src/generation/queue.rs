//! The generation queue's worker side, in PostgreSQL: claiming the next job (highest priority
//! first; within a priority, the user served least recently, so one user's batch cannot starve
//! others), holding it by a lease that heartbeats extend, re-queueing jobs whose worker died
//! (failing and refunding them after `max_attempts`), reporting progress, and recording each
//! image in the job's own transaction. A worker acts on a job only while it holds the lease:
//! every write checks `status = 'running' AND worker_id = me`, so a job cancelled or taken over
//! meanwhile is never written by the old worker, and a job completes exactly once.

use std::time::Duration;

use contract::generation::{GenerationParams, JobStatus};

use super::jobs;
use crate::{
    images::{self, NewImage},
    tenancy::TenantDb,
};
use contract::ids::{BoardId, JobId, UserId, WorkerId};

/// A job a worker holds.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    /// Its id.
    pub job_id: JobId,
    /// Whose it is.
    pub user_id: UserId,
    /// What to make.
    pub params: GenerationParams,
    /// Where its images go.
    pub board_id: Option<BoardId>,
    /// Images already stored by earlier attempts (a retry resumes after them).
    pub images_produced: u32,
    /// Which attempt this is (1 for the first).
    pub attempt: i32,
    /// How long it had been in the queue when claimed (since its enqueue, earlier tries included).
    pub waited: std::time::Duration,
}

/// What became of expired leases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Jobs queued again for another worker.
    pub requeued: u64,
    /// Jobs that used up their attempts: failed and refunded.
    pub failed: u64,
}

/// Why a worker must let go of a job.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The job is no longer this worker's (cancelled, or re-queued after the lease ran out).
    #[error("the job is no longer this worker's")]
    Lost,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What putting a running job back in the queue sets: no worker, no lease, progress back to the
/// images already stored (a retry resumes after them), no preview.
const REQUEUE: &str = "status = 'queued', worker_id = NULL, lease_expires_at = NULL, \
     progress_step = images_produced * (progress_total / images_reserved), preview_png = NULL";

fn seconds(lease: Duration) -> f64 {
    lease.as_secs_f64()
}

/// The whole queue's depth and its oldest jobs, for `/metrics`: counts across every user, read
/// through the `queue_stats()` function (the jobs table hides other users' rows; the function
/// returns numbers only), in one round trip.
///
/// # Errors
/// The database failed.
pub async fn stats(db: &sqlx::PgPool) -> Result<crate::metrics::QueueStats, sqlx::Error> {
    let rows: Vec<(String, i64, f64)> =
        sqlx::query_as("SELECT state, jobs, oldest_seconds FROM queue_stats()").fetch_all(db).await?;
    let mut stats = crate::metrics::QueueStats::default();
    for (state, jobs, oldest) in rows {
        match state.as_str() {
            "queued" => (stats.queued, stats.oldest_queued_seconds) = (jobs, oldest),
            "running" => (stats.running, stats.oldest_running_seconds) = (jobs, oldest),
            _ => {}
        }
    }
    Ok(stats)
}

/// A claimed job's row: id, owner, parameters (JSON text), board, images already made, attempt,
/// and seconds since its enqueue.
type ClaimRow = (JobId, UserId, String, Option<BoardId>, i32, i32, f64);

/// Claims the next job for `worker`, holding it for `lease`; `None` when nothing is queued (or
/// every queued job is being claimed by someone else right now).
///
/// # Errors
/// The database failed, or a stored job does not decode.
pub async fn claim(
    db: &TenantDb,
    worker: &WorkerId,
    lease: Duration,
) -> Result<Option<ClaimedJob>, QueueError> {
    let mut tx = db.begin_background("claim generation job").await?;
    let row: Option<ClaimRow> = sqlx::query_as(
        "WITH next AS (
             SELECT j.job_id FROM generation_jobs j
             LEFT JOIN queue_turns t ON t.user_id = j.user_id
             WHERE j.status = 'queued'
             ORDER BY j.priority DESC, t.last_claimed_at ASC NULLS FIRST, j.created_at, j.job_id
             LIMIT 1
             FOR UPDATE OF j SKIP LOCKED
         )
         UPDATE generation_jobs j
         SET status = 'running', worker_id = $1, attempts = j.attempts + 1,
             lease_expires_at = clock_timestamp() + make_interval(secs => $2),
             started_at = coalesce(j.started_at, now())
         FROM next WHERE j.job_id = next.job_id
         RETURNING j.job_id, j.user_id, j.params::text, j.board_id, j.images_produced, j.attempts,
                   extract(epoch FROM clock_timestamp() - j.created_at)::float8",
    )
    .bind(worker)
    .bind(seconds(lease))
    .fetch_optional(tx.conn())
    .await?;
    let Some((job_id, user_id, params, board_id, produced, attempt, waited)) = row else {
        return Ok(None);
    };
    sqlx::query(
        "INSERT INTO queue_turns (user_id, last_claimed_at) VALUES ($1, clock_timestamp())
         ON CONFLICT (user_id) DO UPDATE SET last_claimed_at = excluded.last_claimed_at",
    )
    .bind(user_id)
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    let params = serde_json::from_str(&params).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(Some(ClaimedJob {
        job_id,
        user_id,
        params,
        board_id,
        images_produced: u32::try_from(produced).unwrap_or(0),
        attempt,
        waited: std::time::Duration::try_from_secs_f64(waited).unwrap_or_default(),
    }))
}

/// Extends `worker`'s lease on `job` and records `step` (of the job's total) and a preview.
///
/// # Errors
/// [`QueueError::Lost`] if the job is no longer this worker's.
pub async fn heartbeat(
    db: &TenantDb,
    job: JobId,
    worker: &WorkerId,
    lease: Duration,
    progress: Option<(i32, Option<Vec<u8>>)>,
) -> Result<(), QueueError> {
    let mut tx = db.begin_background("generation heartbeat").await?;
    let (step, preview) = progress.map_or((None, None), |(step, preview)| (Some(step), preview));
    let held = sqlx::query(
        "UPDATE generation_jobs
         SET lease_expires_at = clock_timestamp() + make_interval(secs => $3),
             progress_step = coalesce($4, progress_step), preview_png = coalesce($5, preview_png)
         WHERE job_id = $1 AND worker_id = $2 AND status = 'running'",
    )
    .bind(job)
    .bind(worker)
    .bind(seconds(lease))
    .bind(step)
    .bind(preview)
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    if held.rows_affected() == 0 { Err(QueueError::Lost) } else { Ok(()) }
}

/// Why a worker gives a job back to the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// It failed for a reason that may pass (storage, database, device): the try counts, and a
    /// job that has had `max_attempts` tries is not given back (the caller fails it).
    Retry {
        /// Tries a job gets in all.
        max_attempts: i32,
    },
    /// The worker is shutting down: not a failure, so the try its claim counted is given back.
    ShuttingDown,
}

/// Gives `job` back to the queue from `worker`, for `why`. Returns whether it went back (false:
/// out of tries, or no longer this worker's).
///
/// # Errors
/// The database failed.
pub async fn release(
    db: &TenantDb,
    job: JobId,
    worker: &WorkerId,
    why: Release,
) -> Result<bool, sqlx::Error> {
    let (max_attempts, uncount) = match why {
        Release::Retry { max_attempts } => (max_attempts, false),
        Release::ShuttingDown => (i32::MAX, true),
    };
    let mut tx = db.begin_background("release generation job").await?;
    let released = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE generation_jobs
         SET {REQUEUE}, attempts = CASE WHEN $4 THEN greatest(attempts - 1, 0) ELSE attempts END
         WHERE job_id = $1 AND worker_id = $2 AND status = 'running' AND attempts < $3"
    )))
    .bind(job)
    .bind(worker)
    .bind(max_attempts)
    .bind(uncount)
    .execute(tx.conn())
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(released > 0)
}

/// Re-queues running jobs whose lease has run out; those that have had `max_attempts` workers
/// fail and refund the images they did not produce.
///
/// # Errors
/// The database failed.
pub async fn recover_expired(db: &TenantDb, max_attempts: i32) -> Result<Recovered, sqlx::Error> {
    let mut tx = db.begin_background("recover expired generation leases").await?;
    // The lease condition is re-checked on each row after any concurrent heartbeat commits,
    // so a job whose worker just extended its lease is left alone.
    let requeued = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE generation_jobs SET {REQUEUE}
         WHERE status = 'running' AND lease_expires_at < clock_timestamp() AND attempts < $1"
    )))
    .bind(max_attempts)
    .execute(tx.conn())
    .await?
    .rows_affected();
    let exhausted: Vec<JobId> = sqlx::query_scalar(
        "SELECT job_id FROM generation_jobs
         WHERE status = 'running' AND lease_expires_at < clock_timestamp() AND attempts >= $1
         FOR UPDATE SKIP LOCKED",
    )
    .bind(max_attempts)
    .fetch_all(tx.conn())
    .await?;
    let mut failed = 0;
    for job in exhausted {
        let reason = format!(
            "The generator stopped responding {max_attempts} times while making this; the images it did not make were refunded."
        );
        if jobs::stop(&mut tx, job, JobStatus::Failed, Some(&reason), jobs::InProgress::Refunded).await? {
            failed += 1;
        }
    }
    tx.commit().await?;
    if requeued + failed > 0 {
        tracing::warn!(requeued, failed, "generation jobs whose worker stopped responding");
    }
    Ok(Recovered { requeued, failed })
}

/// What storing an image did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Stored; more images of the job are to come.
    More,
    /// Stored, and that was the job's last: it is completed.
    Completed,
}

/// An image made by a worker, ready to record.
#[derive(Debug)]
pub struct MadeImage<'a> {
    /// Which image of the job (0-based).
    pub index: u32,
    /// Its row (files already stored).
    pub image: &'a NewImage,
    /// Its generation parameters as JSON (with its own seed).
    pub params_json: &'a str,
    /// The device that made it.
    pub device: &'a str,
    /// Milliseconds per phase, added to the job's `timings`.
    pub timings_ms: &'a serde_json::Value,
}

/// Records image `made.index` of `job` (whose files are stored already) as its owner, in one
/// transaction with the job's count, device and timings, completing the job with its last image.
///
/// # Errors
/// [`QueueError::Lost`] if the job is no longer `worker`'s (the caller deletes the files).
pub async fn store_image(
    db: &TenantDb,
    job: &ClaimedJob,
    worker: &WorkerId,
    made: &MadeImage<'_>,
) -> Result<Stored, QueueError> {
    let mut tx = db.begin(job.user_id).await?;
    let held: Option<(i32, i32)> = sqlx::query_as(
        "SELECT images_produced, images_reserved FROM generation_jobs
         WHERE job_id = $1 AND user_id = $2 AND status = 'running' AND worker_id = $3
         FOR UPDATE",
    )
    .bind(job.job_id)
    .bind(job.user_id)
    .bind(worker)
    .fetch_optional(tx.conn())
    .await?;
    let Some((produced, reserved)) = held else { return Err(QueueError::Lost) };
    if i64::from(produced) != i64::from(made.index) {
        // Another attempt already stored this one; nothing to add.
        return Err(QueueError::Lost);
    }
    images::insert(&mut tx, made.image, Some((job.job_id, made.params_json))).await?;
    let done = produced + 1 >= reserved;
    sqlx::query(
        "UPDATE generation_jobs
         SET images_produced = images_produced + 1,
             progress_step = (images_produced + 1) * (progress_total / images_reserved),
             status = CASE WHEN $2 THEN 'completed' ELSE status END,
             finished_at = CASE WHEN $2 THEN now() ELSE finished_at END,
             lease_expires_at = CASE WHEN $2 THEN NULL ELSE lease_expires_at END,
             preview_png = CASE WHEN $2 THEN NULL ELSE preview_png END,
             device = $3,
             timings = (SELECT coalesce(jsonb_object_agg(key, coalesce((timings ->> key)::numeric, 0) + value::numeric), '{}')
                        FROM jsonb_each_text($4::jsonb))
         WHERE job_id = $1",
    )
    .bind(job.job_id)
    .bind(done)
    .bind(made.device)
    .bind(made.timings_ms.to_string())
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(if done { Stored::Completed } else { Stored::More })
}

/// How many queued jobs will be claimed before `job` if nothing else is queued meanwhile,
/// following the claim order: every queued job of a higher priority; the owner's own earlier jobs
/// of its priority (`k` of them); of every other user of that priority, one job per round of
/// turns before ours (at most `k`), plus one more if their turn comes before the owner's (least
/// recently served first, then oldest queued job). Counted by a background transaction, since it
/// spans every user's jobs; only the number leaves it.
///
/// # Errors
/// The database failed.
pub async fn position(db: &TenantDb, job: JobId) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = db.begin_background("queue position").await?;
    let ahead: Option<i64> = sqlx::query_scalar(
        "WITH mine AS (
             SELECT job_id, user_id, priority, created_at FROM generation_jobs
             WHERE job_id = $1 AND status = 'queued'
         ),
         turns AS (
             SELECT o.user_id, count(*) AS queued,
                    (coalesce(t.last_claimed_at, '-infinity'), min(o.created_at)) AS turn
             FROM generation_jobs o
             JOIN mine ON o.priority = mine.priority
             LEFT JOIN queue_turns t ON t.user_id = o.user_id
             WHERE o.status = 'queued'
             GROUP BY o.user_id, t.last_claimed_at
         ),
         own AS (
             SELECT turns.turn,
                    (SELECT count(*) FROM generation_jobs o
                     WHERE o.status = 'queued' AND o.user_id = mine.user_id AND o.priority = mine.priority
                       AND (o.created_at, o.job_id) < (mine.created_at, mine.job_id)) AS k
             FROM mine JOIN turns ON turns.user_id = mine.user_id
         )
         SELECT ((SELECT count(*) FROM generation_jobs o, mine WHERE o.status = 'queued' AND o.priority > mine.priority)
                 + own.k
                 + coalesce((SELECT sum(least(others.queued, own.k)
                                        + CASE WHEN others.queued > own.k AND others.turn < own.turn THEN 1 ELSE 0 END)
                             FROM turns others, mine WHERE others.user_id <> mine.user_id), 0))::bigint
         FROM own",
    )
    .bind(job)
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(ahead)
}
