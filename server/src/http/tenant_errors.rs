//! Ids from paths.

use uuid::Uuid;

use super::error::ApiError;
use pingvas_core::tenancy::TenantError;

/// An id from the path (typed by where it goes); anything that is not a UUID cannot be one of the caller's rows (404).
///
/// # Errors
/// 404 for text that is not a UUID.
pub fn parse_id<Id: From<Uuid>>(raw: &str) -> Result<Id, ApiError> {
    Uuid::parse_str(raw).map(Id::from).map_err(|_| TenantError::NotFound.into())
}
