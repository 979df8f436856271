//! `/metrics`: what the process counted, plus what is read when scraped — whether the database
//! answers, this process's pool, and (web servers only) the whole queue and mail outbox.

use std::time::Duration;

use axum::{
    extract::State,
    http::{
        HeaderMap, StatusCode,
        header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE},
    },
    response::{IntoResponse, Response},
};
use sqlx::PgPool;

use crate::http::AppState;
use pingvas_core::{
    config::MetricsToken,
    generation::queue,
    mail::sender,
    metrics::{self, MailStats, Metrics, PoolStats, QueueStats},
};

/// How long a scrape waits for the database before reporting it down: less than Prometheus'
/// default scrape timeout (10 s), so a hung database still yields a scrape that says so.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(3);

/// What a scrape reads from the database besides whether it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    /// The whole queue and mail outbox (web servers).
    Shared,
    /// Nothing more (workers: the web servers report the shared state, once for all).
    DatabaseOnly,
}

/// The web server's `/metrics`, in Prometheus' text format; with `METRICS_TOKEN` set, only for
/// a request bearing it.
pub async fn metrics_endpoint(State(state): State<AppState>, headers: HeaderMap) -> Response {
    answer(
        &state.metrics,
        &state.db,
        state.config.operations.metrics_token.as_ref(),
        &headers,
        Sample::Shared,
    )
    .await
}

/// A scrape's answer: 401 without the configured token, else everything rendered.
pub async fn answer(
    metrics: &Metrics,
    pool: &PgPool,
    token: Option<&MetricsToken>,
    headers: &HeaderMap,
    sample: Sample,
) -> Response {
    if !authorized(token, headers) {
        return (StatusCode::UNAUTHORIZED, [(WWW_AUTHENTICATE, "Bearer")], "A metrics token is needed.\n")
            .into_response();
    }
    ([(CONTENT_TYPE, metrics::CONTENT_TYPE)], render(metrics, pool, sample).await).into_response()
}

/// Whether `headers` carry `token` as a bearer token (anything does when none is configured).
fn authorized(token: Option<&MetricsToken>, headers: &HeaderMap) -> bool {
    let Some(token) = token else { return true };
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|presented| token.matches(presented.trim()))
}

/// Samples the database as `sample` says, then renders every family.
pub async fn render(metrics: &Metrics, pool: &PgPool, sample: Sample) -> String {
    let up = match sample {
        Sample::Shared => match tokio::time::timeout(DATABASE_TIMEOUT, shared_state(pool)).await {
            Ok(Ok((queue, mail))) => {
                metrics.set_queue(queue);
                metrics.set_mail(mail);
                true
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "metrics: the queue or the mail outbox could not be read");
                false
            }
            Err(_) => {
                tracing::warn!("metrics: the database did not answer in time");
                false
            }
        },
        Sample::DatabaseOnly => {
            let ping = sqlx::query("SELECT 1").execute(pool);
            matches!(tokio::time::timeout(DATABASE_TIMEOUT, ping).await, Ok(Ok(_)))
        }
    };
    let pool_stats = PoolStats {
        open: pool.size(),
        idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
        max: pool.options().get_max_connections(),
    };
    metrics.set_database(pool_stats, up);
    metrics.render()
}

async fn shared_state(pool: &PgPool) -> Result<(QueueStats, MailStats), sqlx::Error> {
    Ok((queue::stats(pool).await?, sender::outbox_stats(pool).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_bearer_token_is_let_through() {
        let mut headers = HeaderMap::new();
        assert!(authorized(None, &headers));
        let token = pingvas_core::config::Operations::parse(&|name| {
            (name == "METRICS_TOKEN").then(|| "0123456789abcdef01234567".to_owned())
        })
        .unwrap()
        .metrics_token
        .unwrap();
        assert!(!authorized(Some(&token), &headers));
        headers.insert(AUTHORIZATION, "Bearer 0123456789abcdef0123456X".parse().unwrap());
        assert!(!authorized(Some(&token), &headers));
        headers.insert(AUTHORIZATION, "Basic 0123456789abcdef01234567".parse().unwrap());
        assert!(!authorized(Some(&token), &headers));
        headers.insert(AUTHORIZATION, "Bearer 0123456789abcdef01234567".parse().unwrap());
        assert!(authorized(Some(&token), &headers));
    }
}
