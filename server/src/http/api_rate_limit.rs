//! 100 requests per minute per client IP on the API (`/api/…`), answered 429 with `Retry-After`
//! beyond that (SECURITY.md 33). Pages, static files and probes are not counted.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::{Duration, Instant},
};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, StatusCode, header::RETRY_AFTER},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{AppState, error::ApiError};
use crate::rate_limit::{Decision, RateLimiter};

/// Requests one client IP may make to the API per minute.
pub const API_REQUESTS_PER_MINUTE: u32 = 100;

/// The limiter for the API, shared by every request.
#[must_use]
pub fn api_limiter() -> RateLimiter<IpAddr> {
    RateLimiter::new(API_REQUESTS_PER_MINUTE, Duration::from_secs(60))
}

/// Middleware: counts `/api/…` requests per client IP and refuses those over the limit.
pub async fn limit_api_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    // Served with connect info, so the peer is always known; a router used without it (some
    // tests) shares one bucket rather than going unlimited.
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    let client = state.config.client_ip_source.client_ip(peer, request.headers());
    match state.api_limiter.check(&client, Instant::now()) {
        Decision::Allowed { .. } => next.run(request).await,
        Decision::Limited { retry_after } => {
            tracing::warn!(%client, "API rate limit reached");
            too_many_requests(retry_after)
        }
    }
}

/// 429 with `Retry-After` in whole seconds.
#[must_use]
pub fn too_many_requests(retry_after: Duration) -> Response {
    let seconds = retry_after.as_secs().max(1);
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("Too many requests. Try again in {seconds} seconds."),
    )
    .into_response();
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
    response
}
