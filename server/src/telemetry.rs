//! Logging: `tracing` to stderr, filtered by `RUST_LOG`, as text or JSON lines.

use tracing_subscriber::{EnvFilter, fmt};

use pingvas_core::config::LogFormat;

/// Used when `RUST_LOG` is unset: our own crates at info, noisy dependencies quieter.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=warn,leptos_axum=warn";

/// Installs the global subscriber. Call once, before anything logs.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // `try_init` so tests or a second call never panic over an existing subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
    };
}
