//! SECURITY.md 35, found by `scripts/fuzz-api`: PostgreSQL cannot store a NUL character in text
//! or in JSON, so a request carrying one in any text field must be refused with a clear 4xx
//! before it reaches the database, never answered 500.

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{PEER, TestDatabase, app, body_json, call, register_verified, send_as, set_plan, superuser};
use contract::plans::Plan;
use serde_json::{Value, json};

const NUL: &str = "a\u{0}b";

#[tokio::test]
async fn a_nul_character_in_any_text_field_is_refused_with_a_clear_4xx() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    set_plan(&test_db.owner_pool, &ada, Plan::Pro).await;
    let admin = superuser(&test_db.owner_pool, &app, "root@example.com").await;
    let board =
        body_json(send_as(&app, "POST", "/api/v1/boards", &ada, Some(json!({"name": "Birds"}))).await).await;
    let board = board["board_id"].as_str().unwrap().to_owned();
    let workflow =
        send_as(&app, "POST", "/api/v1/workflows", &ada, Some(json!({"name": "Mine", "params": {}}))).await;
    let workflow = body_json(workflow).await["workflow_id"].as_str().unwrap().to_owned();

    let signed_in: Vec<(&str, String, Value)> = vec![
        ("POST", "/api/v1/images/generate".into(), json!({"prompt": NUL})),
        ("POST", "/api/v1/images/generate".into(), json!({"prompt": "penguin", "negative_prompt": NUL})),
        ("POST", "/api/v1/images/generate".into(), json!({"prompt": "penguin", "model": NUL})),
        ("POST", "/api/v1/images/generate".into(), json!({"prompt": "penguin", "scheduler": NUL})),
        ("POST", "/api/v1/boards".into(), json!({"name": NUL})),
        ("PATCH", format!("/api/v1/boards/{board}"), json!({"name": NUL})),
        ("POST", "/api/v1/workflows".into(), json!({"name": NUL, "params": {}})),
        ("POST", "/api/v1/workflows".into(), json!({"name": "Nul", "params": {"prompt": NUL}})),
        ("POST", "/api/v1/workflows".into(), json!({"name": "Nul key", "params": {NUL: 1}})),
        ("PATCH", format!("/api/v1/workflows/{workflow}"), json!({"name": NUL})),
        ("PATCH", format!("/api/v1/workflows/{workflow}"), json!({"params": {"prompt": NUL}})),
        ("PATCH", "/api/v1/users/me".into(), json!({"full_name": NUL})),
        ("PATCH", "/api/v1/users/me".into(), json!({"username": NUL})),
        ("PATCH", "/api/v1/users/me".into(), json!({"bio": NUL})),
        ("PATCH", "/api/v1/users/me".into(), json!({"locale": NUL})),
        ("PATCH", "/api/v1/users/me".into(), json!({"timezone": NUL})),
    ];
    for (method, path, body) in signed_in {
        let response = send_as(&app, method, &path, &ada, Some(body.clone())).await;
        let status = response.status();
        assert!(status.is_client_error(), "{method} {path} {body} answered {status}");
        assert!(body_json(response).await["error"]["message"].is_string(), "{method} {path} {body}");
    }
    let ada_id = ada.user_id.clone();
    let response = send_as(
        &app,
        "PATCH",
        &format!("/api/v1/admin/users/{ada_id}"),
        &admin,
        Some(json!({"subscription_plan": NUL})),
    )
    .await;
    assert!(response.status().is_client_error(), "admin plan answered {}", response.status());

    // The UI's server functions reach the same checks without the REST body guard.
    let ui_body = json!({"access_token": ada.access_token, "request": {"prompt": NUL}});
    let headers = [("origin", "http://127.0.0.1:3000"), ("accept", "application/json")];
    let response = call(&app, "POST", "/api/v1/ui/generate", PEER, &headers, Some(ui_body)).await;
    assert_eq!(response.status(), axum::http::StatusCode::UNPROCESSABLE_ENTITY, "the UI's generate");

    let anonymous = [
        ("/api/v1/auth/register", json!({"email": NUL, "password": "correct horse battery staple 42"})),
        (
            "/api/v1/auth/register",
            json!({"email": "nul@example.com", "password": "correct horse battery staple \u{0}", "full_name": "x"}),
        ),
        (
            "/api/v1/auth/register",
            json!({"email": "nul2@example.com", "password": "correct horse battery staple 42", "full_name": NUL}),
        ),
        ("/api/v1/auth/login", json!({"email": NUL, "password": "whatever it is"})),
        ("/api/v1/auth/login", json!({"email": "ada@example.com", "password": NUL})),
    ];
    for (path, body) in anonymous {
        let response = call(&app, "POST", path, PEER, &[], Some(body.clone())).await;
        let status = response.status();
        assert!(status.is_client_error(), "POST {path} {body} answered {status}");
    }
}
