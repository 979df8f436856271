//! How browsers may keep the bundle (`/pkg/`: the wasm, its script, the split parts, the
//! stylesheet): under fixed names they must ask every time whether a file changed (`no-cache`: a
//! 304 without a body when it did not), or a browser could pair a new release's page with an old
//! bundle. Content-hashed names, which could be kept a year without asking, stay off: cargo-leptos'
//! `hash-files` breaks the split bundle (see Cargo.toml).

use axum::{
    extract::Request,
    http::{HeaderValue, StatusCode, header::CACHE_CONTROL},
    middleware::Next,
    response::Response,
};

/// What a bundle file gets: cached, but revalidated on every use.
pub const REVALIDATE: &str = "no-cache";

/// Whether `path` names a bundle file.
#[must_use]
pub fn is_bundle_path(path: &str) -> bool {
    path.starts_with("/pkg/")
}

/// Whether a response with `status` carries the file's policy (a 304 repeats it).
#[must_use]
pub fn carries_policy(status: StatusCode) -> bool {
    status.is_success() || status == StatusCode::NOT_MODIFIED
}

/// The middleware. It decides on the path before the call, so nothing of the request is kept
/// across it: this runs for every request.
pub async fn set(request: Request, next: Next) -> Response {
    let bundle = is_bundle_path(request.uri().path());
    let mut response = next.run(request).await;
    if bundle && carries_policy(response.status()) {
        response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(REVALIDATE));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_files_are_revalidated_and_nothing_else_is_touched() {
        assert!(is_bundle_path("/pkg/pingvas.wasm"));
        assert!(is_bundle_path("/pkg/__wasm_split.______________________.js"));
        for page_or_api in ["/", "/gallery", "/api/v1/images", "/favicon.svg", "/pkgs/x.js"] {
            assert!(!is_bundle_path(page_or_api), "{page_or_api}");
        }
        assert!(carries_policy(StatusCode::OK));
        assert!(carries_policy(StatusCode::NOT_MODIFIED));
        assert!(!carries_policy(StatusCode::NOT_FOUND));
    }
}
