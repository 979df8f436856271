//! Layers around every route: the API rate limit, CORS, compression and caching of the bundle,
//! security headers, request logs and request metrics.

pub mod api_rate_limit;
pub mod compression;
pub mod cors;
pub mod metrics;
pub mod request_log;
pub mod security_headers;
pub mod static_cache;
