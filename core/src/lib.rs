//! PingvasAI's server-side core: every operation the product offers, once. The REST API
//! (`server::http`) and the UI's server functions (`app::api`) both call these functions, so they
//! cannot drift apart; nothing here knows about routes or pages.
//!
//! Features: `accounts` (passwords, sessions, email flows), `oauth` (Google and Discord sign-in),
//! `tenancy` (the only way to tenant tables), `quota`, `generation` (requests, jobs, the queue,
//! workers and job events), `images` (the gallery), `boards`, `workflows`, `admin`,
//! `account_data` (export and deletion). Infrastructure: `config`, `db`, `storage`, `mail`,
//! `secrets`, `links` (signed URLs), `rate_limit`, `client_ip`, `metrics` (what operators scrape).

pub mod account_data;
pub mod accounts;
pub mod admin;
pub mod auth;
pub mod billing;
pub mod boards;
pub mod client_ip;
pub mod config;
pub mod db;
pub mod gallery;
pub mod generation;
pub mod images;
pub mod imaging;
pub mod links;
pub mod mail;
pub mod metrics;
pub mod oauth;
pub mod quota;
pub mod rate_limit;
pub mod refusals;
pub mod secrets;
mod services;
pub mod storage;
pub mod storage_budget;
pub mod tenancy;
pub mod workflows;

pub use services::{Core, CoreError, Services};
