//! The types the browser, the UI's server functions and the REST API exchange, the plan table and
//! the shape of a refusal. They live in this one crate, which both the wasm bundle and the server
//! compile, so the two sides can never disagree on a shape; nothing here touches a database.

pub mod account;
pub mod admin;
pub mod billing;
pub mod boards;
pub mod error;
pub mod generation;
pub mod ids;
pub mod images;
pub mod plans;
pub mod refusal;
pub mod text;
pub mod workflows;
