//! How the accounts core's errors read over HTTP.

use axum::http::StatusCode;

use super::error::ApiError;
use crate::accounts::AccountError;

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        let message = error.to_string();
        match error {
            AccountError::Invalid { code, field, message } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).with_field(field)
            }
            AccountError::InvalidCredentials => {
                Self::new(StatusCode::UNAUTHORIZED, "invalid_credentials", message)
            }
            AccountError::WrongPassword => {
                Self::new(StatusCode::UNAUTHORIZED, "wrong_password", message).with_field("current_password")
            }
            AccountError::EmailTaken => {
                Self::new(StatusCode::CONFLICT, "email_taken", message).with_field("email")
            }
            AccountError::UsernameTaken => {
                Self::new(StatusCode::CONFLICT, "username_taken", message).with_field("username")
            }
            AccountError::Unauthenticated => Self::unauthenticated(),
            AccountError::NotFound => Self::new(StatusCode::NOT_FOUND, "not_found", message),
            AccountError::RateLimited(after) => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message).with_retry_after(after)
            }
            AccountError::ProviderRefused(refusal) => {
                Self::new(StatusCode::FORBIDDEN, refusal.code(), message)
            }
            AccountError::Internal(detail) => Self::internal(&detail),
        }
    }
}
