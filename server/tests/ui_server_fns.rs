//! The UI's server functions (`/api/v1/auth/ui/…`) over HTTP: same core and rules as the REST
//! routes, plus an Origin check on sign-in itself, since they accept plain form posts (login CSRF).

mod common;

use axum::{Router, http::StatusCode, response::Response};
use common::{STRONG_PASSWORD, TestDatabase, app, body_json, refresh_cookie};

const OWN_ORIGIN: &str = "http://127.0.0.1:3000";

/// Calls the UI server function `function` from `origin` with an optional cookie.
async fn post_form(app: &Router, function: &str, form: &str, origin: &str, cookie: Option<&str>) -> Response {
    let mut headers = vec![("origin", origin)];
    headers.extend(cookie.map(|c| ("cookie", c)));
    common::post_form(app, &format!("/api/v1/auth/ui/{function}"), form, &headers).await
}

fn credentials(email: &str, password: &str) -> String {
    format!("email={}&password={}", email.replace('@', "%40"), password.replace(' ', "+"))
}

#[tokio::test]
async fn sign_in_through_the_ui_sets_the_cookie_only_for_our_own_origin() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let form = credentials("ada@example.com", STRONG_PASSWORD);

    let forged = post_form(&app, "register", &form, "https://evil.example", None).await;
    assert!(refresh_cookie(&forged).is_none());
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&test_db.pool).await.unwrap();
    assert_eq!(users, 0);

    let registered = post_form(&app, "register", &form, OWN_ORIGIN, None).await;
    assert_eq!(registered.status(), StatusCode::OK);
    assert!(refresh_cookie(&registered).is_some());
    assert_eq!(body_json(registered).await["user"]["email"], "ada@example.com");

    let forged = post_form(&app, "login", &form, "https://evil.example", None).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(refresh_cookie(&forged).is_none());
    let signed_in = post_form(&app, "login", &form, OWN_ORIGIN, None).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let cookie = refresh_cookie(&signed_in).unwrap();

    // Refresh through the UI rotates the cookie; a foreign origin may not use it.
    let forged = post_form(&app, "refresh", "", "https://evil.example", Some(&cookie)).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let refreshed = post_form(&app, "refresh", "", OWN_ORIGIN, Some(&cookie)).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    assert!(refresh_cookie(&refreshed).is_some_and(|c| c != cookie));
}

#[tokio::test]
async fn ui_errors_carry_their_http_status() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let weak = post_form(&app, "register", &credentials("ada@example.com", "short"), OWN_ORIGIN, None).await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong =
        post_form(&app, "login", &credentials("ada@example.com", "not the password"), OWN_ORIGIN, None).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let anonymous = post_form(&app, "profile", "access_token=not-a-token", OWN_ORIGIN, None).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    // No cookie: refresh answers "signed out", not an error.
    let signed_out = post_form(&app, "refresh", "", OWN_ORIGIN, None).await;
    assert_eq!(signed_out.status(), StatusCode::OK);
    assert_eq!(body_json(signed_out).await, serde_json::Value::Null);
}
