//! The HTTP surface: one router with the REST API v1, the probes, the OpenAPI document and the
//! server-rendered Leptos app.

pub mod error;
pub mod extractors;
pub mod middleware;
pub mod openapi;
pub mod rest;
pub mod scrape;
pub mod stopping;
pub mod tenant_errors;

use app::{App, shell};
use axum::{
    Router,
    body::Bytes,
    extract::FromRef,
    http::header::CONTENT_TYPE,
    routing::{any, get},
};
use std::{net::IpAddr, sync::Arc};

use leptos::{config::LeptosOptions, prelude::provide_context};
use leptos_axum::{LeptosRoutes, generate_route_list};
use sqlx::PgPool;
use tower::ServiceBuilder;

use self::{
    error::ApiError,
    middleware::{api_rate_limit, compression, cors, metrics, request_log, security_headers, static_cache},
};
use pingvas_core::{
    Core, CoreError, config::Config, oauth::session_store::PgSessionStore, rate_limit::RateLimiter,
};

/// What every handler can reach: the core's services, plus what only HTTP needs.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Accounts, tenancy, storage, configuration…: the same services the UI's server functions use.
    pub core: Core,
    /// Where the site's files are and how the wasm bundle is named (shared: the state is cloned
    /// for every request).
    pub leptos_options: Arc<LeptosOptions>,
    /// Requests per client IP on the API.
    pub api_limiter: Arc<RateLimiter<IpAddr>>,
    /// Failed billing-webhook signatures per client IP (the webhook is outside `api_limiter`).
    pub webhook_failures: Arc<RateLimiter<IpAddr>>,
    /// Set when the process is told to stop: readiness fails and event streams end.
    pub stopping: stopping::Stopping,
}

impl AppState {
    /// State for one server process.
    ///
    /// # Errors
    /// See [`CoreError`].
    pub fn new(db: PgPool, leptos_options: LeptosOptions, config: Config) -> Result<Self, CoreError> {
        let api_limiter = Arc::new(api_rate_limit::api_limiter(
            config.api_requests_per_minute,
            config.limits.rate_limit_max_keys,
        ));
        let webhook_failures = Arc::new(api_rate_limit::api_limiter(
            rest::billing::WEBHOOK_FAILURES_PER_MINUTE,
            config.limits.rate_limit_max_keys,
        ));
        Ok(Self {
            core: Core::new(db, config)?,
            leptos_options: Arc::new(leptos_options),
            api_limiter,
            webhook_failures,
            stopping: stopping::Stopping::default(),
        })
    }
}

/// Handlers read the core's services as `state.accounts`, `state.config`…: the state is the core
/// plus two HTTP-only parts, and spelling `state.core.` in every handler would add nothing.
impl std::ops::Deref for AppState {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        LeptosOptions::clone(&state.leptos_options)
    }
}

/// The whole application as one router, ready to serve or to call in tests with `oneshot`.
pub fn router(state: AppState) -> Router {
    let https = state.config.public_url.is_https();
    let oauth = openapi::oauth_router()
        .layer(rest::oauth::session_layer(PgSessionStore::new(state.db.clone()), https));
    let (api, mut openapi) = openapi::api_router().merge(oauth).split_for_parts();
    openapi::document_rejections(&mut openapi);
    // Serialised once; `Bytes` clones share the buffer.
    let openapi_json = Bytes::from(serde_json::to_vec(&openapi).unwrap_or_default());
    let leptos_routes = generate_route_list(App);
    let leptos_options = Arc::clone(&state.leptos_options);
    // The UI's server functions call the core through this, as the REST handlers do.
    let core = state.core.clone();
    let cors = cors::layer(&state.config.cors_allowed_origins);

    let router = Router::new()
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            get(move || std::future::ready(([(CONTENT_TYPE, "application/json")], openapi_json.clone()))),
        )
        // Prometheus' scrape (not part of the API: text, not JSON).
        .route("/metrics", get(scrape::metrics_endpoint))
        // Unknown API paths answer JSON, not the HTML 404 page.
        .route("/api/v1/{*rest}", any(|| std::future::ready(ApiError::route_not_found())))
        .leptos_routes_with_context(
            &state,
            leptos_routes,
            move || provide_context(core.clone()),
            move || shell(LeptosOptions::clone(&leptos_options)),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(state.clone(), api_rate_limit::limit_api_requests))
        .layer(cors)
        .layer(compression::layer())
        .layer(axum::middleware::from_fn(static_cache::set))
        // Outermost of the router's layers: it sees every answer, refusals by the limiter included.
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::record))
        .with_state(state);
    security_headers::apply(router, https).layer(
        ServiceBuilder::new()
            .layer(request_log::set_request_id())
            .layer(request_log::trace())
            .layer(request_log::propagate_request_id()),
    )
}
