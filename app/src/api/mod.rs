//! The types the UI, the server functions and the REST API exchange, and the UI's server
//! functions. They live here, in the crate both sides compile, so the browser and the server can
//! never disagree on a shape.

pub mod account;
pub mod account_fns;
pub mod admin;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod boards;
pub mod error;
pub mod gallery_fns;
pub mod generation;
pub mod images;
pub mod refusal;
pub mod tenant_fns;
pub mod text;
pub mod workflows;
