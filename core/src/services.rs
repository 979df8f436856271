//! [`Core`]: one handle to every service of the core, built once per process from the
//! configuration. REST handlers reach it through the server's state, the UI's server functions
//! through Leptos context; both then call the same functions on it.

use std::sync::Arc;

use sqlx::PgPool;

use crate::{
    accounts::Accounts,
    billing::Billing,
    config::{Config, WorkerSettings},
    generation::events::JobEventHub,
    links::LinkSigner,
    mail::Outbox,
    oauth::OAuthService,
    storage::{ImageStore, StorageError},
    tenancy::TenantDb,
};

/// The core's services for one process, shared: every request clones it (axum's state, the
/// UI's context), so a clone is one reference count, not one per service (profiling the image
/// list put 5 % of the server's CPU in cloning and dropping the services one by one).
#[derive(Debug, Clone)]
pub struct Core(Arc<Services>);

impl std::ops::Deref for Core {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What [`Core`] holds.
#[derive(Debug)]
pub struct Services {
    /// The connection pool, for what is not tenant data (accounts, sessions, the queue).
    pub db: PgPool,
    /// The validated configuration.
    pub config: Arc<Config>,
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
    /// Subscriptions, when billing is configured.
    pub billing: Option<Billing>,
    /// Room for upload bodies being received (`UPLOAD_BUFFER_MIB`).
    pub upload_buffers: crate::gallery::UploadBuffers,
    /// Account exports in progress (`EXPORT_CONCURRENCY`, one per account).
    pub exports: crate::account_data::ExportSlots,
    /// What this process counts for `/metrics`.
    pub metrics: crate::metrics::Metrics,
}

/// The core could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The HTTP client for sign-in or billing providers could not start its TLS back end.
    #[error("cannot start the HTTP client for sign-in and billing providers: {0}")]
    HttpClient(#[from] reqwest::Error),
    /// The object store is misconfigured or unreachable.
    #[error("image storage: {0}")]
    Storage(#[from] StorageError),
    /// The metrics registry refused a family (a name or label that is not valid).
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

impl Core {
    /// The core for one process.
    ///
    /// # Errors
    /// See [`CoreError`].
    pub fn new(db: PgPool, config: Config) -> Result<Self, CoreError> {
        let store = ImageStore::from_url(
            config.worker.object_store_url.as_deref(),
            &WorkerSettings::default_object_dir(&config.data_dir),
        )?;
        Ok(Self(Arc::new(Services {
            store,
            links: LinkSigner::new(config.jwt_secret.expose()),
            job_events: JobEventHub::new(TenantDb::new(db.clone()), config.limits.event_streams_per_user),
            upload_decodes: Arc::new(tokio::sync::Semaphore::new(config.limits.upload_decode_concurrency)),
            exports: crate::account_data::ExportSlots::new(config.limits.export_concurrency),
            upload_buffers: crate::gallery::UploadBuffers::new(config.limits.upload_buffer_mib),
            oauth: Arc::new(OAuthService::new(&config)?),
            billing: config
                .billing
                .clone()
                .map(|settings| {
                    Billing::new(
                        settings,
                        config.public_url.origin(),
                        Outbox::new(&config.token_encryption_key),
                    )
                })
                .transpose()?,
            tenants: TenantDb::new(db.clone()),
            metrics: crate::metrics::Metrics::new()?,
            accounts: Accounts::new(db.clone(), &config),
            db,
            config: Arc::new(config),
        })))
    }
}
