//! CORS: only configured origins may call the API from scripts, with credentials; the refresh
//! and logout routes accept them as well as the app's own origin.

use crate::common;

use axum::http::StatusCode;
use common::{PEER, TestDatabase, app_with_config, call, config, register};

const STUDIO: &str = "https://studio.example";

#[tokio::test]
async fn configured_origins_get_credentialed_cors_and_others_get_none() {
    let test_db = TestDatabase::migrated().await;
    let app = app_with_config(test_db.pool.clone(), config(&[("CORS_ALLOWED_ORIGINS", STUDIO)]));
    let preflight = |origin: &'static str| {
        let app = app.clone();
        async move {
            call(
                &app,
                "OPTIONS",
                "/api/v1/users/me",
                PEER,
                &[
                    ("origin", origin),
                    ("access-control-request-method", "GET"),
                    ("access-control-request-headers", "authorization"),
                ],
                None,
            )
            .await
        }
    };
    let allowed = preflight(STUDIO).await;
    assert_eq!(allowed.headers()["access-control-allow-origin"], STUDIO);
    assert_eq!(allowed.headers()["access-control-allow-credentials"], "true");
    let allowed_headers = allowed.headers()["access-control-allow-headers"].to_str().unwrap().to_lowercase();
    assert!(allowed_headers.contains("authorization"), "{allowed_headers}");

    let refused = preflight("https://evil.example").await;
    // Without Allow-Origin the browser withholds the response (tower-http still sends
    // Allow-Credentials, which means nothing on its own).
    assert!(refused.headers().get("access-control-allow-origin").is_none());

    // A configured origin may use the refresh cookie; a foreign one may not.
    let user = register(&app, "ada@example.com").await;
    let from = |origin: &'static str| {
        let app = app.clone();
        let cookie = user.cookie.clone();
        async move {
            call(&app, "POST", "/api/v1/auth/refresh", PEER, &[("cookie", &cookie), ("origin", origin)], None)
                .await
        }
    };
    assert_eq!(from("https://evil.example").await.status(), StatusCode::FORBIDDEN);
    let response = from(STUDIO).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], STUDIO);
}

#[tokio::test]
async fn without_configured_origins_no_cross_origin_caller_is_allowed() {
    let test_db = TestDatabase::migrated().await;
    let app = app_with_config(test_db.pool.clone(), config(&[]));
    let response = call(
        &app,
        "OPTIONS",
        "/api/v1/auth/login",
        PEER,
        &[("origin", "https://studio.example"), ("access-control-request-method", "POST")],
        None,
    )
    .await;
    assert!(response.headers().get("access-control-allow-origin").is_none());
}
