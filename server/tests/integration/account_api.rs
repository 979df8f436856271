//! The account routes beyond the security list: profile read and edit, session listing and
//! revocation, 401 without a token, and the routes' presence in the OpenAPI document.

use crate::common;

use axum::http::StatusCode;
use common::{PEER, TestDatabase, app, body_json, call, get, get_as, login, refresh, register, send_as};
use serde_json::json;

#[tokio::test]
async fn the_profile_shows_plan_and_quota_and_edits_are_validated() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register(&app, "Ada@Example.com").await;
    let me = body_json(get_as(&app, "/api/v1/users/me", &ada.bearer()).await).await;
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["subscription_plan"], "free");
    assert_eq!(me["quota"]["limit"], 100);
    assert_eq!(me["quota"]["used"], 0);
    assert_eq!(me["quota"]["remaining"], 100);
    assert!(me["quota"]["resets_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!((me["has_password"].as_bool(), me["email_verified"].as_bool()), (Some(true), Some(false)));

    let patch =
        async |body: serde_json::Value| send_as(&app, "PATCH", "/api/v1/users/me", &ada, Some(body)).await;
    let response = patch(json!({"full_name": "Ada Lovelace", "username": "Ada_L", "timezone": "Europe/London", "locale": "en-GB"})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let me = body_json(response).await;
    assert_eq!((me["full_name"].as_str(), me["username"].as_str()), (Some("Ada Lovelace"), Some("ada_l")));
    assert_eq!((me["timezone"].as_str(), me["locale"].as_str()), (Some("Europe/London"), Some("en-GB")));

    let response = patch(json!({"timezone": "Mars/Olympus_Mons"})).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body_json(response).await["error"]["field"], "timezone");

    let grace = register(&app, "grace@example.com").await;
    let taken = send_as(&app, "PATCH", "/api/v1/users/me", &grace, Some(json!({"username": "ada_l"}))).await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert_eq!(body_json(taken).await["error"]["code"], "username_taken");
}

#[tokio::test]
async fn sessions_are_listed_per_device_and_revoking_one_signs_only_that_device_out() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let laptop = register(&app, "ada@example.com").await;
    let phone = login(&app, "ada@example.com").await;
    // A refresh rotates the token but is still the same session.
    refresh(&app, &phone.cookie).await;

    let sessions = body_json(get_as(&app, "/api/v1/auth/sessions", &laptop.bearer()).await).await;
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let current: Vec<bool> = sessions.iter().map(|s| s["current"].as_bool().unwrap()).collect();
    assert_eq!(current.iter().filter(|c| **c).count(), 1);
    assert!(sessions.iter().all(|s| s["ip_address"] == PEER));
    let phone_id =
        sessions.iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();

    // Another user cannot revoke it, nor learn whether it exists.
    let grace = register(&app, "grace@example.com").await;
    let path = format!("/api/v1/auth/sessions/{phone_id}");
    let foreign = send_as(&app, "DELETE", &path, &grace, None).await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    let not_an_id = send_as(&app, "DELETE", "/api/v1/auth/sessions/xyz", &grace, None).await;
    assert_eq!(not_an_id.status(), StatusCode::NOT_FOUND);
    assert_eq!(get_as(&app, "/api/v1/users/me", &phone.bearer()).await.status(), StatusCode::OK);

    let revoked = send_as(&app, "DELETE", &path, &laptop, None).await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(get_as(&app, "/api/v1/users/me", &phone.bearer()).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(get_as(&app, "/api/v1/users/me", &laptop.bearer()).await.status(), StatusCode::OK);
    let again = send_as(&app, "DELETE", &path, &laptop, None).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_account_route_is_documented_and_protected_ones_refuse_anonymous_callers() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let doc = body_json(get(&app, "/api/v1/openapi.json").await).await;
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/auth/register", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/refresh", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/auth/sessions", "get"),
        ("/api/v1/auth/sessions/{id}", "delete"),
        ("/api/v1/users/me", "get"),
        ("/api/v1/users/me", "patch"),
        ("/api/v1/users/me/password", "post"),
    ] {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is not documented");
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");

    // Every operation that declares bearer security refuses a request without a token.
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            if operation.get("security").is_none() {
                continue;
            }
            let concrete = path.replace("{id}", "00000000-0000-4000-8000-000000000000");
            let body = matches!(method.as_str(), "post" | "patch").then(|| json!({}));
            let response = call(&app, &method.to_uppercase(), &concrete, PEER, &[], body).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        }
    }
}

#[tokio::test]
async fn the_first_superuser_is_made_from_the_command_line_core() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let accounts = pingvas_core::accounts::Accounts::new(test_db.pool.clone(), &common::config(&[]));

    // No account and no password: nothing is created.
    assert!(matches!(
        accounts.make_superuser("root@example.com", None).await,
        Err(pingvas_core::accounts::AccountError::NotFound)
    ));
    // With a password, the account is created with both rights and signs in normally.
    let (created, was_created) =
        accounts.make_superuser("root@example.com", Some(common::STRONG_PASSWORD.into())).await.unwrap();
    assert!(was_created);
    let root = common::login(&app, "root@example.com").await;
    let me = body_json(get_as(&app, "/api/v1/users/me", &root.bearer()).await).await;
    assert_eq!((me["is_superuser"].as_bool(), me["is_staff"].as_bool()), (Some(true), Some(true)));
    assert_eq!(me["user_id"].as_str(), Some(created.to_string().as_str()));

    // An existing account is promoted, its password untouched.
    let ada = register(&app, "ada@example.com").await;
    let (promoted, was_created) = accounts.make_superuser("ADA@example.com", None).await.unwrap();
    assert!(!was_created);
    assert_eq!(promoted.to_string(), ada.user_id);
    assert!(accounts.make_superuser("root2@example.com", Some("short".into())).await.is_err());
}
