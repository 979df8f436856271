//! Accounts and sign-in. Groundwork so far: password policy and hashing, access and refresh
//! tokens, encryption of provider tokens at rest.

pub mod password_hash;
pub mod password_policy;
pub mod refresh_token;
pub mod token_cipher;
pub mod tokens;
