//! A `server worker` process's own listener (`WORKER_HTTP_ADDR`): liveness and readiness for the
//! orchestrator and `/metrics` for Prometheus. Workers serve no users, so this is all it answers.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
    routing::get,
};
use sqlx::PgPool;

use crate::http::{
    error::ApiError,
    rest::health::{self, ProbeStatus},
    scrape::{self, Sample},
};
use pingvas_core::{config::MetricsToken, db, metrics::Metrics};

/// What the listener reads.
#[derive(Debug, Clone)]
pub struct Probes {
    /// The worker's metrics.
    pub metrics: Metrics,
    /// The worker's pool.
    pub pool: PgPool,
    /// `METRICS_TOKEN`, if set.
    pub token: Option<MetricsToken>,
    /// True once the default model is loaded and warmed up, false again when stopping.
    pub ready: Arc<AtomicBool>,
}

/// `/healthz`, `/readyz` and `/metrics`.
pub fn router(probes: Probes) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(probes)
}

/// Ready: the model is warm, the worker is not stopping, and the database answers with every
/// migration of this build applied.
async fn readyz(State(probes): State<Probes>) -> Result<Json<ProbeStatus>, ApiError> {
    if !probes.ready.load(Ordering::Relaxed) {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_warm",
            "The worker is loading its model, or stopping.",
        ));
    }
    health::readiness_answer(db::readiness(&probes.pool).await)
}

async fn metrics(State(probes): State<Probes>, headers: HeaderMap) -> Response {
    scrape::answer(&probes.metrics, &probes.pool, probes.token.as_ref(), &headers, Sample::DatabaseOnly).await
}
