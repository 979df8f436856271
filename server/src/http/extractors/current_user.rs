//! The authenticated caller, from `Authorization: Bearer <access token>`. Handlers that take a
//! [`CurrentUser`] answer 401 to everyone else before their body runs.

use axum::{
    extract::FromRequestParts,
    http::{header::AUTHORIZATION, request::Parts},
};

use crate::http::{AppState, error::ApiError};
use pingvas_core::accounts::CurrentUser;

/// The bearer token of a request, if it has one.
#[must_use]
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    bearer_token_of(&parts.headers)
}

/// The bearer token in `headers`, if there is one.
#[must_use]
pub fn bearer_token_of(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or_else(ApiError::unauthenticated)?;
        Ok(state.accounts.authenticate(token).await?)
    }
}
