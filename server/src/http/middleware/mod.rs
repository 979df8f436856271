//! Layers around every route: the API rate limit, CORS, compression of the bundle, security
//! headers and request logs.

pub mod api_rate_limit;
pub mod compression;
pub mod cors;
pub mod request_log;
pub mod security_headers;
