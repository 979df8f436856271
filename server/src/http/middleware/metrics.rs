//! Request durations for `/metrics`, labelled with the route the router matched — its pattern,
//! such as `/api/v1/images/{id}`, never the raw path — so that the label set stays bounded.

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use tokio::time::Instant;

use crate::http::AppState;

/// The route label of what no route matched (static files, unknown pages, scans).
const UNMATCHED: &str = "unmatched";

/// Middleware: times each request to its response's head and counts it by method, matched route
/// and status.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    let route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    state.metrics.http_request(&method, route, response.status().as_u16(), started.elapsed());
    response
}
