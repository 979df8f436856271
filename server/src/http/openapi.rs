//! The OpenAPI document of REST API v1, served at `/api/v1/openapi.json`.
//!
//! Routes are registered here through `utoipa_axum::routes!`, which takes each handler's
//! `#[utoipa::path]` annotation: a route cannot be added without being described.

use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{AppState, health};

/// Document-level information; paths are added by [`api_router`].
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "PingvasAI API",
        version = "1",
        description = "REST API v1 of PingvasAI. Errors are `{\"error\": {\"code\", \"message\"}}`."
    ),
    tags((name = "operations", description = "Probes and monitoring"))
)]
pub struct ApiDoc;

/// Every documented route with its handler.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
}
