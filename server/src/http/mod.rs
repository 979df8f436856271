//! The HTTP surface: one router with the REST API v1, the probes, the OpenAPI document and the
//! server-rendered Leptos app.

pub mod account_data_api;
pub mod admin_api;
pub mod api_rate_limit;
pub mod auth_api;
pub mod boards_api;
pub mod client_context;
pub mod client_ip;
pub mod compression;
pub mod cors;
pub mod current_user;
pub mod email_api;
pub mod error;
pub mod generation_api;
pub mod health;
pub mod images_api;
pub mod job_events_api;
pub mod json;
pub mod oauth_api;
pub mod openapi;
pub mod query;
pub mod request_log;
pub mod security_headers;
pub mod tenant_errors;
pub mod ui_backend;
pub mod ui_gallery;
pub mod users_api;
pub mod workflows_api;

use app::{
    App,
    api::backend::{AccountBackend, GalleryBackend, TenantBackend},
    shell,
};
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

use self::error::ApiError;
use crate::{
    accounts::Accounts,
    config::{Config, WorkerSettings},
    job_events::JobEventHub,
    links::LinkSigner,
    oauth::{OAuthService, session_store::PgSessionStore},
    rate_limit::RateLimiter,
    storage::ImageStore,
    tenancy::TenantDb,
};

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The connection pool. Later issues wrap it in a tenant-scoped API.
    pub db: PgPool,
    /// Where the site's files are and how the wasm bundle is named.
    pub leptos_options: LeptosOptions,
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Requests per client IP on the API.
    pub api_limiter: Arc<RateLimiter<IpAddr>>,
    /// Accounts, sign-in and sessions.
    pub accounts: Accounts,
    /// Google and Discord sign-in.
    pub oauth: Arc<OAuthService>,
    /// User-bound transactions: the only way to tenant tables.
    pub tenants: TenantDb,
    /// Image files.
    pub store: ImageStore,
    /// Signs the links `<img>` and `EventSource` use.
    pub links: LinkSigner,
    /// Job changes from every server instance, for event streams.
    pub job_events: JobEventHub,
    /// Turns to decode an upload (`UPLOAD_DECODE_CONCURRENCY`): decoding memory is bounded by
    /// these × the pixel budget, however many uploads arrive at once.
    pub upload_decodes: Arc<tokio::sync::Semaphore>,
}

/// The server's state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The HTTP client for sign-in providers could not start its TLS back end.
    #[error("cannot start the HTTP client for sign-in providers: {0}")]
    HttpClient(#[from] reqwest::Error),
    /// The object store is misconfigured or unreachable.
    #[error("image storage: {0}")]
    Storage(#[from] crate::storage::StorageError),
}

impl AppState {
    /// State for one server process.
    ///
    /// # Errors
    /// See [`StateError`].
    pub fn new(db: PgPool, leptos_options: LeptosOptions, config: Config) -> Result<Self, StateError> {
        let store = ImageStore::from_url(
            config.worker.object_store_url.as_deref(),
            &WorkerSettings::default_object_dir(&config.data_dir),
        )?;
        Ok(Self {
            store,
            links: LinkSigner::new(config.jwt_secret.expose()),
            job_events: JobEventHub::new(TenantDb::new(db.clone()), config.limits.event_streams_per_user),
            upload_decodes: Arc::new(tokio::sync::Semaphore::new(config.limits.upload_decode_concurrency)),
            oauth: Arc::new(OAuthService::new(&config)?),
            tenants: TenantDb::new(db.clone()),
            accounts: Accounts::new(db.clone(), &config),
            api_limiter: Arc::new(api_rate_limit::api_limiter(
                config.api_requests_per_minute,
                config.limits.rate_limit_max_keys,
            )),
            db,
            leptos_options,
            config: Arc::new(config),
        })
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The whole application as one router, ready to serve or to call in tests with `oneshot`.
pub fn router(state: AppState) -> Router {
    let https = state.config.public_url.is_https();
    let oauth =
        openapi::oauth_router().layer(oauth_api::session_layer(PgSessionStore::new(state.db.clone()), https));
    let (api, mut openapi) = openapi::api_router().merge(oauth).split_for_parts();
    openapi::document_rejections(&mut openapi);
    // Serialised once; `Bytes` clones share the buffer.
    let openapi_json = Bytes::from(serde_json::to_vec(&openapi).unwrap_or_default());
    let leptos_routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();
    // The UI's server functions reach the accounts and tenant cores through these.
    let ui_backend = Arc::new(ui_backend::UiBackend::new(state.clone()));
    let account_backend: Arc<dyn AccountBackend> = ui_backend.clone();
    let tenant_backend: Arc<dyn TenantBackend> = ui_backend.clone();
    let gallery_backend: Arc<dyn GalleryBackend> = ui_backend;
    let cors = cors::layer(&state.config.cors_allowed_origins);

    let router = Router::new()
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            get(move || std::future::ready(([(CONTENT_TYPE, "application/json")], openapi_json.clone()))),
        )
        // Unknown API paths answer JSON, not the HTML 404 page.
        .route("/api/v1/{*rest}", any(|| std::future::ready(ApiError::route_not_found())))
        .leptos_routes_with_context(
            &state,
            leptos_routes,
            move || {
                provide_context(Arc::clone(&account_backend));
                provide_context(Arc::clone(&tenant_backend));
                provide_context(Arc::clone(&gallery_backend));
            },
            move || shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(state.clone(), api_rate_limit::limit_api_requests))
        .layer(cors)
        .layer(compression::layer())
        .with_state(state);
    security_headers::apply(router, https).layer(
        ServiceBuilder::new()
            .layer(request_log::set_request_id())
            .layer(request_log::trace())
            .layer(request_log::propagate_request_id()),
    )
}
