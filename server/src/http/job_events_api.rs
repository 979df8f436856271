//! `GET /api/v1/jobs/{id}/events`: a job's live progress as server-sent events. Each event is the
//! job as it stands (status, queue position, step/total, preview, image ids, error), sent when it
//! changes; the stream ends after `completed`, `failed` or `cancelled`. Opens with a bearer token
//! or the signed `events_url` a generation request returns (`EventSource` sends no headers).

use std::{convert::Infallible, time::Duration};

use app::api::images::JobEvent;
use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::sse::{Event, KeepAlive, Sse},
};
use futures::{Stream, stream};
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

use super::{
    AppState,
    error::{ApiError, ErrorBody},
    images_api::bearer_or_link,
    query::ApiQuery,
    tenant_errors::parse_id,
};
use crate::{
    ids::UserId,
    job_events,
    links::{LinkPurpose, SignedQuery},
    tenancy::TenantDb,
};

/// How long a stream waits for a notification before re-reading the job anyway.
const RECHECK: Duration = Duration::from_secs(2);

struct Watch {
    db: TenantDb,
    user: UserId,
    job: Uuid,
    changes: broadcast::Receiver<Uuid>,
    /// The event sent last; the stream is over once it shows the job finished.
    last: JobEvent,
}

impl Watch {
    /// Waits until `job` may have changed: its notification, or [`RECHECK`] passing.
    async fn changed(&mut self) {
        let wait = async {
            loop {
                match self.changes.recv().await {
                    Ok(id) if id == self.job => return,
                    Ok(_) => {}
                    // Missed some: ours may be among them.
                    Err(RecvError::Lagged(_)) => return,
                    Err(RecvError::Closed) => std::future::pending::<()>().await,
                }
            }
        };
        let _ = tokio::time::timeout(RECHECK, wait).await;
    }

    /// The next event to send, or `None` when the stream is over.
    async fn next(&mut self) -> Option<JobEvent> {
        loop {
            if self.last.status.is_finished() {
                return None;
            }
            self.changed().await;
            let event = match job_events::snapshot(&self.db, self.user, self.job).await {
                Ok(event) => event,
                Err(e) => {
                    tracing::warn!(job = %self.job, error = %e, "job event stream stopped");
                    return None;
                }
            };
            if self.last != event {
                self.last = event.clone();
                return Some(event);
            }
        }
    }
}

/// One server-sent event of a job's stream as it travels: its name and its `data`, a `JobEvent`
/// as JSON text. It only describes the stream in the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct JobEventMessage {
    /// `queued`, `progress`, `completed`, `failed` or `cancelled`.
    event: String,
    /// A `JobEvent` (see its schema), as JSON.
    data: String,
}

/// Live progress of one of my jobs (server-sent events named `queued`, `progress`, `completed`,
/// `failed`, `cancelled`, each carrying a `JobEvent`).
#[utoipa::path(
    get, path = "/api/v1/jobs/{id}/events", tag = "generation", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The job's id"), SignedQuery),
    responses(
        (status = 200, description = "text/event-stream of JobEvent", body = JobEventMessage, content_type = "text/event-stream"),
        (status = 401, description = "No bearer token and no valid signed link", body = ErrorBody),
        (status = 404, description = "No job of mine has this id", body = ErrorBody),
    )
)]
pub async fn job_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<SignedQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let job = parse_id(&id)?;
    let user = bearer_or_link(&state, &headers, LinkPurpose::Events, job, &query).await?;
    // Subscribe before the first read, so no change between the two is missed.
    let changes = state.job_events.subscribe();
    let first = job_events::snapshot(&state.tenants, user, job).await?;
    let watch = Watch { db: state.tenants.clone(), user, job, changes, last: first.clone() };
    let first = stream::once(std::future::ready(first));
    let rest = stream::unfold(watch, |mut watch| async move { watch.next().await.map(|e| (e, watch)) });
    let events = futures::StreamExt::map(futures::StreamExt::chain(first, rest), |event| {
        Ok(Event::default().event(event.name()).json_data(&event).unwrap_or_default())
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
