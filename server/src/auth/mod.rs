//! Accounts and sign-in. This groundwork: the password policy.

pub mod password_policy;
