//! Security headers: pages carry a nonce-based CSP that matches their inline scripts; every other
//! response denies everything; HSTS only when the public URL is https.

use crate::common;

use axum::http::{HeaderMap, header};
use common::{TestDatabase, app, app_with_config, body_text, config, get};

fn header_value<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("missing {name}: {headers:?}"))
}

fn assert_common_headers(headers: &HeaderMap) {
    assert_eq!(header_value(headers, "x-content-type-options"), "nosniff");
    assert_eq!(header_value(headers, "x-frame-options"), "DENY");
    assert_eq!(header_value(headers, "referrer-policy"), "strict-origin-when-cross-origin");
    assert_eq!(header_value(headers, "cross-origin-opener-policy"), "same-origin");
}

#[tokio::test]
async fn pages_allow_only_scripts_with_this_responses_nonce() {
    let test_db = TestDatabase::migrated().await;
    let router = app(test_db.pool.clone());
    let first = get(&router, "/").await;
    assert_common_headers(first.headers());
    let policy = header_value(first.headers(), "content-security-policy").to_owned();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let nonce = policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).unwrap().to_owned();
    assert!(nonce.len() >= 16, "{nonce}");
    let html = body_text(first).await;
    assert!(html.contains(&format!(r#"nonce="{nonce}""#)), "the hydration script carries the nonce: {html}");

    let second = get(&router, "/").await;
    let second_policy = header_value(second.headers(), "content-security-policy");
    assert!(!second_policy.contains(&nonce), "a fresh nonce per response");

    // The 404 page is a page too.
    let missing = get(&router, "/no/such/page").await;
    assert!(header_value(missing.headers(), "content-security-policy").contains("'nonce-"));
}

#[tokio::test]
async fn api_responses_deny_everything_and_no_hsts_over_plain_http() {
    let test_db = TestDatabase::migrated().await;
    let response = get(&app(test_db.pool.clone()), "/healthz").await;
    assert_common_headers(response.headers());
    assert_eq!(
        header_value(response.headers(), "content-security-policy"),
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
    );
    assert!(response.headers().get(header::STRICT_TRANSPORT_SECURITY).is_none());
}

#[tokio::test]
async fn hsts_is_sent_when_users_reach_the_app_over_https() {
    let test_db = TestDatabase::migrated().await;
    let router = app_with_config(test_db.pool.clone(), config(&[("PUBLIC_URL", "https://pingvas.example")]));
    for path in ["/healthz", "/"] {
        let response = get(&router, path).await;
        assert_eq!(
            header_value(response.headers(), "strict-transport-security"),
            "max-age=63072000; includeSubDomains"
        );
    }
}
