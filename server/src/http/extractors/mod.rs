//! What handlers take from a request: the signed-in user, the client's address, and JSON bodies
//! and query strings that refuse bad input with the API's own error body.

pub mod client_context;
pub mod current_user;
pub mod json;
pub mod query;
