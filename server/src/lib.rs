//! PingvasAI's server: configuration, database, HTTP surface and start-up.
//!
//! `main.rs` only parses the command line; everything here is a library so integration tests can
//! build the exact router the binary serves and call it without a network.

pub mod account_data;
pub mod accounts;
pub mod admin;
pub mod auth;
pub mod boards;
pub mod cli;
pub mod config;
pub mod db;
pub mod generation;
pub mod http;
pub mod ids;
pub mod images;
pub mod imaging;
pub mod job_events;
pub mod jobs;
pub mod links;
pub mod mail;
pub mod oauth;
pub mod queue;
pub mod quota;
pub mod rate_limit;
pub mod refusals;
pub mod secrets;
pub mod serve;
pub mod storage;
pub mod storage_budget;
pub mod telemetry;
pub mod tenancy;
pub mod worker;
pub mod workflows;
