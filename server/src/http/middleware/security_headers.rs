//! Security headers on every response. Pages set their own nonce-based Content-Security-Policy
//! while rendering (`app::csp`); everything else (JSON, files) gets a deny-all policy.

use axum::{
    Router,
    http::{HeaderName, HeaderValue, header},
};
use tower_http::set_header::SetResponseHeaderLayer;

/// The policy for responses that are not pages: they load nothing and may not be framed.
pub const NON_PAGE_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// Two years, the HSTS preload list's minimum.
pub const HSTS: &str = "max-age=63072000; includeSubDomains";

fn if_not_present(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// Adds the headers to every response of `router`. `https`: users reach the app over TLS, so
/// browsers may be told to insist on it (HSTS is never sent for plain-http development).
pub fn apply(router: Router, https: bool) -> Router {
    let router = router
        .layer(if_not_present(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(if_not_present(header::X_FRAME_OPTIONS, "DENY"))
        .layer(if_not_present(header::REFERRER_POLICY, "strict-origin-when-cross-origin"))
        .layer(if_not_present(HeaderName::from_static("cross-origin-opener-policy"), "same-origin"))
        .layer(if_not_present(header::CONTENT_SECURITY_POLICY, NON_PAGE_POLICY));
    if https { router.layer(if_not_present(header::STRICT_TRANSPORT_SECURITY, HSTS)) } else { router }
}
