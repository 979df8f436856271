//! JSON request bodies whose rejections (wrong content type, malformed JSON, wrong shape) answer
//! in the API's error format rather than axum's plain text, and which never carry a NUL
//! character (PostgreSQL cannot store one; every route is covered here at once).

use axum::{
    Json,
    body::Bytes,
    extract::{FromRequest, Request, rejection::JsonRejection},
    http::{HeaderMap, StatusCode, header::CONTENT_TYPE},
};
use contract::text::json_has_nul;
use serde::de::DeserializeOwned;

use crate::http::error::ApiError;

/// `application/json` or `application/…+json`, as axum's own `Json` accepts.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(essence) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = essence.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence
        .strip_prefix("application/")
        .is_some_and(|subtype| subtype == "json" || subtype.ends_with("+json"))
}

/// Like [`Json`], with [`ApiError`] rejections.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the request body as JSON with Content-Type: application/json.",
            ));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            ApiError::new(rejection.status(), "invalid_request", "The request body could not be read.")
        })?;
        if json_has_nul(&bytes) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_text",
                "Text may not contain the NUL character (\\u0000).",
            ));
        }
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(body_error(&rejection)),
        }
    }
}

fn body_error(rejection: &JsonRejection) -> ApiError {
    let (code, message) = match rejection {
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
