//! SECURITY.md 21–29: access tokens, refresh-token rotation and reuse detection, revocation,
//! the refresh cookie and the Origin check, against a real PostgreSQL and the real router.

use crate::common;

use axum::http::StatusCode;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use common::{
    PEER, STRONG_PASSWORD, TestDatabase, app_with_config, body_json, body_text, call, config, get_as, login,
    refresh, refresh_cookie, register, send_as,
};
use pingvas_core::{
    auth::tokens::{AccessClaims, TokenKeys, TokenType},
    config::JwtSecret,
};
use serde_json::json;

const SECRET: &str = "integration-test-secret-of-at-least-32-bytes";
const ME: &str = "/api/v1/users/me";

fn router(pool: sqlx::PgPool) -> axum::Router {
    app_with_config(pool, config(&[("JWT_SECRET_KEY", SECRET)]))
}

fn keys() -> TokenKeys {
    TokenKeys::new(&JwtSecret::new(SECRET.as_bytes().to_vec()), 900)
}

#[tokio::test]
async fn s21_forged_or_expired_access_tokens_are_refused() {
    let test_db = TestDatabase::migrated().await;
    let app = router(test_db.pool.clone());
    let user = register(&app, "ada@example.com").await;
    assert_eq!(get_as(&app, ME, &user.bearer()).await.status(), StatusCode::OK);

    let genuine = keys().verify_access(&user.access_token).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let other_keys = TokenKeys::new(&JwtSecret::new(b"another-secret-that-is-32-bytes-long!".to_vec()), 900);
    let header_none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&genuine).unwrap());
    let forged = [
        ("alg none", format!("{header_none}.{body}.")),
        ("wrong key", other_keys.sign(&genuine).unwrap()),
        ("wrong iss", keys().sign(&AccessClaims { iss: "evil".into(), ..genuine.clone() }).unwrap()),
        ("wrong aud", keys().sign(&AccessClaims { aud: "other-api".into(), ..genuine.clone() }).unwrap()),
        (
            "wrong type",
            keys().sign(&AccessClaims { token_type: TokenType::Refresh, ..genuine.clone() }).unwrap(),
        ),
        (
            "expired",
            keys().sign(&AccessClaims { iat: now - 2000, exp: now - 60, ..genuine.clone() }).unwrap(),
        ),
        ("garbage", "not.a.token".to_owned()),
    ];
    for (what, token) in forged {
        let response = get_as(&app, ME, &format!("Bearer {token}")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_eq!(body_json(response).await["error"]["code"], "invalid_token", "{what}");
    }
    let no_token = call(&app, "GET", ME, PEER, &[], None).await;
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn s22_refresh_returns_new_tokens_and_the_old_refresh_token_is_then_refused() {
    let test_db = TestDatabase::migrated().await;
    let app = router(test_db.pool.clone());
    let user = register(&app, "ada@example.com").await;

    let response = refresh(&app, &user.cookie).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let new_cookie = refresh_cookie(&response).expect("a rotated cookie");
    assert_ne!(new_cookie, user.cookie);
    let json = body_json(response).await;
    assert_eq!((json["token_type"].as_str(), json["expires_in"].as_i64()), (Some("bearer"), Some(900)));
    let new_access = json["access_token"].as_str().unwrap();
    assert_ne!(new_access, user.access_token);
    assert_eq!(get_as(&app, ME, &format!("Bearer {new_access}")).await.status(), StatusCode::OK);

    assert_eq!(refresh(&app, &user.cookie).await.status(), StatusCode::UNAUTHORIZED);
    let no_cookie = call(&app, "POST", "/api/v1/auth/refresh", PEER, &[], None).await;
    assert_eq!(no_cookie.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn s23_replaying_a_rotated_refresh_token_revokes_the_whole_session_family() {
    let test_db = TestDatabase::migrated().await;
    let app = router(test_db.pool.clone());
    let user = register(&app, "ada@example.com").await;
    let other_device = login(&app, "ada@example.com").await;

    let rotated = refresh(&app, &user.cookie).await;
    let current_cookie = refresh_cookie(&rotated).unwrap();
    let current_access = body_json(rotated).await["access_token"].as_str().unwrap().to_owned();

    // An attacker replays the stolen, already-used token.
    let replay = refresh(&app, &user.cookie).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    // The legitimate holder's newer tokens die with the family...
    assert_eq!(refresh(&app, &current_cookie).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        get_as(&app, ME, &format!("Bearer {current_access}")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // ...while the user's other sign-in is untouched.
    assert_eq!(refresh(&app, &other_device.cookie).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn s24_the_database_stores_only_a_hash_of_each_refresh_token() {
    let test_db = TestDatabase::migrated().await;
    let app = router(test_db.pool.clone());
    let user = register(&app, "ada@example.com").await;
    let rotated = refresh_cookie(&refresh(&app, &user.cookie).await).unwrap();

    let dump: String = sqlx::query_scalar("SELECT string_agg(to_jsonb(s)::text, ' ') FROM user_sessions s")
        .fetch_one(&test_db.pool)
        .await
        .unwrap();
    for cookie in [&user.cookie, &rotated] {
        let token = cookie.split_once('=').unwrap().1;
        assert!(!dump.contains(token), "a refresh token is stored in plain text");
        let hex_token = hex::encode(token.as_bytes());
        assert!(!dump.contains(&hex_token), "a refresh token is stored hex-encoded");
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()));
        assert!(dump.contains(&digest), "its SHA-256 is what is stored");
    }
}

#[tokio::test]
async fn s25_after_logout_the_refresh_cookie_and_the_access_token_are_refused() {
    let test_db = TestDatabase::migrated().await;
    let app = router(test_db.pool.clone());
    let user = register(&app, "ada@example.com").await;

    let response = call(
        &app,
        "POST",
        "/api/v1/auth/logout",
        PEER,
        &[("cookie", &user.cookie), ("authorization", &user.bearer()), ("origin", "http://127.0.0.1:3000")],
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cleared = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.starts_with("pingvas_refresh=;") && cleared.contains("Max-Age=0"), "{cleared}");

    assert_eq!(refresh(&app, &user.cookie).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(get_as(&app, ME, &user.bearer()).await.status(), StatusCode::UNAUTHORIZED);
    let jti = keys().verify_access(&user.access_token).unwrap().jti;
    let revoked: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = $1)")
            .bind(jti)
            .fetch_one(&test_db.pool)
            .await
            .unwrap();
    assert!(revoked, "the access token's jti is on the revocation list until it expires");
}

#[tokio::test]
async fn s26_a_password_change_or_deactivation_ends_every_other_session() {
    let test_db = TestDatabase::migrated().await;
    let app = router(test_db.pool.clone());
    let laptop = register(&app, "ada@example.com").await;
    let phone = login(&app, "ada@example.com").await;

    let new_password = "a different horse battery staple 7";
    let response = send_as(
        &app,
        "POST",
        "/api/v1/users/me/password",
        &laptop,
        Some(json!({"current_password": STRONG_PASSWORD, "new_password": new_password})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(get_as(&app, ME, &phone.bearer()).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refresh(&app, &phone.cookie).await.status(), StatusCode::UNAUTHORIZED);
    // The session that changed it goes on.
    assert_eq!(get_as(&app, ME, &laptop.bearer()).await.status(), StatusCode::OK);
    let login_new = common::login_with(&app, PEER, "ada@example.com", new_password).await;
    assert_eq!(login_new.status(), StatusCode::OK);

    // Deactivation: every session, this one too, stops at the next request.
    sqlx::query("UPDATE users SET is_active = false WHERE email = 'ada@example.com'")
        .execute(&test_db.pool)
        .await
        .unwrap();
    assert_eq!(get_as(&app, ME, &laptop.bearer()).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refresh(&app, &laptop.cookie).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn s26_a_wrong_current_password_or_a_weak_new_one_changes_nothing() {
    let test_db = TestDatabase::migrated().await;
    let app = router(test_db.pool.clone());
    let laptop = register(&app, "ada@example.com").await;
    let phone = login(&app, "ada@example.com").await;
    let cases = [
        (
            json!({"current_password": "not my password at all", "new_password": "a different horse battery staple 7"}),
            StatusCode::UNAUTHORIZED,
            "wrong_password",
        ),
        (
            json!({"current_password": STRONG_PASSWORD, "new_password": "short"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "weak_password",
        ),
    ];
    for (body, status, code) in cases {
        let response = send_as(&app, "POST", "/api/v1/users/me/password", &laptop, Some(body)).await;
        assert_eq!(response.status(), status);
        assert_eq!(body_json(response).await["error"]["code"], code);
    }
    assert_eq!(get_as(&app, ME, &phone.bearer()).await.status(), StatusCode::OK);
    login(&app, "ada@example.com").await;
}

#[tokio::test]
async fn s27_a_refresh_token_past_its_absolute_lifetime_is_refused_however_recently_used() {
    let test_db = TestDatabase::migrated().await;
    let app = router(test_db.pool.clone());
    let user = register(&app, "ada@example.com").await;
    let cookie = refresh_cookie(&refresh(&app, &user.cookie).await).unwrap();

    let expires_in_days: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM expires_at - signed_in_at)::float8 / 86400 FROM user_sessions WHERE is_active",
    )
    .fetch_one(&test_db.pool)
    .await
    .unwrap();
    assert!((expires_in_days - 30.0).abs() < 0.001, "{expires_in_days}");

    // Signed in 30 days and a minute ago, used a second ago.
    sqlx::query(
        "UPDATE user_sessions SET signed_in_at = now() - interval '30 days 1 minute',
                                  expires_at = now() - interval '1 minute', last_used_at = now()",
    )
    .execute(&test_db.pool)
    .await
    .unwrap();
    assert_eq!(refresh(&app, &cookie).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(get_as(&app, ME, &user.bearer()).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn s28_the_refresh_cookie_is_http_only_secure_strict_prefixed_host_only_and_never_in_a_body() {
    let test_db = TestDatabase::migrated().await;
    let app = app_with_config(
        test_db.pool.clone(),
        config(&[("JWT_SECRET_KEY", SECRET), ("PUBLIC_URL", "https://pingvas.example")]),
    );
    let response = call(
        &app,
        "POST",
        "/api/v1/auth/register",
        PEER,
        &[],
        Some(json!({"email": "ada@example.com", "password": STRONG_PASSWORD})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    let attributes: Vec<&str> = set_cookie.split("; ").collect();
    assert!(attributes[0].starts_with("__Secure-pingvas_refresh="), "{set_cookie}");
    for required in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth"] {
        assert!(attributes.contains(&required), "{required} missing: {set_cookie}");
    }
    assert!(!set_cookie.to_ascii_lowercase().contains("domain="), "{set_cookie}");
    let token = attributes[0].split_once('=').unwrap().1.to_owned();
    let body = body_text(response).await;
    assert!(!body.contains(&token), "the refresh token never appears in a body");

    let refreshed = call(
        &app,
        "POST",
        "/api/v1/auth/refresh",
        PEER,
        &[("cookie", attributes[0]), ("origin", "https://pingvas.example")],
        None,
    )
    .await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let rotated = refresh_cookie(&refreshed).unwrap();
    assert!(rotated.starts_with("__Secure-pingvas_refresh="));
    let body = body_text(refreshed).await;
    assert!(!body.contains(rotated.split_once('=').unwrap().1) && !body.contains(&token));
    // Over https the unprefixed development cookie is not accepted.
    let plain = format!("pingvas_refresh={}", rotated.split_once('=').unwrap().1);
    let response = call(
        &app,
        "POST",
        "/api/v1/auth/refresh",
        PEER,
        &[("cookie", &plain), ("origin", "https://pingvas.example")],
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn s29_refresh_and_logout_with_a_foreign_origin_are_forbidden() {
    let test_db = TestDatabase::migrated().await;
    let app = router(test_db.pool.clone());
    let user = register(&app, "ada@example.com").await;
    for path in ["/api/v1/auth/refresh", "/api/v1/auth/logout"] {
        for origin in ["https://evil.example", "null", "http://127.0.0.1:3001"] {
            let response =
                call(&app, "POST", path, PEER, &[("cookie", &user.cookie), ("origin", origin)], None).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path} from {origin}");
            assert_eq!(body_json(response).await["error"]["code"], "forbidden_origin");
        }
    }
    // Nothing was rotated or revoked by the refused requests.
    assert_eq!(refresh(&app, &user.cookie).await.status(), StatusCode::OK);
}
