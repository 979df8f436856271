//! Job changes for event streams, across server instances: each process keeps one connection
//! listening on `generation_job_events` (sent by a trigger whenever a job row changes, at commit,
//! from whichever instance or worker changed it). A notification never carries the job's state,
//! only that it changed, so a lost or duplicated one costs at most a re-read.
//!
//! However many streams watch a job, this process reads it once per change (or per
//! [`RECHECK`] without one) in one reader task, which publishes the result on a `watch` channel
//! the streams share (SECURITY.md 39); the reader ends when its last stream goes or the job
//! finishes. Each user may hold a bounded number of open streams.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Once, PoisonError},
    time::Duration,
};

use base64::Engine as _;
use contract::images::JobEvent;
use tokio::sync::{
    broadcast::{self, error::RecvError},
    watch,
};

use super::{jobs, queue};
use crate::tenancy::{TenantDb, TenantError};
use contract::ids::{JobId, UserId};

/// How long a job's reader waits for a notification before re-reading the job anyway.
pub const RECHECK: Duration = Duration::from_secs(2);

/// Why a stream could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The user already has their most streams open (429).
    #[error(
        "You have {0} live progress streams open, the most at once; close a tab or wait for a job to finish."
    )]
    TooManyStreams(usize),
    /// Not their job (404), or the database failed.
    #[error(transparent)]
    Tenant(#[from] TenantError),
}

/// Fans out job changes to this process's event streams.
#[derive(Debug, Clone)]
pub struct JobEventHub {
    inner: Arc<Hub>,
}

/// Each watched job's channel, by owner and job.
type Readers = HashMap<(UserId, JobId), Arc<watch::Sender<JobEvent>>>;

#[derive(Debug)]
struct Hub {
    db: TenantDb,
    sender: broadcast::Sender<JobId>,
    started: Once,
    /// One channel per watched job, fed by its reader task. A job has one owner, and the
    /// channel is made only after that owner's read succeeded, so the key's user is its owner.
    readers: Mutex<Readers>,
    open_streams: Mutex<HashMap<UserId, usize>>,
    max_streams_per_user: usize,
}

/// A stream's view of its job: the latest event, and its place among the user's open streams
/// (given back when dropped).
#[derive(Debug)]
pub struct JobWatch {
    /// The job as last read.
    pub events: watch::Receiver<JobEvent>,
    _slot: StreamSlot,
}

#[derive(Debug)]
struct StreamSlot {
    hub: Arc<Hub>,
    user: UserId,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.hub.open_streams.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

impl JobEventHub {
    /// A hub over `db` allowing `max_streams_per_user` open streams per user; its listening
    /// connection opens with the first stream.
    #[must_use]
    pub fn new(db: TenantDb, max_streams_per_user: usize) -> Self {
        let (sender, _) = broadcast::channel(1024);
        Self {
            inner: Arc::new(Hub {
                db,
                sender,
                started: Once::new(),
                readers: Mutex::new(HashMap::new()),
                open_streams: Mutex::new(HashMap::new()),
                max_streams_per_user: max_streams_per_user.max(1),
            }),
        }
    }

    /// Ids of jobs that changed from now on (call inside the Tokio runtime).
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<JobId> {
        let receiver = self.inner.sender.subscribe();
        self.inner.started.call_once(|| {
            let hub = Arc::clone(&self.inner);
            tokio::spawn(async move { hub.listen().await });
        });
        receiver
    }

    /// Opens a stream of `user`'s job `job`: its latest state now and whenever it changes.
    ///
    /// # Errors
    /// 429 over the user's open streams, 404 if the job is not theirs.
    pub async fn watch(&self, user: UserId, job: JobId) -> Result<JobWatch, WatchError> {
        let slot = self.take_slot(user)?;
        if let Some(events) = self.join(user, job) {
            return Ok(JobWatch { events, _slot: slot });
        }
        // Subscribe before the first read, so no change between the two is missed.
        let changes = self.subscribe();
        let first = snapshot(&self.inner.db, user, job).await?;
        let mut readers = self.inner.readers.lock().unwrap_or_else(PoisonError::into_inner);
        // Another stream of theirs may have started a reader meanwhile: share it.
        if let Some(sender) = readers.get(&(user, job)) {
            return Ok(JobWatch { events: sender.subscribe(), _slot: slot });
        }
        let (sender, events) = watch::channel(first);
        let sender = Arc::new(sender);
        readers.insert((user, job), Arc::clone(&sender));
        drop(readers);
        let hub = Arc::clone(&self.inner);
        tokio::spawn(async move { hub.read(user, job, sender, changes).await });
        Ok(JobWatch { events, _slot: slot })
    }

    /// How many reader tasks run now (one per watched job).
    #[must_use]
    pub fn readers(&self) -> usize {
        self.inner.readers.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    fn join(&self, user: UserId, job: JobId) -> Option<watch::Receiver<JobEvent>> {
        let readers = self.inner.readers.lock().unwrap_or_else(PoisonError::into_inner);
        readers.get(&(user, job)).map(|sender| sender.subscribe())
    }

    fn take_slot(&self, user: UserId) -> Result<StreamSlot, WatchError> {
        let mut open = self.inner.open_streams.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(user).or_insert(0);
        if *count >= self.inner.max_streams_per_user {
            return Err(WatchError::TooManyStreams(self.inner.max_streams_per_user));
        }
        *count += 1;
        Ok(StreamSlot { hub: Arc::clone(&self.inner), user })
    }
}

impl Hub {
    /// Forwards notifications forever, reconnecting after a failure.
    async fn listen(&self) {
        loop {
            match self.db.listener(&["generation_job_events"]).await {
                Ok(mut listener) => loop {
                    match listener.recv().await {
                        Ok(note) => {
                            if let Ok(job) = note.payload().parse() {
                                // No subscriber right now is fine.
                                let _ = self.sender.send(job);
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "job event listener lost its connection");
                            break;
                        }
                    }
                },
                Err(e) => tracing::warn!(error = %e, "cannot listen for job events"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// The one reader of `job` in this process: re-reads it after each change (or [`RECHECK`])
    /// and publishes what differs, until it finishes, fails to read, or nobody watches.
    async fn read(
        &self,
        user: UserId,
        job: JobId,
        sender: Arc<watch::Sender<JobEvent>>,
        mut changes: broadcast::Receiver<JobId>,
    ) {
        loop {
            let finished = sender.borrow().status.is_finished();
            if self.leave(user, job, &sender, finished) {
                return;
            }
            tokio::select! {
                () = changed(&mut changes, job) => {}
                () = sender.closed() => {
                    continue;
                }
            }
            match snapshot(&self.db, user, job).await {
                Ok(event) => {
                    sender.send_if_modified(|last| {
                        let differs = *last != event;
                        if differs {
                            *last = event;
                        }
                        differs
                    });
                }
                Err(e) => {
                    tracing::warn!(%job, error = %e, "job event reader stopped");
                    self.leave(user, job, &sender, true);
                    return;
                }
            }
        }
    }

    /// Whether the reader should stop: when `done`, or when no stream watches it. Leaving removes
    /// its entry, under the lock that new streams join under, so none can join a reader that is
    /// leaving (and only its own entry: a successor's stays).
    fn leave(&self, user: UserId, job: JobId, sender: &Arc<watch::Sender<JobEvent>>, done: bool) -> bool {
        let mut readers = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
        let leaving = done || sender.receiver_count() == 0;
        if leaving && readers.get(&(user, job)).is_some_and(|s| Arc::ptr_eq(s, sender)) {
            readers.remove(&(user, job));
        }
        leaving
    }
}

/// Waits until `job` may have changed: its notification, or [`RECHECK`] passing.
async fn changed(changes: &mut broadcast::Receiver<JobId>, job: JobId) {
    let wait = async {
        loop {
            match changes.recv().await {
                Ok(id) if id == job => return,
                Ok(_) => {}
                // Missed some: ours may be among them.
                Err(RecvError::Lagged(_)) => return,
                Err(RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    };
    let _ = tokio::time::timeout(RECHECK, wait).await;
}

/// Job `id` of `user` as its event stream shows it: status, queue position while queued,
/// progress, the latest preview while running, image ids, error.
///
/// # Errors
/// 404 if it is not theirs.
pub async fn snapshot(db: &TenantDb, user: UserId, id: JobId) -> Result<JobEvent, TenantError> {
    let (job, preview) = jobs::get_with_preview(db, user, id).await?;
    let queue_position = if job.status == contract::generation::JobStatus::Queued {
        queue::position(db, id).await?
    } else {
        None
    };
    Ok(JobEvent {
        job_id: job.job_id,
        status: job.status,
        queue_position,
        step: job.progress_step,
        total: job.progress_total,
        preview: preview.map(|png| {
            format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png))
        }),
        image_ids: job.image_ids,
        // Signed per session where the stream is served.
        images: Vec::new(),
        error: job.error,
    })
}
