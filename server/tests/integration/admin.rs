//! Administration: only superusers may find and change users; every change is audited; a
//! deactivated user is signed out everywhere at once.

use crate::common;

use axum::http::StatusCode;
use common::{PEER, SignedIn, TestDatabase, app, body_json, get_as, refresh, register, send_as};
use serde_json::json;

async fn superuser(test_db: &TestDatabase, app: &axum::Router) -> SignedIn {
    common::superuser(&test_db.pool, app, "root@example.com").await
}

#[tokio::test]
async fn only_superusers_may_list_or_change_users() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register(&app, "ada@example.com").await;
    let response = get_as(&app, "/api/v1/admin/users", &ada.bearer()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(body_json(response).await["error"]["message"], "Not enough permissions.");
    let path = format!("/api/v1/admin/users/{}", ada.user_id);
    let response = send_as(&app, "PATCH", &path, &ada, Some(json!({"subscription_plan": "studio"}))).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "not even on oneself");
    let me = body_json(get_as(&app, "/api/v1/users/me", &ada.bearer()).await).await;
    assert_eq!(me["subscription_plan"], "free");
}

#[tokio::test]
async fn a_superuser_finds_users_changes_plan_and_quota_and_every_change_is_audited() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let root = superuser(&test_db, &app).await;
    let ada = register(&app, "ada@example.com").await;
    register(&app, "bob@example.com").await;

    let found =
        body_json(get_as(&app, "/api/v1/admin/users?q=ADA&limit=500&offset=-3", &root.bearer()).await).await;
    assert_eq!(found["total"], 1);
    assert_eq!(found["items"][0]["email"], "ada@example.com");
    assert_eq!((found["offset"].as_i64(), found["limit"].as_i64()), (Some(0), Some(100)));
    // LIKE wildcards in the search are literal.
    let none = body_json(get_as(&app, "/api/v1/admin/users?q=%25", &root.bearer()).await).await;
    assert_eq!(none["total"], 0);

    let path = format!("/api/v1/admin/users/{}", ada.user_id);
    let patch = async |body: serde_json::Value| send_as(&app, "PATCH", &path, &root, Some(body)).await;
    let updated = body_json(patch(json!({"subscription_plan": "pro"})).await).await;
    assert_eq!(
        (updated["subscription_plan"].as_str(), updated["monthly_image_quota"].as_i64()),
        (Some("pro"), Some(1000))
    );
    let updated = body_json(patch(json!({"monthly_image_quota": 1500, "is_staff": true})).await).await;
    assert_eq!(
        (updated["monthly_image_quota"].as_i64(), updated["is_staff"].as_bool()),
        (Some(1500), Some(true))
    );
    let updated = body_json(patch(json!({"monthly_image_quota": null})).await).await;
    assert!(updated["monthly_image_quota"].is_null(), "null means unlimited");
    assert_eq!(patch(json!({"subscription_plan": "gold"})).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(patch(json!({"monthly_image_quota": -1})).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = send_as(
        &app,
        "PATCH",
        "/api/v1/admin/users/00000000-0000-4000-8000-000000000000",
        &root,
        Some(json!({"is_staff": true})),
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    let audit: Vec<(String, String, serde_json::Value)> = sqlx::query_as(
        "SELECT actor_id::text, target_id::text, changes FROM admin_audit_log ORDER BY audit_id",
    )
    .fetch_all(&test_db.owner_pool)
    .await
    .unwrap();
    assert_eq!(audit.len(), 3, "one row per successful change");
    assert!(audit.iter().all(|(actor, target, _)| *actor == root.user_id && *target == ada.user_id));
    assert_eq!(audit[0].2["subscription_plan"], "pro");
    // The application role may add to the log but not rewrite it.
    let rewrite = sqlx::query("DELETE FROM admin_audit_log").execute(&test_db.pool).await;
    assert!(rewrite.is_err());
}

#[tokio::test]
async fn deactivating_a_user_signs_them_out_everywhere_at_once() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let root = superuser(&test_db, &app).await;
    let ada = register(&app, "ada@example.com").await;
    let path = format!("/api/v1/admin/users/{}", ada.user_id);
    let response = send_as(&app, "PATCH", &path, &root, Some(json!({"is_active": false}))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(get_as(&app, "/api/v1/users/me", &ada.bearer()).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refresh(&app, &ada.cookie).await.status(), StatusCode::UNAUTHORIZED);
    let login = common::login_with(&app, PEER, "ada@example.com", common::STRONG_PASSWORD).await;
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
    let active: i64 =
        sqlx::query_scalar("SELECT count(*) FROM user_sessions WHERE user_id = $1::uuid AND is_active")
            .bind(&ada.user_id)
            .fetch_one(&test_db.pool)
            .await
            .unwrap();
    assert_eq!(active, 0);
}
