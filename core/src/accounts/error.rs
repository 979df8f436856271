//! The one error type of the accounts core. Each variant carries what a person should read; the
//! details of internal failures stay in the log.

use std::time::Duration;

use thiserror::Error;

/// Why an account operation did not happen.
#[derive(Debug, Error)]
pub enum AccountError {
    /// A field failed validation (422).
    #[error("{message}")]
    Invalid {
        /// Stable snake_case code, e.g. `weak_password`.
        code: &'static str,
        /// The request field at fault.
        field: &'static str,
        /// What to change, for people.
        message: String,
    },
    /// Email or password is wrong, or the account does not exist (401, deliberately the same).
    #[error("Email or password is incorrect.")]
    InvalidCredentials,
    /// The current password given to change it is wrong (401).
    #[error("Your current password is incorrect.")]
    WrongPassword,
    /// The email already has an account (409).
    #[error("An account with this email already exists. Sign in instead.")]
    EmailTaken,
    /// The address is verified already; there is nothing to resend (409).
    #[error("Your email is already verified.")]
    AlreadyVerified,
    /// An account without a password must have signed in with its provider moments ago (403).
    #[error("For your safety, sign out and sign in again with your provider, then retry within 10 minutes.")]
    ReauthenticationRequired,
    /// The username belongs to someone else (409).
    #[error("This username is taken; choose another.")]
    UsernameTaken,
    /// No valid token or session: missing, expired, revoked or reused (401).
    #[error("Your session has ended. Sign in again.")]
    Unauthenticated,
    /// The object does not exist or is not the caller's (404; never says which).
    #[error("Not found.")]
    NotFound,
    /// A provider sign-in that may not proceed (unverified email, disabled account…).
    #[error("{0}")]
    ProviderRefused(super::linking::LinkRefusal),
    /// Too many attempts (429); try again after the duration.
    #[error("Too many attempts. Try again in {} seconds.", .0.as_secs().max(1))]
    RateLimited(Duration),
    /// Every password-hashing slot stayed busy for the configured wait (503); try again after
    /// the duration (SECURITY.md 42).
    #[error("Many people are signing in right now. Try again in {} seconds.", .0.as_secs().max(1))]
    Busy(Duration),
    /// Every export slot is taken, or this account's export is already being written (503);
    /// try again after the duration.
    #[error("Your export cannot start right now (one is being prepared). Try again in {} seconds.", .0.as_secs().max(1))]
    ExportBusy(Duration),
    /// Something failed on our side (500); the detail is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AccountError {
    /// A 422 for `field`.
    #[must_use]
    pub fn invalid(code: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { code, field, message: message.into() }
    }
}

impl From<crate::auth::password_hash::HashError> for AccountError {
    fn from(error: crate::auth::password_hash::HashError) -> Self {
        match error {
            crate::auth::password_hash::HashError::Busy(after) => Self::Busy(after),
            failed @ crate::auth::password_hash::HashError::Failed(_) => Self::Internal(failed.to_string()),
        }
    }
}

impl From<sqlx::Error> for AccountError {
    fn from(error: sqlx::Error) -> Self {
        Self::Internal(format!("database: {error}"))
    }
}
