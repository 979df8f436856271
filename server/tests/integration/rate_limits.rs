//! SECURITY.md 33 (API part): the 101st API request per minute from one client IP is refused with
//! 429 and `Retry-After`; forged forwarding headers from an untrusted peer change nothing (41);
//! IPv6 clients count by their /64 (40).

use crate::common;

use axum::http::StatusCode;
use common::{TestDatabase, app, app_with_config, body_json, config, get_from};

const API_PATH: &str = "/api/v1/openapi.json";

#[tokio::test]
async fn the_101st_api_request_in_a_minute_is_refused_and_forged_x_forwarded_for_does_not_help() {
    let test_db = TestDatabase::migrated().await;
    let router = app(test_db.pool.clone());
    for i in 0..100 {
        // A different forged address every time: without a trusted proxy it must be ignored.
        let forged = format!("198.51.100.{i}");
        let response = get_from(&router, "203.0.113.1", API_PATH, &[("x-forwarded-for", &forged)]).await;
        assert_eq!(response.status(), StatusCode::OK, "request {}", i + 1);
    }
    let refused = get_from(&router, "203.0.113.1", API_PATH, &[("x-forwarded-for", "198.51.100.250")]).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(body_json(refused).await["error"]["code"], "rate_limited");

    // Another client is unaffected, and pages and probes are not API requests.
    assert_eq!(get_from(&router, "203.0.113.2", API_PATH, &[]).await.status(), StatusCode::OK);
    assert_eq!(get_from(&router, "203.0.113.1", "/", &[]).await.status(), StatusCode::OK);
    assert_eq!(get_from(&router, "203.0.113.1", "/healthz", &[]).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn behind_a_trusted_proxy_clients_are_told_apart_by_the_header_it_sets() {
    let test_db = TestDatabase::migrated().await;
    let router = app_with_config(test_db.pool.clone(), config(&[("TRUSTED_PROXIES", "10.0.0.0/24")]));
    let proxy = "10.0.0.1";
    for _ in 0..100 {
        let response =
            get_from(&router, proxy, API_PATH, &[("x-forwarded-for", "1.1.1.1, 203.0.113.7")]).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    // The same client behind the proxy, whatever it puts in front of the proxy's entry.
    let refused = get_from(&router, proxy, API_PATH, &[("x-forwarded-for", "9.9.9.9, 203.0.113.7")]).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let other = get_from(&router, proxy, API_PATH, &[("x-forwarded-for", "203.0.113.8")]).await;
    assert_eq!(other.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_forwarded_header_is_believed_only_from_a_trusted_proxy() {
    let test_db = TestDatabase::migrated().await;
    let router = app_with_config(test_db.pool.clone(), config(&[("TRUSTED_PROXIES", "10.0.0.0/24")]));
    // 10.0.1.1 is outside the trusted network: its header is forged, so its own address counts.
    for i in 0..100 {
        let forged = format!("198.51.100.{i}");
        let response = get_from(&router, "10.0.1.1", API_PATH, &[("x-forwarded-for", &forged)]).await;
        assert_eq!(response.status(), StatusCode::OK, "request {}", i + 1);
    }
    let refused = get_from(&router, "10.0.1.1", API_PATH, &[("x-forwarded-for", "198.51.100.200")]).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn ipv6_clients_rotating_addresses_inside_one_64_share_one_allowance() {
    let test_db = TestDatabase::migrated().await;
    let router = app_with_config(test_db.pool.clone(), config(&[("TRUSTED_PROXIES", "127.0.0.1")]));
    for i in 0..100_u32 {
        let address = format!("2001:db8:7:7:{:x}:{:x}::1", i * 7919 % 65_536, i);
        let response = get_from(&router, "127.0.0.1", API_PATH, &[("x-forwarded-for", &address)]).await;
        assert_eq!(response.status(), StatusCode::OK, "request {}", i + 1);
    }
    let same_64 =
        get_from(&router, "127.0.0.1", API_PATH, &[("x-forwarded-for", "2001:db8:7:7:ffff::9")]).await;
    assert_eq!(same_64.status(), StatusCode::TOO_MANY_REQUESTS);
    let next_64 = get_from(&router, "127.0.0.1", API_PATH, &[("x-forwarded-for", "2001:db8:7:8::1")]).await;
    assert_eq!(next_64.status(), StatusCode::OK);
}
