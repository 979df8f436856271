//! Start-up and shutdown of the web server.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use leptos::config::get_configuration;
use thiserror::Error;
use tokio::net::TcpListener;

use crate::{
    http::{AppState, router},
    worker_http,
};
use pingvas_core::{
    config::{Config, WorkerSettings},
    db::{self, DbError},
    generation::worker::Worker,
    mail::{Outbox, sender::MailSender},
    storage::ImageStore,
    tenancy::TenantDb,
};

/// The server could not start.
#[derive(Debug, Error)]
pub enum StartError {
    /// Leptos' site settings (normally set by cargo-leptos) are invalid.
    #[error("site configuration: {0}")]
    Site(String),
    /// The database is unusable.
    #[error(transparent)]
    Database(#[from] DbError),
    /// The listening address cannot be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("server error: {0}")]
    Serve(std::io::Error),
    /// The server's state (provider HTTP client, image storage) could not be built.
    #[error(transparent)]
    State(#[from] pingvas_core::CoreError),
    /// The mail settings do not make a sender.
    #[error(transparent)]
    Mail(#[from] pingvas_core::mail::sender::SenderError),
}

/// Connects and migrates the database, then serves until SIGTERM or Ctrl-C, finishing the
/// requests in flight before returning.
///
/// # Errors
/// See [`StartError`].
pub async fn serve(config: Config) -> Result<(), StartError> {
    let site = get_configuration(None).map_err(|e| StartError::Site(e.to_string()))?;
    let leptos_options = site.leptos_options;
    let address = leptos_options.site_addr;

    // Migrations run as the owner (unless a migration job already did and this process holds
    // only the application role); requests run as the application's role (row-level security).
    let app_options = db::startup_options(&config).await?;
    let pool = db::pool(app_options, config.database_max_connections);
    tracing::info!(migrations = db::migration_versions().count(), "database ready");

    let in_process_worker = config.worker.in_process;
    let mail_sender = MailSender::new(pool.clone(), &config.mail, Outbox::new(&config.token_encryption_key))?;
    let state = AppState::new(pool.clone(), leptos_options, config)?;
    spawn_housekeeping(&state);
    spawn_billing_sweep(&state);
    let (stop_mail, mail_stopped) = tokio::sync::watch::channel(false);
    let mail = tokio::spawn(mail_sender.run(mail_stopped));
    let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
    let worker = in_process_worker.then(|| {
        let worker = Worker::new(
            state.tenants.clone(),
            state.store.clone(),
            state.config.catalog.clone(),
            state.config.worker.clone(),
        )
        .with_metrics(state.metrics.clone());
        tokio::spawn(warm_and_run(worker, worker_stopped, None))
    });
    let (stopping, delay) = (state.stopping.clone(), state.config.operations.shutdown_delay);
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let listener = TcpListener::bind(address).await.map_err(|source| StartError::Bind { address, source })?;
    tracing::info!("listening on http://{address}");
    // On SIGTERM: unready and streams ended at once; still accepting for `delay` while load
    // balancers notice; then no new connections, and the requests in flight are finished.
    let told_to_stop = async move {
        shutdown_signal().await;
        stopping.begin();
        if !delay.is_zero() {
            tracing::info!(seconds = delay.as_secs(), "unready; accepting requests a while longer");
            tokio::time::sleep(delay).await;
        }
    };
    axum::serve(listener, app).with_graceful_shutdown(told_to_stop).await.map_err(StartError::Serve)?;
    if let Some(worker) = worker {
        stop(worker, &stop_worker).await;
    }
    let _ = stop_mail.send(true);
    let _ = mail.await;
    pool.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Runs a generation worker alone: connects (and migrates) the database like `serve`, opens the
/// object store, answers probes and scrapes on `WORKER_HTTP_ADDR` if set, warms the model up and
/// runs jobs until SIGTERM or Ctrl-C (then it is no longer ready, and hands its job back).
///
/// # Errors
/// See [`StartError`].
pub async fn run_worker(config: Config) -> Result<(), StartError> {
    let app_options = db::startup_options(&config).await?;
    let pool = db::pool(app_options, config.database_max_connections.min(4));
    let store = ImageStore::from_url(
        config.worker.object_store_url.as_deref(),
        &WorkerSettings::default_object_dir(&config.data_dir),
    )
    .map_err(pingvas_core::CoreError::from)?;
    let metrics = pingvas_core::metrics::Metrics::new().map_err(pingvas_core::CoreError::from)?;
    let worker =
        Worker::new(TenantDb::new(pool.clone()), store, config.catalog.clone(), config.worker.clone())
            .with_metrics(metrics.clone());
    let ready = Arc::new(AtomicBool::new(false));
    let listener = match config.worker.http_addr {
        Some(address) => {
            let listener =
                TcpListener::bind(address).await.map_err(|source| StartError::Bind { address, source })?;
            tracing::info!("worker probes and metrics on http://{address}");
            let probes = worker_http::Probes {
                metrics,
                pool: pool.clone(),
                token: config.operations.metrics_token.clone(),
                ready: Arc::clone(&ready),
            };
            // Served until the process ends, so the drain itself can be watched.
            Some(tokio::spawn(async move { axum::serve(listener, worker_http::router(probes)).await }))
        }
        None => None,
    };
    let (stop_signal, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(warm_and_run(worker, stopped, Some(Arc::clone(&ready))));
    shutdown_signal().await;
    ready.store(false, Ordering::Relaxed);
    stop(running, &stop_signal).await;
    if let Some(listener) = listener {
        listener.abort();
    }
    pool.close().await;
    Ok(())
}

/// How long a stopping worker may take to stop its job and hand it back before it is dropped.
const WORKER_STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

/// Tells a running worker to stop and waits for it: its job, stopped at the engine's next step,
/// goes back to the queue at once. A worker that takes longer than [`WORKER_STOP_GRACE`] (a
/// model still loading, a very slow step) is dropped, and its job is left to its lease.
async fn stop(worker: tokio::task::JoinHandle<()>, signal: &tokio::sync::watch::Sender<bool>) {
    let _ = signal.send(true);
    let abort = worker.abort_handle();
    if tokio::time::timeout(WORKER_STOP_GRACE, worker).await.is_err() {
        tracing::warn!("the worker did not stop in time; its job is left to its lease");
        abort.abort();
    }
}

/// Warms `worker` up (a failure is logged: its jobs then fail with a clear reason, and `ready`
/// stays false so the orchestrator sees it) and runs it.
async fn warm_and_run(
    mut worker: Worker,
    stop: tokio::sync::watch::Receiver<bool>,
    ready: Option<Arc<AtomicBool>>,
) {
    // Each step's activation buffers are reused rather than mapped and unmapped anew.
    if !engine::cpu::memory::keep_freed_memory_for_reuse() {
        tracing::debug!("the allocator keeps its defaults");
    }
    match worker.warm_up().await {
        Ok(()) => {
            // Not if the process was told to stop while the model loaded.
            if let Some(ready) = ready.filter(|_| !*stop.borrow()) {
                ready.store(true, Ordering::Relaxed);
            }
        }
        Err(e) => tracing::error!(error = %e, "the worker could not load or run the default model"),
    }
    worker.run(stop).await;
}

/// Once a minute, forgets quiet clients so the rate limiters' memory stays bounded; once an
/// hour, deletes sessions and revoked-token records past their expiry and resets the image
/// quotas whose month is over (each user's is also reset lazily when used).
fn spawn_housekeeping(state: &AppState) {
    let limiter = std::sync::Arc::clone(&state.api_limiter);
    let webhook_failures = std::sync::Arc::clone(&state.webhook_failures);
    let accounts = state.accounts.clone();
    let oauth_sessions = pingvas_core::oauth::session_store::PgSessionStore::new(state.db.clone());
    let db = state.db.clone();
    tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(std::time::Duration::from_secs(60));
        for minute in 0_u64.. {
            every_minute.tick().await;
            limiter.prune(std::time::Instant::now());
            webhook_failures.prune(std::time::Instant::now());
            accounts.prune_attempts();
            if minute % 60 == 0 {
                match accounts.delete_expired().await {
                    Ok(removed) => tracing::debug!(removed, "expired sessions deleted"),
                    Err(e) => tracing::warn!(error = %e, "could not delete expired sessions"),
                }
                if let Err(e) = oauth_sessions.delete_expired().await {
                    tracing::warn!(error = %e, "could not delete expired OAuth sessions");
                }
                match reset_due_quotas(&db).await {
                    Ok(reset) => tracing::debug!(reset, "monthly quotas reset"),
                    Err(e) => tracing::warn!(error = %e, "could not reset monthly quotas"),
                }
                if let Err(e) = pingvas_core::mail::sender::delete_old(&db).await {
                    tracing::warn!(error = %e, "could not delete old mail");
                }
            }
        }
    });
}

/// Where billing is on, every `BILLING_SWEEP_SECONDS` applies what time alone changes: periods
/// set to cancel that ended, downgrades due, grace periods run out (SECURITY.md 50); and retries
/// erasing deleted accounts' provider customers.
fn spawn_billing_sweep(state: &AppState) {
    let Some(every) = state.config.billing.as_ref().map(|b| b.sweep_every) else { return };
    let core = state.core.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            // Batches, so a backlog (after downtime) is worked off in one tick.
            loop {
                match pingvas_core::billing::sweep(&core, 500).await {
                    Ok(0) => break,
                    Ok(changed) => tracing::info!(changed, "billing periods applied"),
                    Err(e) => {
                        tracing::warn!(error = %e, "billing sweep failed");
                        break;
                    }
                }
            }
            // Deleted accounts' provider customers the provider could not erase at once.
            if let Err(e) = pingvas_core::billing::retry_erasures(&core, 100).await {
                tracing::warn!(error = %e, "billing erasures not retried");
            }
        }
    });
}

async fn reset_due_quotas(db: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    let mut conn = db.acquire().await?;
    pingvas_core::quota::reset_all_due(&mut conn).await
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
