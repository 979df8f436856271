//! Job changes for event streams, across server instances: each process keeps one connection
//! listening on `generation_job_events` (sent by a trigger whenever a job row changes, at commit,
//! from whichever instance or worker changed it) and fans the job ids out to its streams, which
//! then re-read the job as its owner. A stream never trusts the notification's content, only
//! that something changed, so a lost or duplicated notification costs at most a re-read.

use std::sync::{Arc, Once};

use app::api::images::JobEvent;
use base64::Engine as _;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::{
    ids::{JobId, UserId},
    jobs, queue,
    tenancy::{TenantDb, TenantError},
};

/// Fans out job-change notifications to this process's event streams.
#[derive(Debug, Clone)]
pub struct JobEventHub {
    inner: Arc<Hub>,
}

#[derive(Debug)]
struct Hub {
    db: TenantDb,
    sender: broadcast::Sender<Uuid>,
    started: Once,
}

impl JobEventHub {
    /// A hub over `db`; its listening connection opens with the first subscriber.
    #[must_use]
    pub fn new(db: TenantDb) -> Self {
        let (sender, _) = broadcast::channel(1024);
        Self { inner: Arc::new(Hub { db, sender, started: Once::new() }) }
    }

    /// Ids of jobs that changed from now on (call inside the Tokio runtime).
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        let receiver = self.inner.sender.subscribe();
        self.inner.started.call_once(|| {
            let hub = Arc::clone(&self.inner);
            tokio::spawn(async move { hub.listen().await });
        });
        receiver
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
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}

/// Job `id` of `user` as its event stream shows it: status, queue position while queued,
/// progress, the latest preview while running, image ids, error.
///
/// # Errors
/// 404 if it is not theirs.
pub async fn snapshot(db: &TenantDb, user: UserId, id: Uuid) -> Result<JobEvent, TenantError> {
    let (job, preview) = jobs::get_with_preview(db, user, JobId(id)).await?;
    let queue_position = if job.status == app::api::generation::JobStatus::Queued {
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
        error: job.error,
    })
}
