//! Query strings whose rejections (a value of the wrong type, a parameter that cannot be read)
//! answer in the API's error format rather than axum's plain text.

use axum::{
    extract::{FromRequestParts, Query},
    http::{StatusCode, request::Parts},
};
use serde::de::DeserializeOwned;

use crate::http::error::ApiError;

/// Like [`Query`], with [`ApiError`] rejections (400 `invalid_query`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            // serde's message names the parameter and what it expected, and never echoes values.
            Err(rejection) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("The query string is not valid: {}", rejection.body_text()),
            )),
        }
    }
}
