//! Gzip for the app's own static files: the wasm bundle, its JavaScript and the stylesheet, for
//! browsers that accept it. Release builds (`--precompress`) ship `.br`/`.gz` files beside them,
//! which the file handler sends as they are (brotli first); this layer then leaves them alone and
//! compresses only what was not precompressed (development builds). Pages, API answers and event
//! streams are left alone: streamed HTML and server-sent events must not wait in an encoder's
//! buffer, and JSON answers are small.

use axum::http::{Extensions, HeaderMap, StatusCode, Version, header::CONTENT_TYPE};
use tower_http::compression::{CompressionLayer, Predicate};

/// The content types worth compressing on the way out.
const COMPRESSED_TYPES: [&str; 4] =
    ["application/wasm", "text/javascript", "application/javascript", "text/css"];

/// Whether a response of this status and headers is one of the static files to compress.
fn is_static_file(status: StatusCode, _: Version, headers: &HeaderMap, _: &Extensions) -> bool {
    status.is_success()
        && headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|content_type| COMPRESSED_TYPES.iter().any(|t| content_type.starts_with(t)))
}

/// The layer that compresses them.
#[must_use]
pub fn layer() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new().compress_when(is_static_file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, content_type.parse().unwrap());
        headers
    }

    #[test]
    fn only_the_bundle_its_script_and_the_stylesheet_are_compressed() {
        let compressed = |status, content_type| {
            is_static_file(status, Version::HTTP_11, &headers(content_type), &Extensions::new())
        };
        for content_type in ["application/wasm", "text/javascript; charset=utf-8", "text/css"] {
            assert!(compressed(StatusCode::OK, content_type), "{content_type}");
        }
        for content_type in ["text/html; charset=utf-8", "text/event-stream", "application/json", "image/png"]
        {
            assert!(!compressed(StatusCode::OK, content_type), "{content_type}");
        }
        assert!(!compressed(StatusCode::NOT_FOUND, "text/css"));
    }
}
