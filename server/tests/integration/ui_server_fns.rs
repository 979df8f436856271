//! The UI's server functions (`/api/v1/auth/ui/…`, `/api/v1/ui/…`) over HTTP: same core and rules as the REST
//! routes, plus an Origin check on sign-in itself, since they accept plain form posts (login CSRF).

use crate::common;

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

/// Calls the tenant server function `function` as `user` from our own origin, `rest` appended to
/// the form.
async fn tenant_fn(app: &Router, function: &str, user: &common::SignedIn, rest: &str) -> Response {
    let form = format!("access_token={}{rest}", user.access_token);
    common::post_form(app, &format!("/api/v1/ui/{function}"), &form, &[("origin", OWN_ORIGIN)]).await
}

/// The tenant server functions (`/api/v1/ui/…`) run through the same core as the REST API:
/// row-level security, plan gates and the superuser check apply, with real HTTP statuses.
#[tokio::test]
async fn tenant_server_functions_keep_tenants_apart_and_enforce_plans_and_roles() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = common::register(&app, "ada@example.com").await;
    let bob = common::register(&app, "bob@example.com").await;
    let call = async |function: &str, user: &common::SignedIn, rest: &str| {
        tenant_fn(&app, function, user, rest).await
    };

    let created = call("boards/create", &ada, "&name=Penguins").await;
    assert_eq!(created.status(), StatusCode::OK);
    let board_id = body_json(created).await["board_id"].as_str().unwrap().to_owned();
    let bobs = body_json(call("boards", &bob, "").await).await;
    assert_eq!(bobs, serde_json::json!([]), "Bob sees none of Ada's boards");
    let renamed = call("boards/rename", &bob, &format!("&id={board_id}&name=Mine")).await;
    assert_eq!(renamed.status(), StatusCode::NOT_FOUND);
    assert_eq!(call("boards/delete", &bob, &format!("&id={board_id}")).await.status(), StatusCode::NOT_FOUND);
    let adas = body_json(call("boards", &ada, "").await).await;
    assert_eq!(adas[0]["name"], "Penguins", "Ada's board is as she left it");

    assert_eq!(call("workflows", &ada, "").await.status(), StatusCode::FORBIDDEN, "Free has no workflows");
    assert_eq!(call("admin/users", &ada, "&offset=0").await.status(), StatusCode::FORBIDDEN);
    let models = body_json(call("models", &ada, "").await).await;
    assert_eq!(models[0]["name"], pingvas_core::config::STARTER_MODEL);
    let signed_out = common::post_form(&app, "/api/v1/ui/boards", "access_token=nope", &[]).await;
    assert_eq!(signed_out.status(), StatusCode::UNAUTHORIZED);
}

/// A UI refusal for "too many" (sign-in attempts, images this month) carries `Retry-After`, as
/// the REST API's does, so a browser or script calling a server function knows when to retry.
#[tokio::test]
async fn ui_refusals_for_too_many_carry_retry_after() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = common::register_verified(&app, &test_db.pool, "ada@example.com").await;
    let retry_after = |response: &Response| -> u64 {
        let header = response.headers().get("retry-after").expect("a Retry-After header");
        header.to_str().unwrap().parse().unwrap()
    };

    let wrong = credentials("ada@example.com", "not the password");
    let mut limited = None;
    for _ in 0..10 {
        let response = post_form(&app, "login", &wrong, OWN_ORIGIN, None).await;
        match response.status() {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::TOO_MANY_REQUESTS => {
                limited = Some(response);
                break;
            }
            other => panic!("sign-in answered {other}"),
        }
    }
    let limited = limited.expect("the sixth attempt in a minute is refused");
    assert!((1..=60).contains(&retry_after(&limited)), "the sign-in limit is per minute");

    sqlx::query("UPDATE users SET monthly_images_generated = 100 WHERE user_id = $1::uuid")
        .bind(&ada.user_id)
        .execute(&test_db.owner_pool)
        .await
        .unwrap();
    let body = serde_json::json!({"access_token": ada.access_token, "request": {"prompt": "a penguin"}});
    let headers = [("origin", OWN_ORIGIN), ("accept", "application/json")];
    let refused = common::call(&app, "POST", "/api/v1/ui/generate", common::PEER, &headers, Some(body)).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!((1..=31 * 24 * 3600).contains(&retry_after(&refused)), "until the monthly reset");
    assert!(body_json(refused).await.to_string().contains("Monthly quota exceeded"));
}

/// What a refusal said: its status and the field it names, over REST (`{"error": {"field"}}`) or
/// from a server function (the `UiError` variant's `field`).
async fn refusal_of(response: Response) -> (StatusCode, Option<String>) {
    let status = response.status();
    let body = body_json(response).await;
    let field = body["error"]["field"]
        .as_str()
        .or_else(|| body.as_object().and_then(|o| o.values().next()).and_then(|v| v["field"].as_str()))
        .map(str::to_owned);
    (status, field)
}

/// REST and the UI answer from one refusal table: the same refusal has the same status and names
/// the same field on both (they once disagreed: a taken email was 409 over REST and 422 in the UI).
#[tokio::test]
async fn rest_and_the_ui_answer_each_refusal_with_the_same_status_and_field() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = common::register(&app, "ada@example.com").await;
    let bob = common::register(&app, "bob@example.com").await;
    let ui = async |function: &str, user: &common::SignedIn, rest: &str| {
        tenant_fn(&app, function, user, rest).await
    };
    let rest = async |method: &str, path: &str, user: &common::SignedIn, body: Option<serde_json::Value>| {
        common::send_as(&app, method, path, user, body).await
    };
    let board =
        body_json(rest("POST", "/api/v1/boards", &ada, Some(serde_json::json!({"name": "Penguins"}))).await)
            .await["board_id"]
            .as_str()
            .unwrap()
            .to_owned();

    let pairs = [
        (
            "email_taken",
            common::call(&app, "POST", "/api/v1/auth/register", common::PEER, &[], Some(
                serde_json::json!({"email": "ada@example.com", "password": STRONG_PASSWORD}),
            ))
            .await,
            post_form(&app, "register", &credentials("ada@example.com", STRONG_PASSWORD), OWN_ORIGIN, None).await,
        ),
        (
            "wrong_password",
            rest("POST", "/api/v1/users/me/password", &ada, Some(serde_json::json!({
                "current_password": "not the password", "new_password": "another strong password 7"
            })))
            .await,
            post_form(
                &app,
                "change_password",
                &format!(
                    "access_token={}&current_password=not+the+password&new_password=another+strong+password+7",
                    ada.access_token
                ),
                OWN_ORIGIN,
                None,
            )
            .await,
        ),
        (
            "board name taken",
            rest("POST", "/api/v1/boards", &ada, Some(serde_json::json!({"name": "Penguins"}))).await,
            ui("boards/create", &ada, "&name=Penguins").await,
        ),
        (
            "board name empty",
            rest("POST", "/api/v1/boards", &ada, Some(serde_json::json!({"name": " "}))).await,
            ui("boards/create", &ada, "&name=+").await,
        ),
        (
            "another tenant's board",
            rest("PATCH", &format!("/api/v1/boards/{board}"), &bob, Some(serde_json::json!({"name": "Mine"}))).await,
            ui("boards/rename", &bob, &format!("&id={board}&name=Mine")).await,
        ),
        ("plan_required", rest("GET", "/api/v1/workflows", &ada, None).await, ui("workflows", &ada, "").await),
        ("forbidden", rest("GET", "/api/v1/admin/users", &ada, None).await, ui("admin/users", &ada, "&offset=0").await),
    ];
    for (what, over_rest, in_the_ui) in pairs {
        let (rest_refusal, ui_refusal) = (refusal_of(over_rest).await, refusal_of(in_the_ui).await);
        assert!(rest_refusal.0.is_client_error(), "{what}: REST answered {rest_refusal:?}");
        assert_eq!(rest_refusal, ui_refusal, "{what}: REST and the UI disagree");
    }
}
