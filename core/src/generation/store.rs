//! Storing what a worker made: one generated image's PNG and thumbnail written to the object
//! store, then its row recorded in the job's transaction. Files first, so a row never names a
//! missing file; when the row cannot be recorded because the job left this worker, the files
//! are deleted if nobody will record them now (see [`orphaned`]).

use std::time::Instant;

use contract::{
    generation::{GenerationParams, JobStatus},
    ids::{ImageId, WorkerId},
};
use engine::{
    EngineError,
    pipeline::{GeneratedImage, Timings},
};
use serde_json::json;

use super::{
    jobs,
    queue::{self, ClaimedJob, MadeImage, QueueError, Stored},
    worker::{WorkerError, blocking, image_id, millis},
};
use crate::{
    images::{NewImage, Origin},
    imaging,
    storage::{FileKind, ImageStore},
    tenancy::{TenantDb, TenantError},
};

/// Where a worker's images go, and who it is.
pub(super) struct Output<'a> {
    pub db: &'a TenantDb,
    pub store: &'a ImageStore,
    pub worker: &'a WorkerId,
    /// The device it ran on, as recorded with the image.
    pub device: &'a str,
}

/// Which image of which job the engine made, and how.
pub(super) struct Made<'a> {
    pub job: &'a ClaimedJob,
    pub index: u32,
    pub seed: u64,
    pub params: &'a GenerationParams,
    pub timings: Timings,
}

/// Encodes, stores and records one generated image.
pub(super) async fn store(
    output: &Output<'_>,
    made: &Made<'_>,
    image: Option<GeneratedImage>,
) -> Result<Stored, WorkerError> {
    let Made { job, index, seed, params, timings } = made;
    let image = image.ok_or_else(|| EngineError::Request("the engine returned no image".into()))?;
    let started = Instant::now();
    // Whether it waits in the staging area is where it is, not how to make it again.
    let image_params = GenerationParams {
        seed: i64::try_from(*seed).unwrap_or(0),
        batch_size: 1,
        staged: false,
        ..(*params).clone()
    };
    // One serialisation for the PNG's text chunk and the image row.
    let params_json = serde_json::to_string(&image_params).unwrap_or_default();
    let text = params_json.clone();
    let (width, height) = (image.width as u32, image.height as u32);
    let (png, thumbnail) = blocking(move || -> Result<_, WorkerError> {
        let mut png = Vec::new();
        engine::png::encode_png(&mut png, image.width, image.height, &image.rgb, &[("parameters", &text)])?;
        let thumbnail =
            imaging::thumbnail(width, height, &image.rgb).map_err(|e| EngineError::Request(e.to_string()))?;
        Ok((png, thumbnail))
    })
    .await??;
    let image_id = image_id(job.job_id, *index);
    let record = NewImage {
        image_id,
        origin: if params.staged { Origin::Staged } else { Origin::Generated },
        board_id: job.board_id,
        storage_key: ImageStore::key(job.user_id, image_id, FileKind::Original, "png"),
        thumbnail_key: ImageStore::key(job.user_id, image_id, FileKind::Thumbnail, "webp"),
        content_type: "image/png",
        width,
        height,
        byte_size: png.len(),
    };
    output.store.put(&record.storage_key, png).await?;
    output.store.put(&record.thumbnail_key, thumbnail).await?;
    let timings = json!({
        "text_ms": millis(timings.text),
        "denoise_ms": millis(timings.denoise),
        "decode_ms": millis(timings.decode),
        "store_ms": millis(started.elapsed()),
    });
    let made = MadeImage {
        index: *index,
        image: &record,
        params_json: &params_json,
        device: output.device,
        timings_ms: &timings,
    };
    let recorded = queue::store_image(output.db, job, output.worker, &made).await;
    if matches!(recorded, Err(QueueError::Lost)) {
        discard_if_orphaned(output, job, &record).await;
    }
    recorded.map_err(Into::into)
}

/// Deletes the files of an image whose row was not recorded because the job left this worker,
/// when nobody will record them now (see [`orphaned`]).
async fn discard_if_orphaned(output: &Output<'_>, job: &ClaimedJob, record: &NewImage) {
    let now = match jobs::get(output.db, job.user_id, job.job_id).await {
        Ok(current) => Some(current),
        Err(TenantError::NotFound) => None,
        Err(e) => {
            tracing::warn!(job = %job.job_id, error = %e, "cannot check a lost job's state");
            return;
        }
    };
    if orphaned(now.as_ref().map(|j| (j.status, j.image_ids.as_slice())), record.image_id) {
        for key in [&record.storage_key, &record.thumbnail_key] {
            if let Err(e) = output.store.delete(key).await {
                tracing::warn!(key, error = %e, "orphaned image file not deleted");
            }
        }
    }
}

/// Whether the files of `image`, whose row was not recorded because its job left this worker,
/// are nobody's now, given the job as it is (`None`: it no longer exists). They are when the job
/// finished without it (cancelled, failed) or is gone: its account was deleted while it ran, after
/// the account's files were removed (issue 33, finding 9). A job queued or running again keeps
/// them, since its next worker writes the same keys.
fn orphaned(job_now: Option<(JobStatus, &[ImageId])>, image: ImageId) -> bool {
    match job_now {
        None => true,
        Some((status, recorded)) => status.is_finished() && !recorded.contains(&image),
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn files_of_a_job_that_is_gone_or_finished_without_them_are_orphans_others_are_kept() {
        let image = ImageId(Uuid::from_u128(7));
        let other = ImageId(Uuid::from_u128(8));
        assert!(orphaned(None, image), "the account was deleted while the job ran");
        assert!(orphaned(Some((JobStatus::Cancelled, &[other])), image));
        assert!(orphaned(Some((JobStatus::Failed, &[])), image));
        assert!(!orphaned(Some((JobStatus::Completed, &[image])), image), "recorded after all");
        for again in [JobStatus::Queued, JobStatus::Running] {
            assert!(!orphaned(Some((again, &[])), image), "{again:?}: its next worker writes the same keys");
        }
    }
}
