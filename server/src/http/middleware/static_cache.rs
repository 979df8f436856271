//! How long browsers may keep the bundle (`/pkg/`: the wasm, its script, the split parts, the
//! stylesheet). Under fixed names they must ask every time whether a file changed (`no-cache`: a
//! 304 without a body when it did not), or a browser could pair a new release's page with an old
//! bundle. Under content-hashed names (cargo-leptos' `hash-files`, `LEPTOS_HASH_FILES=true`) a
//! file's name changes whenever its content does, so they may be kept a year without asking.
//! This build keeps fixed names: `hash-files` breaks the split bundle (see Cargo.toml).

use axum::{
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header::CACHE_CONTROL},
    middleware::Next,
    response::Response,
};

/// What a hashed file may be cached for: a year, never revalidated.
pub const HASHED: &str = "public, max-age=31536000, immutable";
/// What an unhashed bundle file gets: cached, but revalidated on every use.
pub const REVALIDATE: &str = "no-cache";

/// The `Cache-Control` of a response to `path`, if it is a bundle file. wasm-bindgen's
/// `snippets/` keep their names in hashed builds, so they are revalidated too.
#[must_use]
pub fn policy(path: &str, status: StatusCode, hashed_names: bool) -> Option<&'static str> {
    let file = path.strip_prefix("/pkg/")?;
    // A 304 repeats the policy, so the browser's copy is fresh again for as long.
    if !status.is_success() && status != StatusCode::NOT_MODIFIED {
        return None;
    }
    Some(if hashed_names && !file.starts_with("snippets/") { HASHED } else { REVALIDATE })
}

/// The middleware: `hashed_names` is whether this site was built with hashed file names.
pub async fn set(State(hashed_names): State<bool>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    if let Some(value) = policy(&path, response.status(), hashed_names) {
        response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_bundle_files_are_kept_a_year_and_the_rest_of_the_bundle_is_revalidated() {
        let ok = StatusCode::OK;
        assert_eq!(policy("/pkg/pingvas.G3kx_Q.wasm", ok, true), Some(HASHED));
        assert_eq!(policy("/pkg/__wasm_split.abc.js", ok, true), Some(HASHED));
        assert_eq!(policy("/pkg/snippets/web-sys-1/inline0.js", ok, true), Some(REVALIDATE));
        assert_eq!(policy("/pkg/pingvas.wasm", ok, false), Some(REVALIDATE));
        assert_eq!(policy("/pkg/pingvas.css", StatusCode::NOT_MODIFIED, false), Some(REVALIDATE));
        assert_eq!(policy("/pkg/missing.wasm", StatusCode::NOT_FOUND, true), None);
        for page_or_api in ["/", "/gallery", "/api/v1/images", "/favicon.svg", "/pkgs/x.js"] {
            assert_eq!(policy(page_or_api, ok, true), None, "{page_or_api}");
        }
    }
}
