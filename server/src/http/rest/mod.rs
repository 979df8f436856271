//! REST API v1's routes, one file per feature; each handler parses the request, calls the core
//! (`pingvas_core`) and maps its answer. `openapi.rs` registers them.

pub mod account_data;
pub mod admin;
pub mod auth;
pub mod billing;
pub mod boards;
pub mod email;
pub mod gallery;
pub mod generation;
pub mod health;
pub mod oauth;
pub mod users;
pub mod workflows;
