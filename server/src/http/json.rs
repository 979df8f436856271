//! JSON request bodies whose rejections (wrong content type, malformed JSON, wrong shape) answer
//! in the API's error format rather than axum's plain text.

use axum::{
    Json,
    extract::{FromRequest, Request, rejection::JsonRejection},
};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Like [`Json`], with [`ApiError`] rejections.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(body_error(&rejection)),
        }
    }
}

fn body_error(rejection: &JsonRejection) -> ApiError {
    let (code, message) = match rejection {
        JsonRejection::MissingJsonContentType(_) => (
            "unsupported_media_type",
            "Send the request body as JSON with Content-Type: application/json.".to_owned(),
        ),
        JsonRejection::JsonSyntaxError(_) => {
            ("invalid_json", "The request body is not valid JSON.".to_owned())
        }
        // serde's message names the missing or mistyped field, and never echoes values.
        JsonRejection::JsonDataError(e) => {
            ("invalid_request", format!("The request body is not valid: {}", e.body_text()))
        }
        _ => ("invalid_request", "The request body could not be read.".to_owned()),
    };
    ApiError::new(rejection.status(), code, message)
}
