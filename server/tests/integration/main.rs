//! The server's integration tests, in one binary: each module below was once a test target of
//! its own, and one link of the release test binary instead of twenty is minutes off every CI run.
//! Each test still gets a fresh PostgreSQL database (`common::TestDatabase`).

// Test helpers and tests fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod account_api;
mod account_data;
mod admin;
mod auth_checks;
mod auth_passwords;
mod auth_tokens;
mod billing;
mod common;
mod cors;
mod database_roles;
mod edits;
mod email_flows;
mod embedded_postgres;
mod foundation;
mod images_api;
mod metrics;
mod migrations;
mod nul_characters;
mod oauth;
mod queue;
mod quotas;
mod rate_limits;
mod security_headers;
mod showcase;
mod shutdown;
mod storage;
mod tenancy;
mod ui_server_fns;
