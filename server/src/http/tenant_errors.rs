//! How errors on tenant rows read over HTTP, and ids from paths.

use axum::http::StatusCode;
use uuid::Uuid;

use super::error::ApiError;
use crate::tenancy::TenantError;

impl From<TenantError> for ApiError {
    fn from(error: TenantError) -> Self {
        let message = error.to_string();
        match error {
            TenantError::Invalid { code, field, message } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).with_field(field)
            }
            TenantError::PlanRequired(_) => Self::new(StatusCode::FORBIDDEN, "plan_required", message),
            TenantError::NotFound => Self::new(StatusCode::NOT_FOUND, "not_found", message),
            TenantError::Conflict { code, .. } => Self::new(StatusCode::CONFLICT, code, message),
            TenantError::Forbidden => Self::new(StatusCode::FORBIDDEN, "forbidden", message),
            // Constraint names and values stay in the log (SECURITY.md 10).
            TenantError::Database(e) => Self::internal(&e),
        }
    }
}

/// An id from the path; anything that is not a UUID cannot be one of the caller's rows (404).
///
/// # Errors
/// 404 for text that is not a UUID.
pub fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| TenantError::NotFound.into())
}
