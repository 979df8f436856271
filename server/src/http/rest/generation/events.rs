//! `GET /api/v1/jobs/{id}/events`: a job's live progress as server-sent events. Each event is the
//! job as it stands (status, queue position, step/total, preview, image ids, error), sent when it
//! changes; the stream ends after `completed`, `failed` or `cancelled`. Opens with a bearer token
//! or the signed `events_url` a generation request returns (`EventSource` sends no headers), and
//! ends within [`SESSION_RECHECK`] of its session ending.

use std::{convert::Infallible, time::Duration};

use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::sse::{Event, KeepAlive, Sse},
};
use contract::{generation::JobStatus, ids::JobId, images::JobEvent};
use futures::{Stream, stream};
use tokio::time::Instant;

use crate::http::{
    AppState,
    error::{ApiError, ErrorBody},
    extractors::query::ApiQuery,
    rest::gallery::bearer_or_link,
    stopping::Stopping,
    tenant_errors::parse_id,
};
use pingvas_core::{
    accounts::Accounts,
    gallery,
    generation::events::JobWatch,
    links::{LinkOwner, LinkPurpose, SignedQuery},
    metrics::StreamGuard,
};

/// How often an open stream checks that its session still lives (SECURITY.md 43: within a
/// minute of signing out, revoking the session, changing the password or deactivation).
const SESSION_RECHECK: Duration = Duration::from_secs(30);

/// An open stream: its job's channel, whose session it belongs to, and its place in the count of
/// open streams (released when the stream is dropped, however it ends).
struct Open {
    watch: JobWatch,
    _counted: StreamGuard,
    stopping: Stopping,
    accounts: Accounts,
    owner: LinkOwner,
    next_session_check: Instant,
}

/// The events a stream sends after its first: each new state of the job, until one shows it
/// finished, its reader stops, its session ends, or the server is stopping (the browser then
/// reconnects, to another instance).
fn rest_of(open: Open) -> impl Stream<Item = JobEvent> {
    stream::unfold(Some(open), |open| async move {
        let mut open = open?;
        loop {
            if open.watch.events.borrow().status.is_finished() || open.stopping.is_stopping() {
                return None;
            }
            tokio::select! {
                () = open.stopping.wait() => return None,
                changed = open.watch.events.changed() => {
                    changed.ok()?;
                    let event = open.watch.events.borrow_and_update().clone();
                    return Some((event, Some(open)));
                }
                () = tokio::time::sleep_until(open.next_session_check) => {
                    if !open.accounts.session_alive(open.owner).await.unwrap_or(false) {
                        tracing::info!(user = %open.owner.user, "event stream ended with its session");
                        return None;
                    }
                    open.next_session_check = Instant::now() + SESSION_RECHECK;
                }
            }
        }
    })
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
        (status = 429, description = "Too many of my streams are open (`too_many_streams`)", body = ErrorBody),
    )
)]
pub async fn job_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<SignedQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let job = parse_id(&id)?;
    let owner = bearer_or_link(&state, &headers, LinkPurpose::Events, job, &query).await?;
    let mut watch = state.job_events.watch(owner.user, JobId(job)).await?;
    let first = watch.events.borrow_and_update().clone();
    let open = Open {
        watch,
        _counted: state.metrics.event_stream_opened(),
        stopping: state.stopping.clone(),
        accounts: state.accounts.clone(),
        owner,
        next_session_check: Instant::now() + SESSION_RECHECK,
    };
    let core = state.core.clone();
    let events = futures::StreamExt::then(
        futures::StreamExt::chain(stream::once(std::future::ready(first)), rest_of(open)),
        move |mut event| {
            let core = core.clone();
            async move {
                if event.status == JobStatus::Completed {
                    // A failed read leaves the ids, from which the page can still link them.
                    match gallery::made_by_job(&core, owner, event.job_id).await {
                        Ok(images) => event.images = images,
                        Err(e) => {
                            tracing::warn!(job = %event.job_id, error = %e, "completed job's images unread")
                        }
                    }
                }
                Ok(Event::default().event(event.name()).json_data(&event).unwrap_or_default())
            }
        },
    );
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
