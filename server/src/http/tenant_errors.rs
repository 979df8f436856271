//! Ids from paths.

use uuid::Uuid;

use super::error::ApiError;
use crate::tenancy::TenantError;

/// An id from the path; anything that is not a UUID cannot be one of the caller's rows (404).
///
/// # Errors
/// 404 for text that is not a UUID.
pub fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| TenantError::NotFound.into())
}
