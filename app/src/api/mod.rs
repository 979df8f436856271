//! The types the UI, the server functions and the REST API exchange. They live here, in the
//! crate both sides compile, so the browser and the server can never disagree on a shape.

pub mod account;
