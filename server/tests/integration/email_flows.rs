//! Mail and what is done through its links, on real PostgreSQL and a real SMTP server (MailDev):
//! the outbox (sent once, retried while the server is down), email verification (SECURITY.md
//! 44), password reset (45) and email change (46).

use std::time::Duration;

use axum::http::StatusCode;
use pingvas_core::{config::Config, mail::sender::MailSender};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::common::{
    self, PEER, STRONG_PASSWORD, TestDatabase, app_with_config, body_json, call, config, generate, get_as,
    mail_server::{MailServer, free_port},
    mailed_token, queued_texts, refresh_cookie, register, register_verified, send_as, test_outbox, token_in,
};

const NEW_PASSWORD: &str = "a brand new passphrase for ada";

async fn confirm(app: &axum::Router, token: &str) -> axum::response::Response {
    call(app, "POST", "/api/v1/auth/email/confirm", PEER, &[], Some(json!({"token": token}))).await
}

/// `POST /api/v1/auth/password-reset/confirm` from `peer`: `password` with a reset link's `token`.
async fn confirm_reset(
    app: &axum::Router,
    peer: &str,
    token: &str,
    password: &str,
) -> axum::response::Response {
    let body = json!({"token": token, "new_password": password});
    call(app, "POST", "/api/v1/auth/password-reset/confirm", peer, &[], Some(body)).await
}

/// Each message to `recipient`, oldest first: its attempts, last error, whether it was sent and
/// what is left of its text (opened where sealed; a sent message keeps none).
/// A message row as the outbox holds it: attempts, last error, sent, id, sealed body, plain body.
type OutboxRow = (i32, Option<String>, bool, uuid::Uuid, Option<Vec<u8>>, String);

async fn outbox(pool: &PgPool, recipient: &str) -> Vec<(i32, Option<String>, bool, String)> {
    let rows: Vec<OutboxRow> = sqlx::query_as(
        "SELECT attempts, last_error, sent_at IS NOT NULL, message_id, sealed_body, text_body || html_body
         FROM mail_outbox WHERE recipient = $1 ORDER BY created_at",
    )
    .bind(recipient)
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(attempts, error, sent, id, sealed, plain)| {
            let text = sealed.map_or(plain, |sealed| test_outbox().open(id, &sealed).unwrap().0);
            (attempts, error, sent, text)
        })
        .collect()
}

/// SECURITY.md 44: a new account gets a verification mail through a real SMTP server, sent once;
/// until its link is opened the account cannot generate (403 `email_unverified`); the token has
/// 256 random bits, is stored only as its hash, works once and not after it expires; resending is
/// limited to one a minute.
#[tokio::test]
async fn s44_a_new_account_verifies_its_email_through_a_real_mail_before_it_can_generate() {
    let db = TestDatabase::migrated().await;
    let mail = MailServer::start(None).await;
    let settings: Config =
        config(&[("SMTP_URL", &mail.smtp_url), ("MAIL_FROM", "PingvasAI <hello@pingvas.test>")]);
    let sender = MailSender::new(db.pool.clone(), &settings.mail, test_outbox()).unwrap();
    let app = app_with_config(db.pool.clone(), settings);
    let ada = register(&app, "ada@example.com").await;

    let refused = generate(&app, &ada, json!({"prompt": "a penguin"})).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refusal = body_json(refused).await;
    assert_eq!(refusal["error"]["code"], "email_unverified");
    assert!(refusal["error"]["message"].as_str().unwrap().contains("ada@example.com"), "{refusal}");
    let me = body_json(get_as(&app, "/api/v1/users/me", &ada.bearer()).await).await;
    assert_eq!(me["email_verified"], false);

    assert_eq!(sender.send_due().await.unwrap(), 1);
    assert_eq!(sender.send_due().await.unwrap(), 0, "a sent mail is never sent again");
    let received = mail.mails_to("ada@example.com").await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["subject"], "Confirm your email for PingvasAI");
    assert_eq!(received[0]["from"][0]["address"], "hello@pingvas.test");
    let text = received[0]["text"].as_str().unwrap();
    assert!(received[0]["html"].as_str().unwrap().contains("/verify-email?token="));
    let token = token_in(text, "/verify-email");
    assert!(text.contains(&format!("http://127.0.0.1:3000/verify-email?token={token}")), "{text}");
    assert_eq!(token.len(), 43, "256 bits, URL-safe base64");
    // The outbox forgets the link once sent; the token table holds only its hash.
    assert_eq!(outbox(&db.pool, "ada@example.com").await, [(1, None, true, String::new())]);
    let stored: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT token_hash FROM email_tokens").fetch_all(&db.pool).await.unwrap();
    assert_eq!(
        stored,
        [pingvas_core::auth::opaque_token::OpaqueToken::from_client(&token).digest().to_vec()]
    );
    let lifetime: f64 =
        sqlx::query_scalar("SELECT extract(epoch FROM expires_at - created_at)::float8 FROM email_tokens")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(lifetime <= 24.0 * 3600.0 + 1.0, "{lifetime}");

    // Resending waits a minute.
    let too_soon = send_as(&app, "POST", "/api/v1/auth/email/verification", &ada, None).await;
    assert_eq!(too_soon.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(too_soon.headers().contains_key("retry-after"));

    let confirmed = confirm(&app, &token).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert_eq!(body_json(confirmed).await, json!({"email": "ada@example.com", "changed": false}));
    let again = confirm(&app, &token).await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body_json(again).await["error"]["code"], "invalid_link");
    assert_eq!(generate(&app, &ada, json!({"prompt": "a penguin"})).await.status(), StatusCode::ACCEPTED);
    let nothing_to_resend = send_as(&app, "POST", "/api/v1/auth/email/verification", &ada, None).await;
    assert_eq!(nothing_to_resend.status(), StatusCode::CONFLICT);

    // An expired link does nothing; after the minute a new one comes.
    let bob = common::register_from(&app, "192.0.2.77", "bob@example.com").await;
    sqlx::query("UPDATE email_tokens SET expires_at = now() - interval '1 second', created_at = now() - interval '2 minutes'")
        .execute(&db.owner_pool)
        .await
        .unwrap();
    let expired = mailed_token(&db.pool, "bob@example.com", "/verify-email").await;
    assert_eq!(confirm(&app, &expired).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        send_as(&app, "POST", "/api/v1/auth/email/verification", &bob, None).await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(sender.send_due().await.unwrap(), 2, "bob's first mail, still due, and the new one");
    let mut tokens: Vec<String> = mail
        .mails_to("bob@example.com")
        .await
        .iter()
        .map(|m| token_in(m["text"].as_str().unwrap(), "/verify-email"))
        .collect();
    tokens.retain(|t| *t != expired);
    let [fresh] = tokens.as_slice() else { panic!("one new link, got {tokens:?}") };
    let fresh = fresh.clone();
    assert_eq!(confirm(&app, &fresh).await.status(), StatusCode::OK);
    for nonsense in ["", "x", &"a".repeat(5000)] {
        assert_eq!(confirm(&app, nonsense).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}

/// The outbox keeps mail while the SMTP server is down (recording the error and backing off) and
/// sends it, once, when the server is back.
#[tokio::test]
async fn mail_waits_in_the_outbox_while_the_smtp_server_is_down_and_goes_out_once_when_it_is_back() {
    let db = TestDatabase::migrated().await;
    let port = free_port();
    let settings = config(&[("SMTP_URL", &format!("smtp://127.0.0.1:{port}"))]);
    let sender = MailSender::new(db.pool.clone(), &settings.mail, test_outbox()).unwrap();
    let app = app_with_config(db.pool.clone(), settings);
    register(&app, "ada@example.com").await;

    assert_eq!(sender.send_due().await.unwrap(), 0);
    let queued = outbox(&db.pool, "ada@example.com").await;
    assert_eq!(queued.len(), 1);
    let (attempts, error, sent, body) = &queued[0];
    assert_eq!((*attempts, *sent), (1, false));
    assert!(error.as_deref().is_some_and(|e| !e.is_empty()), "{error:?}");
    assert!(body.contains("/verify-email?token="), "kept until sent");
    let wait: f64 =
        sqlx::query_scalar("SELECT extract(epoch FROM next_attempt_at - now())::float8 FROM mail_outbox")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!((10.0..=15.0).contains(&wait), "retried after 15 s: {wait}");
    assert_eq!(sender.send_due().await.unwrap(), 0, "not due before its backoff");

    let mail = MailServer::start(Some(port)).await;
    sqlx::query("UPDATE mail_outbox SET next_attempt_at = now()").execute(&db.owner_pool).await.unwrap();
    assert_eq!(sender.send_due().await.unwrap(), 1);
    assert_eq!(sender.send_due().await.unwrap(), 0);
    assert_eq!(mail.mails_to("ada@example.com").await.len(), 1);
    assert_eq!(outbox(&db.pool, "ada@example.com").await[0].0, 2);
    assert_eq!(outbox(&db.pool, "ada@example.com").await[0].3, "", "a sent message keeps no link");
}

/// Issue 33, finding 10: a message given up on kept its body, and with it a live token, for good.
#[tokio::test]
async fn a_message_given_up_on_keeps_its_envelope_but_not_its_link() {
    let db = TestDatabase::migrated().await;
    let settings = config(&[("SMTP_URL", &format!("smtp://127.0.0.1:{}", free_port()))]);
    let sender = MailSender::new(db.pool.clone(), &settings.mail, test_outbox()).unwrap();
    let app = app_with_config(db.pool.clone(), settings);
    register(&app, "ada@example.com").await;
    // Its last try is due (the ones before failed the same way).
    let last = pingvas_core::mail::sender::MAX_ATTEMPTS - 1;
    sqlx::query("UPDATE mail_outbox SET attempts = $1").bind(last).execute(&db.owner_pool).await.unwrap();
    assert_eq!(sender.send_due().await.unwrap(), 0);
    let (failed, subject, body, sealed): (bool, String, String, bool) = sqlx::query_as(
        "SELECT failed_at IS NOT NULL, subject, text_body || html_body, sealed_body IS NOT NULL FROM mail_outbox",
    )
    .fetch_one(&db.owner_pool)
    .await
    .unwrap();
    assert!(failed, "given up on");
    assert!(!subject.is_empty(), "the envelope stays for the operator");
    assert_eq!((body.as_str(), sealed), ("", false), "no token left behind, not even sealed");
}

/// Issue 33, finding 10: a queued message's link sat in plaintext in the outbox until sent. Its
/// body is sealed now: the row holds neither the link nor its token, only the server's key opens
/// it, and a sealed body copied into another message's row does not open there.
#[tokio::test]
async fn s61_a_queued_messages_link_is_sealed_at_rest() {
    let db = TestDatabase::migrated().await;
    let app = app_with_config(db.pool.clone(), config(&[]));
    register(&app, "ada@example.com").await;
    register(&app, "bob@example.com").await;
    let token = mailed_token(&db.pool, "ada@example.com", "/verify-email").await;

    let rows: Vec<(uuid::Uuid, String, Vec<u8>)> = sqlx::query_as(
        "SELECT message_id, text_body || html_body || subject || recipient, sealed_body FROM mail_outbox
         ORDER BY recipient",
    )
    .fetch_all(&db.owner_pool)
    .await
    .unwrap();
    let (ada_id, ada_plain, ada_sealed) = &rows[0];
    assert!(!ada_plain.contains("token="), "nothing in plaintext: {ada_plain}");
    assert!(!ada_sealed.windows(token.len()).any(|w| w == token.as_bytes()), "the token is not in the row");
    let (text, html) = test_outbox().open(*ada_id, ada_sealed).unwrap();
    assert!(text.contains(&token) && html.contains(&token), "the server's key opens it");

    let other_key = pingvas_core::mail::Outbox::new(
        &pingvas_core::config::EncryptionKey::from_hex(&"ab".repeat(32)).unwrap(),
    );
    assert!(other_key.open(*ada_id, ada_sealed).is_err(), "another key does not");
    let bob_id = rows[1].0;
    assert!(test_outbox().open(bob_id, ada_sealed).is_err(), "nor does another message's row");
}

/// The reset mails queued for `recipient`, once the background lookup of a reset request has
/// queued one (at most 60 s: generous on a loaded machine) or, with `expected` false, after a
/// moment in which it could have (an absence cannot be waited for; 2 s is plenty when nothing
/// else is slow, and a mail queued late still fails a later look).
async fn reset_mails_when(pool: &PgPool, recipient: &str, expected: bool) -> usize {
    let count = || async {
        queued_texts(pool, recipient)
            .await
            .iter()
            .filter(|text| text.contains("/reset-password?token="))
            .count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(if expected { 60 } else { 2 });
    while count().await == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    count().await
}

async fn reset_mails(pool: &PgPool, recipient: &str) -> usize {
    reset_mails_when(pool, recipient, true).await
}

/// SECURITY.md 45: the request answers the same for known and unknown addresses; the link works
/// once, within 60 minutes, sets the new password, ends every session and signs nobody in.
#[tokio::test]
async fn s45_a_password_reset_answers_alike_for_anyone_and_its_link_ends_every_session() {
    let db = TestDatabase::migrated().await;
    let app = app_with_config(db.pool.clone(), config(&[]));
    let ada = register(&app, "ada@example.com").await;
    let reset_request = |email: &str| {
        call(&app, "POST", "/api/v1/auth/password-reset", PEER, &[], Some(json!({"email": email})))
    };

    let known = reset_request("Ada@Example.com").await;
    let unknown = reset_request("nobody@example.com").await;
    assert_eq!((known.status(), unknown.status()), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    assert_eq!(known.headers().get("content-length"), unknown.headers().get("content-length"));
    assert_eq!(common::body_text(known).await, common::body_text(unknown).await);
    assert_eq!(reset_mails(&db.pool, "ada@example.com").await, 1);
    assert_eq!(reset_mails_when(&db.pool, "nobody@example.com", false).await, 0);
    let malformed = reset_request("not an address").await;
    assert_eq!(malformed.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let token = mailed_token(&db.pool, "ada@example.com", "/reset-password").await;
    let lifetime: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM expires_at - created_at)::float8 FROM email_tokens WHERE purpose = 'reset_password'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(lifetime <= 3600.0 + 1.0, "{lifetime}");
    let reset = async |token: &str, password: &str| confirm_reset(&app, PEER, token, password).await;
    let weak = reset(&token, "short").await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body_json(weak).await["error"]["code"], "weak_password");
    let done = reset(&token, NEW_PASSWORD).await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT, "a weak password leaves the link usable");
    assert!(refresh_cookie(&done).is_none(), "nobody is signed in by a reset");
    assert_eq!(reset(&token, "yet another long passphrase").await.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Every session ended: the bearer token and the refresh cookie are both dead.
    assert_eq!(get_as(&app, "/api/v1/users/me", &ada.bearer()).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(common::refresh(&app, &ada.cookie).await.status(), StatusCode::UNAUTHORIZED);
    let old = common::login_with(&app, PEER, "ada@example.com", STRONG_PASSWORD).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = common::login_with(&app, PEER, "ada@example.com", NEW_PASSWORD).await;
    assert_eq!(new.status(), StatusCode::OK);
    assert_eq!(body_json(new).await["user"]["email_verified"], true, "the link reached the address");
}

/// SECURITY.md 46: an email change needs the password, takes effect only when the new address
/// opens its link, and the old address is told.
#[tokio::test]
async fn s46_a_new_email_takes_effect_only_once_verified_and_the_old_address_is_told() {
    let db = TestDatabase::migrated().await;
    let app = app_with_config(db.pool.clone(), config(&[]));
    let ada = register_verified(&app, &db.pool, "ada@example.com").await;
    register(&app, "taken@example.com").await;
    let change = |email: &str, password: &str| {
        send_as(
            &app,
            "POST",
            "/api/v1/users/me/email",
            &ada,
            Some(json!({"new_email": email, "current_password": password})),
        )
    };

    assert_eq!(change("ada@new.example", "wrong password entirely").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(change("taken@example.com", STRONG_PASSWORD).await.status(), StatusCode::CONFLICT);
    let same = change("ada@example.com", STRONG_PASSWORD).await;
    assert_eq!(body_json(same).await["error"]["code"], "same_email");
    assert_eq!(change("ada@new.example", STRONG_PASSWORD).await.status(), StatusCode::ACCEPTED);

    let me = || async { body_json(get_as(&app, "/api/v1/users/me", &ada.bearer()).await).await };
    assert_eq!(me().await["email"], "ada@example.com", "nothing changes before the new address confirms");
    let notices = outbox(&db.pool, "ada@example.com").await;
    let notice = &notices.last().unwrap().3;
    assert!(notice.contains("ada@new.example") && notice.contains("change its email"), "{notice}");
    assert!(!notice.contains("token="), "the old address gets no link");

    let token = mailed_token(&db.pool, "ada@new.example", "/verify-email").await;
    let confirmed = confirm(&app, &token).await;
    assert_eq!(body_json(confirmed).await, json!({"email": "ada@new.example", "changed": true}));
    let profile: Value = me().await;
    assert_eq!(
        (profile["email"].clone(), profile["email_verified"].clone()),
        (json!("ada@new.example"), json!(true))
    );
    let new_address = common::login_with(&app, PEER, "ada@new.example", STRONG_PASSWORD).await;
    assert_eq!(new_address.status(), StatusCode::OK);
    let old_address = common::login_with(&app, PEER, "ada@example.com", STRONG_PASSWORD).await;
    assert_eq!(old_address.status(), StatusCode::UNAUTHORIZED);
    // The first address's verification link was used up when it was verified.
    let old_link = mailed_token(&db.pool, "ada@example.com", "/verify-email").await;
    assert_eq!(confirm(&app, &old_link).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// Issue 33, finding 5: a pending email change (or a reset link) outlived a password change or
/// reset, so whoever had used the old password could still move the account afterwards, although
/// the notice to the old address said "change your password now".
#[tokio::test]
async fn s46_links_sent_before_a_password_change_or_reset_die_with_the_old_password() {
    let db = TestDatabase::migrated().await;
    let app = app_with_config(db.pool.clone(), config(&[]));
    let ada = register_verified(&app, &db.pool, "ada@example.com").await;
    let change = |email: &str| {
        send_as(
            &app,
            "POST",
            "/api/v1/users/me/email",
            &ada,
            Some(json!({"new_email": email, "current_password": STRONG_PASSWORD})),
        )
    };
    // Someone with Ada's password asks to move her account to their address, and a reset link
    // for her is also in flight; then Ada changes her password.
    assert_eq!(change("thief@example.net").await.status(), StatusCode::ACCEPTED);
    let stolen = mailed_token(&db.pool, "thief@example.net", "/verify-email").await;
    call(&app, "POST", "/api/v1/auth/password-reset", PEER, &[], Some(json!({"email": "ada@example.com"})))
        .await;
    assert_eq!(reset_mails(&db.pool, "ada@example.com").await, 1);
    let old_reset = mailed_token(&db.pool, "ada@example.com", "/reset-password").await;
    let changed = send_as(
        &app,
        "POST",
        "/api/v1/users/me/password",
        &ada,
        Some(json!({"current_password": STRONG_PASSWORD, "new_password": NEW_PASSWORD})),
    )
    .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    assert_eq!(confirm(&app, &stolen).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let reset = async |token: &str| confirm_reset(&app, PEER, token, "the thief's own long passphrase").await;
    assert_eq!(reset(&old_reset).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let email: String = sqlx::query_scalar("SELECT email FROM users WHERE user_id = $1::uuid")
        .bind(&ada.user_id)
        .fetch_one(&db.owner_pool)
        .await
        .unwrap();
    assert_eq!(email, "ada@example.com");

    // The same after a reset: a change asked before it dies with it.
    let ada = common::login_with(&app, PEER, "ada@example.com", NEW_PASSWORD).await;
    let ada = common::signed_in(ada).await;
    let again = send_as(
        &app,
        "POST",
        "/api/v1/users/me/email",
        &ada,
        Some(json!({"new_email": "thief2@example.net", "current_password": NEW_PASSWORD})),
    )
    .await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    let stolen = mailed_token(&db.pool, "thief2@example.net", "/verify-email").await;
    call(
        &app,
        "POST",
        "/api/v1/auth/password-reset",
        "192.0.2.77",
        &[],
        Some(json!({"email": "ada@example.com"})),
    )
    .await;
    // The request answers before its mail is queued (in the background): wait for the mail.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let fresh = loop {
        let token = mailed_token(&db.pool, "ada@example.com", "/reset-password").await;
        if token != old_reset {
            break token;
        }
        assert!(std::time::Instant::now() < deadline, "the second reset mail never came");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(reset(&fresh).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(confirm(&app, &stolen).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// Issue 33, finding 7: `password-reset/confirm` hashed the new password before looking at the
/// token and had no attempt limit, so anyone could keep every hashing slot busy with made-up
/// tokens. Now the token is checked first and attempts are counted per client.
#[tokio::test]
async fn s45_reset_confirmations_are_limited_per_client_and_a_made_up_token_is_refused_before_hashing() {
    let db = TestDatabase::migrated().await;
    // One hashing slot, and no waiting for it: a hash in progress would show as 503 `busy`.
    let app = app_with_config(
        db.pool.clone(),
        config(&[("PASSWORD_HASH_CONCURRENCY", "1"), ("AUTH_RATE_LIMIT_PER_MINUTE", "5")]),
    );
    let attempt = |peer: &'static str| {
        confirm_reset(&app, peer, "made-up-token-made-up-token-made-up-token-x", NEW_PASSWORD)
    };
    for _ in 0..5 {
        let refused = attempt("198.51.100.20").await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body_json(refused).await["error"]["code"], "invalid_link");
    }
    let limited = attempt("198.51.100.20").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(
        attempt("198.51.100.21").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "other clients are not"
    );
}
