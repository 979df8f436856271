//! Accounts and sign-in. Groundwork so far, each piece pure and unit tested: email parsing,
//! password policy and hashing, access and refresh tokens, the refresh cookie and the Origin
//! check, and encryption of provider tokens at rest. Schema, routes, OAuth and UI come next.

pub mod cookie;
pub mod email;
pub mod opaque_token;
pub mod password_hash;
pub mod password_policy;
pub mod refresh_token;
pub mod token_cipher;
pub mod tokens;
