//! 100 requests per minute per client IP on the API (`/api/…`), answered 429 with `Retry-After`
//! beyond that (SECURITY.md 33). Pages, static files and probes are not counted, nor the billing
//! webhook: the provider delivers every customer's events from a few addresses, each checked by
//! its signature before any work is done.

use std::{
    net::IpAddr,
    time::{Duration, Instant},
};

use axum::{
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::http::{AppState, error::ApiError, extractors::client_context::client_ip};
use pingvas_core::{
    metrics::Limiter,
    rate_limit::{Decision, RateLimiter, client_key, network_group},
};

const BILLING_WEBHOOK: &str = "/api/v1/billing/webhook";

/// The limiter for the API, shared by every request: `per_minute` requests per client key
/// ([`client_key`]), tracking at most `max_keys` clients.
#[must_use]
pub fn api_limiter(per_minute: u32, max_keys: usize) -> RateLimiter<IpAddr> {
    RateLimiter::with_max_keys(per_minute, Duration::from_secs(60), max_keys)
}

/// Middleware: counts `/api/…` requests per client IP and refuses those over the limit.
pub async fn limit_api_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !path.starts_with("/api/") || path == BILLING_WEBHOOK {
        return next.run(request).await;
    }
    let ip = client_ip(&state, request.extensions(), request.headers());
    let prefix = state.config.limits.rate_limit_ipv6_prefix;
    let client = client_key(ip, prefix);
    match state.api_limiter.check(&client, &network_group(ip, prefix), Instant::now()) {
        Decision::Allowed { .. } => next.run(request).await,
        Decision::Limited { retry_after } => {
            tracing::warn!(%client, "API rate limit reached");
            state.metrics.rate_limited(Limiter::Api);
            too_many_requests(retry_after)
        }
    }
}

/// 429 with `Retry-After` in whole seconds.
#[must_use]
pub fn too_many_requests(retry_after: Duration) -> Response {
    let seconds = retry_after.as_secs().max(1);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("Too many requests. Try again in {seconds} seconds."),
    )
    .with_retry_after(retry_after)
    .into_response()
}
