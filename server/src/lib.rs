//! PingvasAI's server: the HTTP surface (REST API v1 and the server-rendered UI), start-up and
//! the command line, over the core in `pingvas-core`.
//!
//! `main.rs` only parses the command line; everything here is a library so integration tests can
//! build the exact router the binary serves and call it without a network.

pub mod cli;
pub mod http;
pub mod probe;
pub mod serve;
pub mod telemetry;
pub mod worker_http;
