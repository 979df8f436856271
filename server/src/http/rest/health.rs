//! Liveness and readiness probes for load balancers and orchestrators.

use axum::{Json, extract::State, http::StatusCode};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::{
    AppState,
    error::{ApiError, ErrorBody},
};
use pingvas_core::db::{self, Readiness};

/// A probe's positive answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProbeStatus {
    /// `ok` for liveness, `ready` for readiness.
    pub status: &'static str,
}

/// The process is alive and serving HTTP. Never touches the database, so a database outage does
/// not get healthy processes restarted.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process is alive", body = ProbeStatus))
)]
pub async fn healthz() -> Json<ProbeStatus> {
    Json(ProbeStatus { status: "ok" })
}

/// The process is not stopping, and the database answers with every migration of this build
/// applied.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve requests", body = ProbeStatus),
        (status = 503, description = "Stopping, database unreachable or migrations pending", body = ErrorBody)
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<ProbeStatus>, ApiError> {
    if state.stopping.is_stopping() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "stopping",
            "This server is shutting down.",
        ));
    }
    readiness_answer(db::readiness(&state.db).await)
}

/// A readiness probe's answer for the database's state: 200 `ready`, or 503 with a code saying
/// why not. The web server and a worker's listener (`worker_http`) answer alike.
///
/// # Errors
/// 503 `database_unreachable` or `migrations_pending`.
pub fn readiness_answer(readiness: Readiness) -> Result<Json<ProbeStatus>, ApiError> {
    match readiness {
        Readiness::Ready => Ok(Json(ProbeStatus { status: "ready" })),
        Readiness::Unreachable => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unreachable",
            "The database is not answering.",
        )),
        Readiness::MigrationsPending { pending } => {
            tracing::warn!(pending, "readiness: migrations pending");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "migrations_pending",
                "The database schema is not up to date yet.",
            ))
        }
    }
}
