//! SECURITY.md 11–20 and 28 for provider sign-in: the real router and PostgreSQL, talking over
//! HTTP to a test identity provider (`provider.rs`) that plays Google (OpenID Connect) and
//! Discord (OAuth 2.0 + `/users/@me`).

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
mod provider;

use std::collections::HashMap;

use axum::{Router, http::StatusCode, response::Response};
use common::{
    PEER, STRONG_PASSWORD, TestDatabase, app_with_config, body_json, call, config, get_as, refresh, register,
};
use oauth2::url::Url;
use pingvas_core::{
    accounts::linking::provider_token_context,
    auth::token_cipher::TokenCipher,
    config::{EncryptionKey, Provider},
};
use provider::{Grant, TestProvider};
use serde_json::{Value, json};
use sqlx::PgPool;

/// The key provider tokens are sealed with in these tests.
const TOKEN_KEY: &str = "4242424242424242424242424242424242424242424242424242424242424242";

/// The app with both providers pointed at `provider`.
fn app(pool: PgPool, provider: &TestProvider) -> Router {
    let vars: Vec<(String, String)> = provider
        .config_vars("google")
        .into_iter()
        .chain(provider.config_vars("discord"))
        .chain([("TOKEN_ENCRYPTION_KEY".to_owned(), TOKEN_KEY.to_owned())])
        .collect();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app_with_config(pool, config(&vars))
}

/// A started sign-in, as the browser holds it.
#[derive(Debug)]
struct Started {
    cookie: String,
    query: HashMap<String, String>,
}

impl Started {
    fn state(&self) -> &str {
        &self.query["state"]
    }
}

fn set_cookies(response: &Response) -> Vec<String> {
    response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

async fn start(app: &Router, provider: &str) -> Started {
    let response = call(app, "GET", &format!("/api/v1/auth/{provider}?next=/account"), PEER, &[], None).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let cookie = set_cookies(&response)
        .into_iter()
        .find(|c| c.starts_with("pingvas_oauth="))
        .expect("the OAuth session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    Started { cookie, query: location.query_pairs().into_owned().collect() }
}

async fn callback(app: &Router, provider: &str, cookie: Option<&str>, query: &str) -> Response {
    let headers: Vec<(&str, &str)> = cookie.map(|c| vec![("cookie", c)]).unwrap_or_default();
    call(app, "GET", &format!("/api/v1/auth/{provider}/callback?{query}"), PEER, &headers, None).await
}

/// Registers `code` at the provider for `started` and calls back with it.
async fn complete(
    app: &Router,
    provider: &TestProvider,
    name: &str,
    started: &Started,
    grant: Grant,
) -> Response {
    let code = format!("code-{}", uuid::Uuid::new_v4());
    provider.grant(
        &code,
        Grant {
            code_challenge: started.query["code_challenge"].clone(),
            redirect_uri: started.query["redirect_uri"].clone(),
            ..grant
        },
    );
    callback(app, name, Some(&started.cookie), &format!("code={code}&state={}", started.state())).await
}

fn google_grant(provider: &TestProvider, started: &Started, sub: &str, email: &str, verified: bool) -> Grant {
    let nonce = started.query.get("nonce").map_or("no-nonce-was-sent", String::as_str);
    Grant { id_claims: Some(provider.id_claims(sub, email, verified, nonce)), ..Grant::default() }
}

fn discord_grant(id: &str, email: &str, verified: bool) -> Grant {
    Grant {
        discord_user: Some(json!({
            "id": id, "username": "ada", "global_name": "Ada", "email": email, "verified": verified, "avatar": null
        })),
        ..Grant::default()
    }
}

/// A fresh database, a running test provider and the app pointed at it.
struct World {
    test_db: TestDatabase,
    provider: TestProvider,
    app: Router,
}

impl World {
    async fn new() -> Self {
        let test_db = TestDatabase::migrated().await;
        let provider = TestProvider::start().await;
        let app = app(test_db.pool.clone(), &provider);
        Self { test_db, provider, app }
    }

    /// A whole sign-in with `name` ("google" or "discord") as the provider reports `sub`/`email`.
    async fn sign_in(&self, name: &str, sub: &str, email: &str, verified: bool) -> Response {
        let started = start(&self.app, name).await;
        let grant = match name {
            "google" => google_grant(&self.provider, &started, sub, email, verified),
            _ => discord_grant(sub, email, verified),
        };
        complete(&self.app, &self.provider, name, &started, grant).await
    }
}

fn refresh_cookie_of(response: &Response) -> Option<String> {
    common::refresh_cookie(response)
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Asserts a refused callback left nothing behind: no refresh cookie, no new user or session.
async fn assert_nothing_created(pool: &PgPool, response: &Response, users_before: i64, sessions_before: i64) {
    assert!(refresh_cookie_of(response).is_none(), "{:?}", set_cookies(response));
    assert_eq!(count(pool, "users").await, users_before);
    assert_eq!(count(pool, "user_sessions").await, sessions_before);
}

/// The access token for a completed sign-in, as the landing page gets it.
async fn access_token_after(app: &Router, response: &Response) -> String {
    let cookie = refresh_cookie_of(response).expect("a refresh cookie");
    let refreshed = refresh(app, &cookie).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    format!("Bearer {}", body_json(refreshed).await["access_token"].as_str().unwrap())
}

#[tokio::test]
async fn a_google_sign_in_creates_a_verified_account_and_lands_without_a_token_in_the_url() {
    let world = World::new().await;
    let app = &world.app;

    let response = world.sign_in("google", "g-1", "ada@example.com", true).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "/auth/complete?next=%2Faccount");
    let bearer = access_token_after(app, &response).await;
    let me = body_json(get_as(app, "/api/v1/users/me", &bearer).await).await;
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["email_verified"], true);
    assert_eq!(me["has_password"], false);
    assert_eq!(me["linked_providers"], json!(["google"]));
    assert_eq!(me["avatar_url"], "https://example.com/ada.png");
}

#[tokio::test]
async fn unconfigured_providers_are_hidden_and_their_routes_answer_404() {
    let test_db = TestDatabase::migrated().await;
    let plain = app_with_config(test_db.pool.clone(), config(&[]));
    for path in ["/api/v1/auth/google", "/api/v1/auth/google/callback?code=x&state=y", "/api/v1/auth/discord"]
    {
        assert_eq!(
            call(&plain, "GET", path, PEER, &[], None).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let options = body_json(call(&plain, "GET", "/api/v1/auth/providers", PEER, &[], None).await).await;
    assert_eq!(options, json!({"google": false, "discord": false}));
    let provider = TestProvider::start().await;
    let options = body_json(
        call(&app(test_db.pool.clone(), &provider), "GET", "/api/v1/auth/providers", PEER, &[], None).await,
    )
    .await;
    assert_eq!(options, json!({"google": true, "discord": true}));
}

#[tokio::test]
async fn s11_missing_unknown_reused_or_expired_state_is_refused_with_400_and_nothing_created() {
    let world = World::new().await;
    let (test_db, provider, app) = (&world.test_db, &world.provider, &world.app);

    // Missing: no sign-in started in this browser; and a started one called back without state.
    let response = callback(app, "google", None, "code=abc&state=whatever").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(response).await["error"]["code"], "invalid_oauth_state");
    let started = start(app, "google").await;
    let response = callback(app, "google", Some(&started.cookie), "code=abc").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_nothing_created(&test_db.pool, &response, 0, 0).await;

    // Unknown: a state this browser was never given.
    let started = start(app, "google").await;
    let response = callback(app, "google", Some(&started.cookie), "code=abc&state=forged-state").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_nothing_created(&test_db.pool, &response, 0, 0).await;

    // Reused: a state that already completed a sign-in.
    let started = start(app, "google").await;
    let grant = google_grant(provider, &started, "g-1", "ada@example.com", true);
    let first = complete(app, provider, "google", &started, grant.clone()).await;
    assert_eq!(first.status(), StatusCode::FOUND);
    assert!(refresh_cookie_of(&first).is_some());
    let again = complete(app, provider, "google", &started, grant).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(refresh_cookie_of(&again).is_none());
    assert_eq!(count(&test_db.pool, "user_sessions").await, 1);

    // Expired: started eleven minutes ago.
    let started = start(app, "google").await;
    sqlx::query(
        "UPDATE oauth_sessions SET data = jsonb_set(data, '{oauth_pending,issued_at}',
                to_jsonb((extract(epoch FROM now()) - 660)::bigint))",
    )
    .execute(&test_db.pool)
    .await
    .unwrap();
    let grant = google_grant(provider, &started, "g-2", "grace@example.com", true);
    let response = complete(app, provider, "google", &started, grant).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_nothing_created(&test_db.pool, &response, 1, 1).await;
}

#[tokio::test]
async fn s12_a_state_issued_for_discord_is_refused_at_the_google_callback() {
    let world = World::new().await;
    let (test_db, provider, app) = (&world.test_db, &world.provider, &world.app);
    let started = start(app, "discord").await;
    let mut grant = google_grant(provider, &started, "g-1", "ada@example.com", true);
    grant.id_claims.as_mut().unwrap()["nonce"] = "none".into();
    let response = complete(app, provider, "google", &started, grant).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_nothing_created(&test_db.pool, &response, 0, 0).await;
    assert_eq!(provider.issued(), 0, "the code was never exchanged");
}

#[tokio::test]
async fn s13_every_authorization_redirect_has_a_fresh_state_pkce_s256_and_a_google_nonce() {
    let world = World::new().await;
    let app = &world.app;
    let mut seen = std::collections::HashSet::new();
    for name in ["google", "google", "discord", "discord"] {
        let started = start(app, name).await;
        let q = &started.query;
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], provider::CLIENT_ID);
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"].len(), 43, "a SHA-256 in base64url");
        assert!(q["state"].len() >= 16);
        assert_eq!(q["redirect_uri"], format!("http://127.0.0.1:3000/api/v1/auth/{name}/callback"));
        assert!(seen.insert(q["state"].clone()) && seen.insert(q["code_challenge"].clone()), "reused value");
        if name == "google" {
            assert!(q["nonce"].len() >= 32 && seen.insert(q["nonce"].clone()));
            assert_eq!(q["scope"], "openid email profile");
            assert_eq!((q["access_type"].as_str(), q["prompt"].as_str()), ("offline", "consent"));
        } else {
            assert!(!q.contains_key("nonce"));
            assert_eq!(q["scope"], "identify email");
        }
    }
}

#[tokio::test]
async fn s14_id_tokens_with_wrong_aud_iss_nonce_exp_or_signature_create_no_user_and_no_session() {
    let world = World::new().await;
    let (test_db, provider, app) = (&world.test_db, &world.provider, &world.app);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // (what, how the claims are tampered with, whether the signature is forged)
    type Case = (&'static str, fn(&mut Value, i64), bool);
    let cases: [Case; 5] = [
        ("wrong aud", |c, _| c["aud"] = "someone-elses-client".into(), false),
        ("wrong iss", |c, _| c["iss"] = "https://evil.example".into(), false),
        ("wrong nonce", |c, _| c["nonce"] = "another-sign-in's-nonce".into(), false),
        (
            "expired",
            |c, now| {
                c["iat"] = (now - 7200).into();
                c["exp"] = (now - 3600).into();
            },
            false,
        ),
        ("bad signature", |_, _| {}, true),
    ];
    for (what, tamper, forge_signature) in cases {
        let started = start(app, "google").await;
        let mut grant = google_grant(provider, &started, "g-1", "ada@example.com", true);
        tamper(grant.id_claims.as_mut().unwrap(), now);
        grant.forge_signature = forge_signature;
        let response = complete(app, provider, "google", &started, grant).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{what}");
        assert_eq!(response.headers()["location"], "/login?error=oauth_failed", "{what}");
        assert_nothing_created(&test_db.pool, &response, 0, 0).await;
    }
}

#[tokio::test]
async fn s15_google_with_an_unverified_email_never_links_to_the_local_account_with_that_email() {
    let world = World::new().await;
    let (test_db, app) = (&world.test_db, &world.app);
    let local = register(app, "ada@example.com").await;
    let response = world.sign_in("google", "g-1", "ada@example.com", false).await;
    assert_eq!(response.headers()["location"], "/login?error=unverified_email");
    assert!(refresh_cookie_of(&response).is_none());
    assert_eq!(count(&test_db.pool, "user_identities").await, 0);
    // The local account is untouched and still signs in.
    assert_eq!(get_as(app, "/api/v1/users/me", &local.bearer()).await.status(), StatusCode::OK);
    common::login(app, "ada@example.com").await;
}

#[tokio::test]
async fn s16_discord_with_an_unverified_email_never_links_to_or_signs_into_an_account() {
    let world = World::new().await;
    let (test_db, app) = (&world.test_db, &world.app);
    register(app, "ada@example.com").await;

    let response = world.sign_in("discord", "d-1", "ada@example.com", false).await;
    assert_eq!(response.headers()["location"], "/login?error=unverified_email");
    assert!(refresh_cookie_of(&response).is_none());
    assert_eq!(count(&test_db.pool, "user_identities").await, 0);

    // Even an identity linked while verified is not signed in once Discord reports it unverified.
    let linked = world.sign_in("discord", "d-2", "grace@example.com", true).await;
    assert!(refresh_cookie_of(&linked).is_some());
    let response = world.sign_in("discord", "d-2", "grace@example.com", false).await;
    assert_eq!(response.headers()["location"], "/login?error=unverified_email");
    assert!(refresh_cookie_of(&response).is_none());
}

#[tokio::test]
async fn s17_a_verified_provider_login_claiming_an_unverified_account_removes_its_password_and_sessions() {
    let world = World::new().await;
    let app = &world.app;
    // Someone registered the address without owning it.
    let squatter = register(app, "ada@example.com").await;

    let response = world.sign_in("google", "g-1", "ada@example.com", true).await;
    let owner = access_token_after(app, &response).await;
    let me = body_json(get_as(app, "/api/v1/users/me", &owner).await).await;
    assert_eq!(me["user_id"].as_str(), Some(squatter.user_id.as_str()), "the same account, now claimed");
    assert_eq!((me["has_password"].as_bool(), me["email_verified"].as_bool()), (Some(false), Some(true)));

    assert_eq!(get_as(app, "/api/v1/users/me", &squatter.bearer()).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refresh(app, &squatter.cookie).await.status(), StatusCode::UNAUTHORIZED);
    let password_login = common::login_with(app, PEER, "ada@example.com", STRONG_PASSWORD).await;
    assert_eq!(password_login.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn s18_after_the_email_changes_at_the_provider_the_same_identity_reaches_the_same_user() {
    let world = World::new().await;
    let (test_db, app) = (&world.test_db, &world.app);
    for (name, before, after) in [
        ("google", "ada@example.com", "ada@newmail.example"),
        ("discord", "grace@example.com", "grace@newmail.example"),
    ] {
        let first = world.sign_in(name, "subject-1", before, true).await;
        let first_user =
            body_json(get_as(app, "/api/v1/users/me", &access_token_after(app, &first).await).await).await;
        let second = world.sign_in(name, "subject-1", after, true).await;
        let second_user =
            body_json(get_as(app, "/api/v1/users/me", &access_token_after(app, &second).await).await).await;
        assert_eq!(first_user["user_id"], second_user["user_id"], "{name}");
        assert_eq!(second_user["email"], before, "the account keeps its own email");
    }
    assert_eq!(count(&test_db.pool, "users").await, 2);
}

#[tokio::test]
async fn s19_a_redirect_from_the_token_endpoint_is_not_followed_and_fails_the_login() {
    let world = World::new().await;
    let (test_db, provider, app) = (&world.test_db, &world.provider, &world.app);
    for name in ["google", "discord"] {
        let started = start(app, name).await;
        let mut grant = match name {
            "google" => google_grant(provider, &started, "g-1", "ada@example.com", true),
            _ => discord_grant("d-1", "ada@example.com", true),
        };
        grant.redirect_instead = true;
        let response = complete(app, provider, name, &started, grant).await;
        assert_eq!(response.headers()["location"], "/login?error=oauth_failed", "{name}");
        assert_nothing_created(&test_db.pool, &response, 0, 0).await;
    }
    assert_eq!(provider.redirect_target_hits(), 0, "the redirect target was never fetched");
}

#[tokio::test]
async fn s20_provider_tokens_are_stored_sealed_and_open_only_in_their_own_context() {
    let world = World::new().await;
    let test_db = &world.test_db;
    let response = world.sign_in("discord", "d-1", "ada@example.com", true).await;
    assert!(refresh_cookie_of(&response).is_some());

    let (access, refresh_token): (Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT access_token, refresh_token FROM user_identities")
            .fetch_one(&test_db.pool)
            .await
            .unwrap();
    let dump: String = sqlx::query_scalar(
        "SELECT (SELECT string_agg(to_jsonb(i)::text, ' ') FROM user_identities i) ||
                (SELECT string_agg(to_jsonb(u)::text, ' ') FROM users u)",
    )
    .fetch_one(&test_db.pool)
    .await
    .unwrap();
    assert!(
        !dump.contains("provider-access-") && !dump.contains("provider-refresh-"),
        "a token in plain text"
    );
    for sealed in [&access, &refresh_token] {
        assert!(!String::from_utf8_lossy(sealed).contains("provider-"), "sealed bytes hide the token");
    }
    // They open with the configured key, only in the (provider, subject, kind) they were sealed for.
    let cipher = TokenCipher::new(&EncryptionKey::from_hex(TOKEN_KEY).unwrap());
    let context = |kind| provider_token_context(Provider::Discord, "d-1", kind);
    assert!(cipher.open(&access, context("access").as_bytes()).unwrap().starts_with("provider-access-"));
    assert!(
        cipher.open(&refresh_token, context("refresh").as_bytes()).unwrap().starts_with("provider-refresh-")
    );
    assert!(cipher.open(&access, context("refresh").as_bytes()).is_err());
    assert!(
        cipher.open(&access, provider_token_context(Provider::Discord, "d-2", "access").as_bytes()).is_err()
    );
    let users_tokens: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT oauth_access_token FROM users").fetch_one(&test_db.pool).await.unwrap();
    assert_eq!(users_tokens.as_deref(), Some(access.as_slice()));
}

/// The other ways back from a provider: the user declined (back to sign-in with a reason the page
/// explains), or a valid state came back without a code (400). Neither creates anything, and
/// either ends the attempt: its state cannot be used again.
#[tokio::test]
async fn a_declined_sign_in_returns_to_the_login_page_and_a_missing_code_is_refused() {
    let world = World::new().await;
    let (test_db, app) = (&world.test_db, &world.app);

    let started = start(app, "google").await;
    let query = format!("error=access_denied&state={}", started.state());
    let declined = callback(app, "google", Some(&started.cookie), &query).await;
    assert_eq!(declined.status(), StatusCode::FOUND);
    assert_eq!(declined.headers()["location"], "/login?error=oauth_cancelled");
    assert_nothing_created(&test_db.pool, &declined, 0, 0).await;
    let again =
        callback(app, "google", Some(&started.cookie), &format!("code=abc&state={}", started.state())).await;
    assert_eq!(body_json(again).await["error"]["code"], "invalid_oauth_state", "the attempt is over");

    let started = start(app, "discord").await;
    let no_code =
        callback(app, "discord", Some(&started.cookie), &format!("state={}", started.state())).await;
    assert_eq!(no_code.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(no_code).await["error"]["code"], "invalid_oauth_code");
    assert_eq!((count(&test_db.pool, "users").await, count(&test_db.pool, "user_sessions").await), (0, 0));
}
