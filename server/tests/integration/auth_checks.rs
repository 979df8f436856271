//! Access-token checks kept in memory (`pingvas_core::accounts::recent_checks`): answered without
//! the database while nothing changed, and dropped the moment something did — at once for this
//! instance's own revocations, within moments for another instance's or a change made in the
//! database directly (PostgreSQL notifications). Two `AppState`s over one database stand for two
//! server instances.

use std::time::{Duration, Instant};

use crate::common;

use axum::{Router, http::StatusCode};
use common::{
    PEER, STRONG_PASSWORD, TestDatabase, call, config, get_as, login, register, send_as, superuser,
};
use serde_json::json;
use server::http::{AppState, router};

const ME: &str = "/api/v1/users/me";

/// An instance whose checks live a full minute, so nothing below expires by age (and whose API
/// allowance the polling below cannot exhaust).
fn instance(pool: &sqlx::PgPool) -> (AppState, Router) {
    let vars = [
        ("AUTH_CHECK_CACHE_SECONDS", "60"),
        ("API_RATE_LIMIT_PER_MINUTE", "100000"),
        // Instances of one deployment share their signing key.
        ("JWT_SECRET_KEY", "auth-checks-test-secret-of-at-least-32-bytes"),
    ];
    let state = AppState::new(pool.clone(), common::leptos_options(), config(&vars)).expect("the app starts");
    (state.clone(), router(state))
}

/// Signs `bearer` in on `app` until its instance listens for changes and answers from memory.
async fn until_answered_from_memory(state: &AppState, app: &Router, bearer: &str) {
    let checks = state.core.accounts.recent_checks();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let before = checks.hits();
        assert_eq!(get_as(app, ME, bearer).await.status(), StatusCode::OK);
        if checks.hits() > before {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the instance never answered from memory (live: {})",
            checks.is_live()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How long until `bearer` is refused on `app` (panics after 60 s, SECURITY.md 43's bound: a
/// change that never arrived).
async fn until_refused(app: &Router, bearer: &str) -> Duration {
    let started = Instant::now();
    loop {
        let status = get_as(app, ME, bearer).await.status();
        if status == StatusCode::UNAUTHORIZED {
            return started.elapsed();
        }
        assert_eq!(status, StatusCode::OK);
        assert!(started.elapsed() < Duration::from_secs(60), "the change never reached this instance");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn logout(app: &Router, user: &common::SignedIn) {
    let response = call(
        app,
        "POST",
        "/api/v1/auth/logout",
        PEER,
        &[("authorization", &user.bearer()), ("origin", "http://127.0.0.1:3000")],
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn this_instances_own_revocations_refuse_the_very_next_request() {
    let test_db = TestDatabase::migrated().await;
    let (state, app) = instance(&test_db.pool);
    let laptop = register(&app, "ada@example.com").await;
    let phone = login(&app, "ada@example.com").await;
    let tablet = login(&app, "ada@example.com").await;
    for device in [&laptop, &phone, &tablet] {
        until_answered_from_memory(&state, &app, &device.bearer()).await;
    }

    // Sign-out (SECURITY.md 25): no waiting, the next request is refused.
    logout(&app, &tablet).await;
    assert_eq!(get_as(&app, ME, &tablet.bearer()).await.status(), StatusCode::UNAUTHORIZED);

    // A password change ends the other sessions (26).
    let response = send_as(
        &app,
        "POST",
        "/api/v1/users/me/password",
        &laptop,
        Some(json!({"current_password": STRONG_PASSWORD, "new_password": "a different horse battery staple 7"})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(get_as(&app, ME, &phone.bearer()).await.status(), StatusCode::UNAUTHORIZED);
    until_answered_from_memory(&state, &app, &laptop.bearer()).await;

    // Deactivation by an administrator (26) ends the rest.
    let admin = superuser(&test_db.pool, &app, "root@example.com").await;
    let response = send_as(
        &app,
        "PATCH",
        &format!("/api/v1/admin/users/{}", laptop.user_id),
        &admin,
        Some(json!({"is_active": false})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(get_as(&app, ME, &laptop.bearer()).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn another_instances_sign_out_reaches_this_one_within_moments_not_at_expiry() {
    let test_db = TestDatabase::migrated().await;
    let (state_a, app_a) = instance(&test_db.pool);
    let (_, app_b) = instance(&test_db.pool);
    let ada = register(&app_a, "ada@example.com").await;
    until_answered_from_memory(&state_a, &app_a, &ada.bearer()).await;

    logout(&app_b, &ada).await;
    let took = until_refused(&app_a, &ada.bearer()).await;
    assert!(
        took < Duration::from_secs(10),
        "refused after {took:?}, long before the 60 s the check may live"
    );
}

#[tokio::test]
async fn changes_made_in_the_database_directly_reach_every_instance() {
    let test_db = TestDatabase::migrated().await;
    let (state, app) = instance(&test_db.pool);
    let ada = register(&app, "ada@example.com").await;
    let bob = register(&app, "bob@example.com").await;
    until_answered_from_memory(&state, &app, &ada.bearer()).await;
    until_answered_from_memory(&state, &app, &bob.bearer()).await;

    // A session revoked at a psql prompt.
    sqlx::query("UPDATE user_sessions SET revoked_at = now() WHERE user_id = $1::uuid")
        .bind(&ada.user_id)
        .execute(&test_db.pool)
        .await
        .unwrap();
    until_refused(&app, &ada.bearer()).await;
    // Bob's check was not touched by Ada's change.
    let hits = state.core.accounts.recent_checks().hits();
    assert_eq!(get_as(&app, ME, &bob.bearer()).await.status(), StatusCode::OK);
    assert_eq!(state.core.accounts.recent_checks().hits(), hits + 1, "Bob is still answered from memory");

    // An account deactivated the same way.
    sqlx::query("UPDATE users SET is_active = false WHERE user_id = $1::uuid")
        .bind(&bob.user_id)
        .execute(&test_db.pool)
        .await
        .unwrap();
    until_refused(&app, &bob.bearer()).await;
}

#[tokio::test]
async fn with_the_cache_off_every_request_asks_the_database() {
    let test_db = TestDatabase::migrated().await;
    let state = AppState::new(
        test_db.pool.clone(),
        common::leptos_options(),
        config(&[("AUTH_CHECK_CACHE_SECONDS", "0")]),
    )
    .expect("the app starts");
    let app = router(state.clone());
    let ada = register(&app, "ada@example.com").await;
    for _ in 0..3 {
        assert_eq!(get_as(&app, ME, &ada.bearer()).await.status(), StatusCode::OK);
    }
    assert_eq!(state.core.accounts.recent_checks().hits(), 0);
    sqlx::query("UPDATE users SET is_active = false WHERE user_id = $1::uuid")
        .bind(&ada.user_id)
        .execute(&test_db.pool)
        .await
        .unwrap();
    assert_eq!(get_as(&app, ME, &ada.bearer()).await.status(), StatusCode::UNAUTHORIZED);
}
