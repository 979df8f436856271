//! SECURITY.md 30–33: password rules, argon2id storage, no account enumeration, and the sign-in
//! rate limits, against a real PostgreSQL and the real router.

use crate::common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::{
    PEER, STRONG_PASSWORD, TestDatabase, app, app_with_config, body_json, call, config, login_with, register,
};
use serde_json::json;

async fn register_with(
    app: &axum::Router,
    peer: &str,
    email: &str,
    password: &str,
) -> axum::response::Response {
    call(app, "POST", "/api/v1/auth/register", peer, &[], Some(json!({"email": email, "password": password})))
        .await
}

/// A router whose sign-in limit does not get in the way of a test that is about something else.
fn unlimited(pool: sqlx::PgPool) -> axum::Router {
    app_with_config(pool, config(&[("AUTH_RATE_LIMIT_PER_MINUTE", "100000")]))
}

#[tokio::test]
async fn s30_short_and_common_passwords_are_refused_long_and_unicode_ones_accepted() {
    let test_db = TestDatabase::migrated().await;
    let app = unlimited(test_db.pool.clone());
    for (i, weak) in ["", "short", "fourteen chars", "Mailcreated5240", "mailcreated5240"].iter().enumerate()
    {
        let response = register_with(&app, PEER, &format!("weak{i}@example.com"), weak).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{weak:?}");
        let json = body_json(response).await;
        assert_eq!(json["error"]["code"], "weak_password", "{weak:?}");
        assert_eq!(json["error"]["field"], "password");
    }
    let accepted = [
        "x".repeat(64) + "y",
        "pässwörd mit ümlauten und 🐧 pinguinen".to_owned(),
        "日本語のパスフレーズはとても長いです".to_owned(),
        // No composition rules: all lower-case letters and spaces is fine.
        "the quick brown fox jumps over".to_owned(),
    ];
    for (i, password) in accepted.iter().enumerate() {
        let email = format!("strong{i}@example.com");
        assert_eq!(
            register_with(&app, PEER, &email, password).await.status(),
            StatusCode::CREATED,
            "{password}"
        );
        assert_eq!(login_with(&app, PEER, &email, password).await.status(), StatusCode::OK, "{password}");
    }
    let too_long = "x".repeat(257);
    assert_eq!(
        register_with(&app, PEER, "long@example.com", &too_long).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn s30_invalid_emails_and_taken_emails_are_told_apart_from_bad_passwords() {
    let test_db = TestDatabase::migrated().await;
    let app = unlimited(test_db.pool.clone());
    let response = register_with(&app, PEER, "not-an-email", STRONG_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body_json(response).await["error"]["field"], "email");
    register(&app, "ada@example.com").await;
    let again = register_with(&app, PEER, "  ADA@Example.com ", STRONG_PASSWORD).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(body_json(again).await["error"]["code"], "email_taken");
    let malformed =
        call(&app, "POST", "/api/v1/auth/register", PEER, &[("content-type", "application/json")], None)
            .await;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(malformed).await["error"]["code"], "invalid_json");
}

#[tokio::test]
async fn s31_stored_hashes_are_argon2id_with_at_least_the_owasp_parameters() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    register(&app, "ada@example.com").await;
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'ada@example.com'")
        .fetch_one(&test_db.pool)
        .await
        .unwrap();
    let parts: Vec<&str> = hash.split('$').collect();
    assert_eq!(parts[1], "argon2id", "{hash}");
    assert_eq!(parts[2], "v=19");
    let params: Vec<(&str, u32)> = parts[3]
        .split(',')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k, v.parse().unwrap())
        })
        .collect();
    let get = |name| params.iter().find(|(k, _)| *k == name).unwrap().1;
    assert!(get("m") >= 19_456 && get("t") >= 2 && get("p") >= 1, "{hash}");
    assert!(!hash.contains(STRONG_PASSWORD));
}

#[tokio::test]
async fn s32_unknown_email_and_wrong_password_answer_identically_in_similar_time() {
    let test_db = TestDatabase::migrated().await;
    let app = unlimited(test_db.pool.clone());
    register(&app, "ada@example.com").await;

    let wrong = login_with(&app, PEER, "ada@example.com", "not the right password!").await;
    let unknown = login_with(&app, PEER, "nobody@example.com", "not the right password!").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), wrong.status());
    assert!(wrong.headers().get("set-cookie").is_none() && unknown.headers().get("set-cookie").is_none());
    let (wrong, unknown) = (body_json(wrong).await, body_json(unknown).await);
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["error"]["code"], "invalid_credentials");

    // Both paths run one argon2id verification: their fastest times differ by far less than a
    // hash costs (a skipped verification would make one of them ~0). The two are sampled in turn
    // and compared by their minimum, because other tests share the CPU: load only ever adds time,
    // and alternating spreads it over both.
    let (mut wrong_time, mut unknown_time) = (Duration::MAX, Duration::MAX);
    for _ in 0..7 {
        for (email, best) in [("ada@example.com", &mut wrong_time), ("nobody@example.com", &mut unknown_time)]
        {
            let start = Instant::now();
            login_with(&app, PEER, email, "not the right password!").await;
            *best = (*best).min(start.elapsed());
        }
    }
    let (fast, slow) =
        if wrong_time < unknown_time { (wrong_time, unknown_time) } else { (unknown_time, wrong_time) };
    assert!(fast >= Duration::from_millis(5), "a verification was skipped: {fast:?}");
    assert!(slow < fast * 3, "wrong password {wrong_time:?} vs unknown email {unknown_time:?}");
}

#[tokio::test]
async fn s33_the_sixth_attempt_a_minute_per_ip_or_per_email_is_refused_and_forged_headers_do_not_help() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());

    // Per IP: five different emails from one address, each with a new forged X-Forwarded-For.
    for i in 0..5 {
        let forged = format!("198.51.100.{i}");
        let response = call(
            &app,
            "POST",
            "/api/v1/auth/login",
            "203.0.113.7",
            &[("x-forwarded-for", &forged)],
            Some(json!({"email": format!("user{i}@example.com"), "password": "whatever whatever"})),
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {}", i + 1);
    }
    let sixth = call(
        &app,
        "POST",
        "/api/v1/auth/login",
        "203.0.113.7",
        &[("x-forwarded-for", "198.51.100.99")],
        Some(json!({"email": "user9@example.com", "password": "whatever whatever"})),
    )
    .await;
    assert_eq!(sixth.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = sixth.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_eq!(body_json(sixth).await["error"]["code"], "rate_limited");

    // Per email: five addresses trying one account; the sixth is refused even with the right password.
    register(&app, "ada@example.com").await;
    for i in 0..5 {
        let response =
            login_with(&app, &format!("198.18.0.{i}"), "ada@example.com", "guess guess guess").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "guess {}", i + 1);
    }
    let limited = login_with(&app, "198.18.0.200", "ada@example.com", STRONG_PASSWORD).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);

    // Registration is limited the same way.
    for i in 0..5 {
        register_with(&app, "203.0.113.50", &format!("new{i}@example.com"), "short").await;
    }
    let sixth = register_with(&app, "203.0.113.50", "new9@example.com", STRONG_PASSWORD).await;
    assert_eq!(sixth.status(), StatusCode::TOO_MANY_REQUESTS);
}
