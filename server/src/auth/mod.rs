//! Accounts and sign-in. Groundwork so far: password policy and hashing, access tokens.

pub mod password_hash;
pub mod password_policy;
pub mod tokens;
