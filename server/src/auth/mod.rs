//! Accounts and sign-in. Groundwork so far: password policy and hashing.

pub mod password_hash;
pub mod password_policy;
