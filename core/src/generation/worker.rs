//! A generation worker: claims jobs from the queue and runs them on its device with the engine,
//! one image at a time (image `k` of a job uses seed + k, so a retry resumes where a dead worker
//! stopped and makes the same pictures), storing each image's files and then its row. Models
//! are loaded once and kept; the default model is loaded and run once at start so the first
//! user does not wait for it. Engine work runs on blocking threads; this side heartbeats the
//! lease, reports progress with previews, and stops the engine when the job is cancelled.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use contract::generation::GenerationParams;
use engine::{
    EngineError,
    device::DeviceChoice,
    model::StableDiffusion,
    pipeline::{GenerateRequest, Progress, RunOptions},
};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use super::{
    edit::{Prepared, SourceError},
    jobs,
    queue::{self, ClaimedJob, QueueError, Release, Stored},
    sources::{self, LoadError},
    store,
};
use crate::{
    config::{CatalogEntry, WorkerSettings},
    imaging,
    metrics::{JobOutcome, Metrics},
    storage::{ImageStore, StorageError},
    tenancy::TenantDb,
};
use contract::ids::{ImageId, JobId, ModelName, WorkerId};

/// How often progress is written at most (each write wakes every event stream of the job).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(150);
/// How long an idle worker sleeps when no notification wakes it.
const IDLE_POLL: Duration = Duration::from_secs(5);

/// Why a job could not be run by this worker.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The engine failed (model files, device, request).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The object store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The queue failed or the job was lost.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// A blocking task panicked.
    #[error("the engine thread stopped: {0}")]
    Panicked(String),
    /// The request names a model this worker's catalog lacks.
    #[error("The model {0} is not installed on this server.")]
    UnknownModel(ModelName),
    /// The worker is shutting down and stopped the job between steps.
    #[error("the worker is shutting down")]
    ShuttingDown,
    /// An image the edit starts from was deleted or cannot be read.
    #[error(transparent)]
    Source(#[from] SourceError),
}

impl From<LoadError> for WorkerError {
    fn from(error: LoadError) -> Self {
        match error {
            LoadError::Source(e) => Self::Source(e),
            LoadError::Database(e) => e.into(),
            LoadError::Storage(e) => Self::Storage(e),
            LoadError::Panicked(e) => Self::Panicked(e),
        }
    }
}

impl WorkerError {
    /// Whether another try may succeed: storage, database and device failures may pass; a bad
    /// request, a missing model or broken model files will not.
    #[must_use]
    pub fn may_pass(&self) -> bool {
        matches!(
            self,
            Self::Storage(_)
                | Self::Queue(QueueError::Database(_))
                | Self::Panicked(_)
                | Self::Engine(EngineError::Device(_))
        )
    }
}

impl From<sqlx::Error> for WorkerError {
    fn from(error: sqlx::Error) -> Self {
        Self::Queue(QueueError::Database(error))
    }
}

/// A worker and its loaded models.
pub struct Worker {
    db: TenantDb,
    store: ImageStore,
    catalog: Vec<CatalogEntry>,
    settings: WorkerSettings,
    id: WorkerId,
    models: HashMap<ModelName, StableDiffusion>,
    /// Turns true when [`Worker::run`] is told to stop.
    shutdown: Option<watch::Receiver<bool>>,
    /// Where its jobs, generations and model loads are counted, if anywhere.
    metrics: Option<Metrics>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.id)
            .field("device", &self.settings.device)
            .finish_non_exhaustive()
    }
}

/// The id of image `index` of `job`: the same on every attempt, so a retry overwrites, never
/// duplicates, what a dead worker stored.
#[must_use]
pub fn image_id(job: JobId, index: u32) -> ImageId {
    ImageId(Uuid::new_v5(&job.0, &index.to_be_bytes()))
}

pub(super) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What the engine is asked for image `index` of a job with `params`: the job's seed plus the
/// image's index, one image at a time. The home page's showcase test makes its examples with it
/// too, so that they are what a user's job gives.
///
/// # Errors
/// The scheduler's name is not one the engine knows.
pub fn engine_request(params: &GenerationParams, index: u32) -> Result<GenerateRequest, EngineError> {
    Ok(GenerateRequest {
        prompt: params.prompt.clone(),
        negative_prompt: params.negative_prompt.clone(),
        seed: u64::try_from(params.seed).unwrap_or(0) + u64::from(index),
        steps: params.steps as usize,
        guidance_scale: params.cfg_scale,
        scheduler: params.scheduler.as_str().parse().map_err(|e| EngineError::Request(format!("{e}")))?,
        width: params.width as usize,
        height: params.height as usize,
        batch: 1,
    })
}

impl Worker {
    /// A worker over `db` and `store`, named uniquely (host, process, random suffix).
    #[must_use]
    pub fn new(
        db: TenantDb,
        store: ImageStore,
        catalog: Vec<CatalogEntry>,
        settings: WorkerSettings,
    ) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into());
        let suffix = crate::secrets::random_hex(4).unwrap_or_default();
        let id = WorkerId(format!("{host}-{}-{suffix}", std::process::id()));
        Self { db, store, catalog, settings, id, models: HashMap::new(), shutdown: None, metrics: None }
    }

    /// The same worker counting into `metrics` (the process's, scraped at `/metrics`).
    #[must_use]
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Records into the process's metrics, if this worker has them.
    fn count(&self, record: impl FnOnce(&Metrics)) {
        if let Some(metrics) = &self.metrics {
            record(metrics);
        }
    }

    fn shutting_down(&self) -> bool {
        self.shutdown.as_ref().is_some_and(|s| *s.borrow())
    }

    /// This worker's name in the jobs it holds.
    #[must_use]
    pub fn id(&self) -> &WorkerId {
        &self.id
    }

    /// Loads `name` if it is not loaded yet and lends it out (it comes back with
    /// [`Worker::give_back`]).
    async fn take_model(&mut self, name: &ModelName) -> Result<StableDiffusion, WorkerError> {
        if let Some(model) = self.models.remove(name) {
            return Ok(model);
        }
        let entry = self
            .catalog
            .iter()
            .find(|e| e.info.name == *name)
            .ok_or_else(|| WorkerError::UnknownModel(name.clone()))?;
        let (dir, choice) = (entry.path.clone(), self.settings.device);
        let started = Instant::now();
        let model = blocking(move || {
            let device = choice.device()?;
            StableDiffusion::load_with(&dir, &device, choice.precision(&device))
        })
        .await??;
        tracing::info!(model = %name, device = %choice, ms = millis(started.elapsed()), "model loaded");
        self.count(|m| m.model_load(name.as_str(), &choice.to_string(), started.elapsed()));
        Ok(model)
    }

    fn give_back(&mut self, name: &ModelName, model: StableDiffusion) {
        self.models.insert(name.clone(), model);
    }

    /// Loads the default model and runs it once, so its kernels are compiled (on GPUs also
    /// autotuned for its default size, with the results kept on disk by burn's `persistence`)
    /// and its memory touched before the first job.
    ///
    /// # Errors
    /// The model cannot be loaded or run.
    pub async fn warm_up(&mut self) -> Result<(), WorkerError> {
        let Some(entry) = self.catalog.first().cloned() else { return Ok(()) };
        let model = self.take_model(&entry.info.name).await?;
        let side = usize::try_from(entry.info.default_side).unwrap_or(64);
        let request = GenerateRequest {
            prompt: "warm-up".into(),
            steps: 1,
            width: side,
            height: side,
            ..GenerateRequest::default()
        };
        let started = Instant::now();
        let (model, result) = blocking(move || {
            let result = model.generate(&request, RunOptions::default());
            (model, result)
        })
        .await?;
        self.give_back(&entry.info.name, model);
        result?;
        tracing::info!(model = %entry.info.name, ms = millis(started.elapsed()), "worker warmed up");
        Ok(())
    }

    /// Re-queues expired leases, then claims and runs one job. Returns whether there was one.
    ///
    /// # Errors
    /// The database failed while claiming (a failing job is recorded as failed, not returned).
    pub async fn run_next(&mut self) -> Result<bool, WorkerError> {
        let recovered = queue::recover_expired(&self.db, self.settings.max_attempts).await?;
        self.count(|m| m.leases_expired(recovered.requeued, recovered.failed));
        let Some(job) = queue::claim(&self.db, &self.id, self.settings.lease).await? else {
            return Ok(false);
        };
        tracing::info!(job = %job.job_id, attempt = job.attempt, worker = %self.id, "job claimed");
        self.count(|m| m.queue_wait(job.waited));
        let outcome = self.finish(&job).await?;
        self.count(|m| m.job_finished(outcome));
        Ok(true)
    }

    /// Runs claimed `job` and settles it: completed, given back (for another try, or because the
    /// worker is stopping) or failed with a reason its owner can read.
    async fn finish(&mut self, job: &ClaimedJob) -> Result<JobOutcome, WorkerError> {
        Ok(match self.run_job(job).await {
            Ok(()) => JobOutcome::Completed,
            Err(WorkerError::Queue(QueueError::Lost) | WorkerError::Engine(EngineError::Cancelled)) => {
                tracing::info!(job = %job.job_id, "job cancelled or taken over; stopped");
                JobOutcome::Stopped
            }
            Err(WorkerError::ShuttingDown) => {
                if queue::release(&self.db, job.job_id, &self.id, Release::ShuttingDown).await? {
                    tracing::info!(job = %job.job_id, "shutting down: job handed back to the queue");
                    JobOutcome::HandedBack
                } else {
                    JobOutcome::Stopped
                }
            }
            Err(error)
                if error.may_pass()
                    && queue::release(
                        &self.db,
                        job.job_id,
                        &self.id,
                        Release::Retry { max_attempts: self.settings.max_attempts },
                    )
                    .await? =>
            {
                tracing::warn!(job = %job.job_id, attempt = job.attempt, error = %error, "job given back to the queue for another try");
                JobOutcome::Retried
            }
            Err(error) => {
                tracing::error!(job = %job.job_id, error = %error, "job failed");
                let reason = match &error {
                    WorkerError::UnknownModel(_) | WorkerError::Source(_) => error.to_string(),
                    WorkerError::Engine(EngineError::Request(why)) => format!("The generator refused this request: {why}"),
                    _ => "The generator failed while making this image; the images it did not make were refunded.".into(),
                };
                jobs::fail(&self.db, job.job_id, &reason).await?;
                JobOutcome::Failed
            }
        })
    }

    async fn run_job(&mut self, job: &ClaimedJob) -> Result<(), WorkerError> {
        let edit = match &job.params.edit {
            Some(edit) => {
                let size = (job.params.width as usize, job.params.height as usize);
                Some(Arc::new(sources::load(&self.db, &self.store, job.user_id, edit, size).await?))
            }
            None => None,
        };
        let name = job.params.model.clone();
        let mut model = self.take_model(&name).await?;
        let mut outcome = Ok(());
        for index in job.images_produced..job.params.batch_size {
            if self.shutting_down() {
                outcome = Err(WorkerError::ShuttingDown);
                break;
            }
            let (back, result) = self.run_image(job, index, model, edit.clone()).await?;
            model = back;
            match result {
                Ok(Stored::More) => {}
                Ok(Stored::Completed) => break,
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        self.give_back(&name, model);
        outcome
    }

    /// Makes, stores and records image `index` of `job`; the model always comes back.
    async fn run_image(
        &mut self,
        job: &ClaimedJob,
        index: u32,
        model: StableDiffusion,
        edit: Option<Arc<Prepared>>,
    ) -> Result<(StableDiffusion, Result<Stored, WorkerError>), WorkerError> {
        let params = &job.params;
        let request = engine_request(params, index)?;
        let seed = request.seed;
        let cancel = Arc::new(AtomicBool::new(false));
        let (progress_tx, mut progress_rx) = mpsc::unbounded_channel::<Progress>();
        let engine_cancel = Arc::clone(&cancel);
        let started = Instant::now();
        let mut engine = tokio::task::spawn_blocking(move || {
            let mut report = |p: &Progress| {
                let _ = progress_tx.send(p.clone());
            };
            let options =
                RunOptions { on_progress: Some(&mut report), previews: true, cancel: Some(engine_cancel) };
            let result = match &edit {
                None => model.generate(&request, options),
                Some(edit) => model.run(&request, &edit.mode, options).map(|mut generation| {
                    generation.images.iter_mut().for_each(|image| edit.finish(image));
                    generation
                }),
            };
            (model, result)
        });

        let step_base = i32::try_from(index * params.steps).unwrap_or(i32::MAX);
        // The first beat waits a whole period: an interval's immediate first tick would take the
        // slot of the first step's progress, and a job shorter than PROGRESS_INTERVAL (the starter
        // model makes 30 steps in a third of a second) would then show no progress at all.
        let beat_period = self.settings.lease / 3;
        let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + beat_period, beat_period);
        let mut last_write = Instant::now().checked_sub(PROGRESS_INTERVAL).unwrap_or_else(Instant::now);
        let mut pending: Option<Progress> = None;
        let mut stopping = false;
        let (model, generated) = loop {
            let due = tokio::select! {
                joined = &mut engine => break joined.map_err(|e| WorkerError::Panicked(e.to_string()))?,
                Some(progress) = progress_rx.recv() => {
                    pending = Some(progress);
                    last_write.elapsed() >= PROGRESS_INTERVAL
                }
                _ = beat.tick() => true,
                () = shutdown_requested(self.shutdown.clone()), if !stopping => {
                    // The engine stops at its next step; the job then goes back to the queue.
                    stopping = true;
                    cancel.store(true, Ordering::Relaxed);
                    false
                }
            };
            if due {
                last_write = Instant::now();
                let progress = pending.take().map(|p| {
                    let preview = p
                        .preview
                        .as_ref()
                        .and_then(|v| imaging::preview_png(v.width as u32, v.height as u32, &v.rgb).ok());
                    (step_base + i32::try_from(p.step).unwrap_or(0), preview)
                });
                if let Err(e) =
                    queue::heartbeat(&self.db, job.job_id, &self.id, self.settings.lease, progress).await
                {
                    if matches!(e, QueueError::Lost) {
                        cancel.store(true, Ordering::Relaxed);
                    } else {
                        tracing::warn!(job = %job.job_id, error = %e, "heartbeat failed");
                    }
                }
            }
        };
        let result = match generated {
            Err(EngineError::Cancelled) if stopping => Err(WorkerError::ShuttingDown),
            Ok(generation) => {
                let device = self.settings.device.to_string();
                self.count(|m| m.generation(params.model.as_str(), &device, started.elapsed()));
                let made = store::Made { job, index, seed, params, timings: generation.timings };
                let output =
                    store::Output { db: &self.db, store: &self.store, worker: &self.id, device: &device };
                store::store(&output, &made, generation.images.into_iter().next()).await
            }
            Err(e) => Err(e.into()),
        };
        Ok((model, result))
    }

    /// Runs jobs until `shutdown` turns true: woken by `generation_queue` notifications, and
    /// every few seconds regardless (a missed notification only delays a job).
    /// A job running when it is told to stop is stopped at the engine's next step and handed
    /// back to the queue, without counting as an attempt, for another worker (or this one after a
    /// restart) to resume after the images already stored.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        self.shutdown = Some(shutdown.clone());
        let mut listener = match self.db.listener(&["generation_queue"]).await {
            Ok(listener) => Some(listener),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for queued jobs; polling instead");
                None
            }
        };
        tracing::info!(worker = %self.id, device = %self.settings.device, store = %self.store.location(), "worker running");
        while !*shutdown.borrow() {
            let ran = match self.run_next().await {
                Ok(ran) => ran,
                Err(e) => {
                    tracing::error!(error = %e, "worker could not reach the queue");
                    false
                }
            };
            if ran {
                continue;
            }
            let wake = async {
                match listener.as_mut() {
                    Some(l) => {
                        let _ = tokio::time::timeout(IDLE_POLL, l.recv()).await;
                    }
                    None => tokio::time::sleep(IDLE_POLL).await,
                }
            };
            tokio::select! {
                () = wake => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!(worker = %self.id, "worker stopped");
    }

    /// The device this worker runs on.
    #[must_use]
    pub fn device(&self) -> DeviceChoice {
        self.settings.device
    }
}

/// Resolves once `shutdown` turns true; never without one.
async fn shutdown_requested(shutdown: Option<watch::Receiver<bool>>) {
    match shutdown {
        Some(mut shutdown) => {
            if shutdown.wait_for(|stop| *stop).await.is_err() {
                // The sender is gone: nobody can ask this worker to stop any more.
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

/// Runs CPU-heavy `work` on a blocking thread.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WorkerError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| WorkerError::Panicked(e.to_string()))
}
