//! Shared test fixtures: a fresh PostgreSQL database per test, and the app router on top of it.
//!
//! The server is the one `DATABASE_URL` names (it must allow `CREATE DATABASE`), or else the
//! project's embedded cluster in `.data/`, started on demand. Every test gets its own database,
//! named uniquely and dropped when the fixture goes out of scope, so tests run in parallel.

// Not every test file uses every helper; fixtures fail loudly by design.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod mail_server;
pub mod stripe_server;

use std::{collections::HashMap, path::PathBuf, str::FromStr};

use axum::{Router, body::Body, http::Request, response::Response};
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use pingvas_core::{
    config::{Config, EncryptionKey},
    db::{
        self,
        embedded::EmbeddedCluster,
        roles::{self, AppRole},
    },
    mail::Outbox,
    secrets,
};
use server::http::{AppState, router};
use sqlx::{Connection, Executor, PgConnection, PgPool, postgres::PgConnectOptions};
use tower::ServiceExt;

/// Superuser options for the server that hosts test databases.
pub async fn admin_options() -> PgConnectOptions {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => {
            PgConnectOptions::from_str(&url).expect("DATABASE_URL is not a PostgreSQL URL")
        }
        _ => {
            let data_dir = std::env::var_os("PINGVAS_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.data"));
            EmbeddedCluster::new(data_dir)
                .ensure_running()
                .await
                .expect("cannot start the embedded PostgreSQL cluster")
                .connect_options("postgres")
        }
    }
}

/// A database that exists only for one test.
pub struct TestDatabase {
    /// A pool connected to it: as the application's own role once migrated (what the server
    /// uses for requests), as the owner while empty.
    pub pool: PgPool,
    /// A pool connected as the owner (migrations, schema changes, inspecting everything).
    pub owner_pool: PgPool,
    /// Connection options for it, as the owner.
    pub options: PgConnectOptions,
    /// The application role made for this database, once migrated.
    pub app_role: Option<String>,
    /// Its password.
    pub app_password: Option<String>,
    name: String,
    admin: PgConnectOptions,
}

impl TestDatabase {
    /// An empty database (no migrations applied).
    pub async fn empty() -> Self {
        let admin = admin_options().await;
        let name = format!("pingvas_test_{}", uuid::Uuid::new_v4().simple());
        db::create_database_if_missing(&admin, &name).await.expect("cannot create the test database");
        let options = admin.clone().database(&name);
        let pool = db::pool(options.clone(), 5);
        Self { owner_pool: pool.clone(), pool, options, app_role: None, app_password: None, name, admin }
    }

    /// A database with every migration applied and an application role of its own, as the
    /// server leaves it at start-up; `pool` connects as that role.
    pub async fn migrated() -> Self {
        let mut test_db = Self::empty().await;
        let role = AppRole {
            name: format!("pingvas_app_{}", uuid::Uuid::new_v4().simple()),
            password: secrets::random_hex(16).unwrap(),
        };
        db::migrate(&test_db.owner_pool).await.expect("migrations failed");
        let mut conn = test_db.owner_pool.acquire().await.unwrap();
        roles::ensure_app_role(&mut conn, &role, "public").await.expect("cannot create the application role");
        roles::grant_app_privileges(&mut conn, &role.name, "public")
            .await
            .expect("cannot grant the application role");
        drop(conn);
        test_db.pool = db::pool(test_db.options.clone().username(&role.name).password(&role.password), 5);
        test_db.app_role = Some(role.name);
        test_db.app_password = Some(role.password);
        test_db
    }

    /// A URL for this database as its owner, for a server process a test starts.
    pub async fn owner_url(&self) -> String {
        match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => {
                let (base, query) = url.split_once('?').map_or((url.as_str(), None), |(b, q)| (b, Some(q)));
                let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
                format!("{server}/{}{}", self.name, query.map(|q| format!("?{q}")).unwrap_or_default())
            }
            _ => {
                let data_dir = std::env::var_os("PINGVAS_DATA_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.data"));
                EmbeddedCluster::new(data_dir).ensure_running().await.unwrap().url(&self.name)
            }
        }
    }

    /// A URL for this database as its application role.
    pub fn app_url(&self) -> String {
        let host = self.options.get_host();
        let host = if host.starts_with('/') { "localhost".to_owned() } else { host.to_owned() };
        format!(
            "postgres://{}:{}@{host}:{}/{}",
            self.app_role.as_ref().unwrap(),
            self.app_password.as_ref().unwrap(),
            self.options.get_port(),
            self.name
        )
    }
}

/// A real `server` process (`serve` or `worker`) on this test's database, for the tests that
/// need signals, sockets or a second process: the owner's and the application role's URLs, a
/// data folder of its own (returned; image files in `objects/` inside it), quiet logs, killed
/// when dropped. `env` comes last, so it may override any of those.
pub async fn server_process(
    command: &str,
    test_db: &TestDatabase,
    env: &[(&str, String)],
) -> (tokio::process::Child, PathBuf) {
    let data = std::env::temp_dir().join(format!("pingvas-{command}-{}", uuid::Uuid::new_v4().simple()));
    let mut process = tokio::process::Command::new(env!("CARGO_BIN_EXE_server"));
    process
        .arg(command)
        .env("DATABASE_URL", test_db.owner_url().await)
        .env("DATABASE_APP_URL", test_db.app_url())
        .env("PINGVAS_DATA_DIR", &data)
        .env("OBJECT_STORE_URL", data.join("objects"))
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    for (name, value) in env {
        process.env(name, value);
    }
    (process.spawn().expect("the server binary runs"), data)
}

/// Runs async clean-up from `Drop`, which is synchronous and may itself run inside a runtime:
/// on a thread of its own with its own runtime. `None` if that could not run.
pub fn block_on_detached<T: Send + 'static>(
    work: impl Future<Output = Option<T>> + Send + 'static,
) -> Option<T> {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?.block_on(work)
    })
    .join()
    .ok()
    .flatten()
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", db::quote_identifier(&self.name));
        let drop_role =
            self.app_role.as_ref().map(|r| format!("DROP ROLE IF EXISTS {}", db::quote_identifier(r)));
        let dropped = block_on_detached(async move {
            let mut conn = PgConnection::connect_with(&admin).await.ok()?;
            let done = conn.execute(sqlx::AssertSqlSafe(statement)).await.ok()?;
            if let Some(drop_role) = drop_role {
                conn.execute(sqlx::AssertSqlSafe(drop_role)).await.ok()?;
            }
            Some(done)
        });
        if dropped.is_none() {
            eprintln!("warning: test database {} was not dropped", self.name);
        }
    }
}

/// Site options as cargo-leptos would set them; tests render pages without the built files.
pub fn leptos_options() -> LeptosOptions {
    LeptosOptions::builder().output_name("pingvas").site_root("target/site").build()
}

/// A development configuration with `vars` set, as the server would read from the environment.
pub fn config(vars: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> =
        vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    // Each test's image files in a folder of its own, outside the checkout.
    vars.entry("OBJECT_STORE_URL".into()).or_insert_with(|| {
        std::env::temp_dir()
            .join(format!("pingvas-test-objects-{}", uuid::Uuid::new_v4().simple()))
            .display()
            .to_string()
    });
    // Tests change accounts in the database directly (plans, deactivation, sessions) and expect
    // the very next request to see it, so they check every token against the database; the
    // in-memory checks and their invalidation have their own tests (`auth_checks`), which turn
    // them on. The browser tests and the fuzzer run the server with its default (on).
    vars.entry("AUTH_CHECK_CACHE_SECONDS".into()).or_insert_with(|| "0".into());
    // One known key seals queued mail, so tests can read the links in it (`mailed_token`).
    vars.entry("TOKEN_ENCRYPTION_KEY".into()).or_insert_with(|| TEST_TOKEN_ENCRYPTION_KEY.into());
    // Development secrets are generated per test instead of persisted.
    Config::from_vars(
        |name| vars.get(name).cloned(),
        |_, which| Ok(secrets::random_hex(which.random_bytes()).unwrap()),
    )
    .expect("test configuration is valid")
}

/// The application router over `pool`, configured as in development.
pub fn app(pool: PgPool) -> Router {
    app_with_config(pool, config(&[]))
}

/// The application router over `pool` with a given configuration.
pub fn app_with_config(pool: PgPool, config: Config) -> Router {
    router(AppState::new(pool, leptos_options(), config).expect("the provider HTTP client starts"))
}

/// Sends a GET through the router, as a client would, without a network.
pub async fn get(app: &Router, path: &str) -> Response {
    app.clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .expect("the router never fails")
}

/// A response body as text.
pub async fn body_text(response: Response) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// A response body as JSON.
pub async fn body_json(response: Response) -> serde_json::Value {
    serde_json::from_str(&body_text(response).await).expect("body is not JSON")
}

/// Sends a GET as if from the TCP peer `peer`, with extra `headers`.
pub async fn get_from(app: &Router, peer: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request.body(Body::empty()).unwrap();
    let addr: std::net::SocketAddr = format!("{peer}:40000").parse().unwrap();
    request.extensions_mut().insert(axum::extract::ConnectInfo(addr));
    app.clone().oneshot(request).await.expect("the router never fails")
}

/// A password that passes the policy.
pub const STRONG_PASSWORD: &str = "correct horse battery staple 42";

/// The peer address tests send from unless they say otherwise.
pub const PEER: &str = "192.0.2.10";

/// Sends `method path` from `peer` with `headers` and an optional JSON body.
pub async fn call(
    app: &Router,
    method: &str,
    path: &str,
    peer: &str,
    headers: &[(&str, &str)],
    body: Option<serde_json::Value>,
) -> Response {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = match body {
        Some(json) => {
            request = request.header("content-type", "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    let mut request = request.body(body).unwrap();
    let addr: std::net::SocketAddr = format!("{peer}:40000").parse().unwrap();
    request.extensions_mut().insert(axum::extract::ConnectInfo(addr));
    app.clone().oneshot(request).await.expect("the router never fails")
}

/// POSTs an `application/x-www-form-urlencoded` body, as an HTML form does, asking for JSON back.
pub async fn post_form(app: &Router, path: &str, form: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.clone()
        .oneshot(request.body(Body::from(form.to_owned())).unwrap())
        .await
        .expect("the router never fails")
}

/// `name=value` of the refresh cookie a response sets (not one it clears).
pub fn refresh_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.contains("pingvas_refresh=") && !c.contains("Max-Age=0"))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

/// A signed-in user as a client sees it.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The user's id.
    pub user_id: String,
    /// The bearer token.
    pub access_token: String,
    /// `name=value` for the `Cookie` header.
    pub cookie: String,
}

impl SignedIn {
    /// `Authorization` header value.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.access_token)
    }
}

/// Registers `email` with [`STRONG_PASSWORD`] and returns its tokens.
pub async fn register(app: &Router, email: &str) -> SignedIn {
    register_from(app, PEER, email).await
}

/// [`register`] from the client address `peer` (registrations are rate limited per address).
pub async fn register_from(app: &Router, peer: &str, email: &str) -> SignedIn {
    let response = call(
        app,
        "POST",
        "/api/v1/auth/register",
        peer,
        &[],
        Some(serde_json::json!({"email": email, "password": STRONG_PASSWORD})),
    )
    .await;
    assert_eq!(response.status(), axum::http::StatusCode::CREATED, "registering {email}");
    signed_in(response).await
}

/// [`register`], then confirms the address through the link of the verification mail waiting in
/// the outbox, as its owner would (generating needs a verified email).
pub async fn register_verified(app: &Router, pool: &PgPool, email: &str) -> SignedIn {
    register_verified_from(app, pool, PEER, email).await
}

/// [`register_verified`] from the client address `peer`.
pub async fn register_verified_from(app: &Router, pool: &PgPool, peer: &str, email: &str) -> SignedIn {
    let user = register_from(app, peer, email).await;
    confirm_link(app, pool, email, "/verify-email").await;
    user
}

/// The `TOKEN_ENCRYPTION_KEY` of [`config`]'s servers, unless a test sets its own.
pub const TEST_TOKEN_ENCRYPTION_KEY: &str =
    "6d61696c2d7365616c2d6b65792d666f722d696e746567726174696f6e2d7473";

/// The outbox of [`config`]'s servers: it opens the mail they queue.
pub fn test_outbox() -> Outbox {
    Outbox::new(&EncryptionKey::from_hex(TEST_TOKEN_ENCRYPTION_KEY).unwrap())
}

/// The plain-text bodies of the mail queued for `recipient` and not yet sent, newest first
/// (opened as the sender opens them: bodies are sealed at rest).
pub async fn queued_texts(pool: &PgPool, recipient: &str) -> Vec<String> {
    let rows: Vec<(uuid::Uuid, Vec<u8>)> = sqlx::query_as(
        "SELECT message_id, sealed_body FROM mail_outbox WHERE recipient = $1 AND sealed_body IS NOT NULL
         ORDER BY created_at DESC",
    )
    .bind(recipient)
    .fetch_all(pool)
    .await
    .unwrap();
    let outbox = test_outbox();
    rows.into_iter().map(|(id, sealed)| outbox.open(id, &sealed).expect("a queued body opens").0).collect()
}

/// The token of the newest link to `page` mailed to `email` (from the outbox; its body is kept
/// until the sender runs, which integration tests run only when they mean to).
pub async fn mailed_token(pool: &PgPool, email: &str, page: &str) -> String {
    let marker = format!("{page}?token=");
    let texts = queued_texts(pool, email).await;
    let body = texts
        .iter()
        .find(|text| text.contains(&marker))
        .unwrap_or_else(|| panic!("no mail to {email} with a link to {page} among {}", texts.len()));
    token_in(body, page)
}

/// The token of the first link to `page` in a mail's text.
pub fn token_in(text: &str, page: &str) -> String {
    let marker = format!("{page}?token=");
    let start = text.find(&marker).unwrap_or_else(|| panic!("no link to {page} in {text}")) + marker.len();
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

/// Opens the newest link to `page` mailed to `email`: confirms the address it verifies.
pub async fn confirm_link(app: &Router, pool: &PgPool, email: &str, page: &str) -> Response {
    let token = mailed_token(pool, email, page).await;
    let response =
        call(app, "POST", "/api/v1/auth/email/confirm", PEER, &[], Some(serde_json::json!({"token": token})))
            .await;
    assert_eq!(response.status(), axum::http::StatusCode::OK, "confirming {email}");
    response
}

/// Signs `email` in with [`STRONG_PASSWORD`] from `peer`.
pub async fn login(app: &Router, email: &str) -> SignedIn {
    let response = login_with(app, PEER, email, STRONG_PASSWORD).await;
    assert_eq!(response.status(), axum::http::StatusCode::OK, "signing {email} in");
    signed_in(response).await
}

/// `POST /api/v1/auth/login` from `peer`, whatever the answer.
pub async fn login_with(app: &Router, peer: &str, email: &str, password: &str) -> Response {
    call(
        app,
        "POST",
        "/api/v1/auth/login",
        peer,
        &[],
        Some(serde_json::json!({"email": email, "password": password})),
    )
    .await
}

/// The signed-in user a successful sign-in `response` gives.
pub async fn signed_in(response: Response) -> SignedIn {
    let cookie = refresh_cookie(&response).expect("a refresh cookie");
    let json = body_json(response).await;
    SignedIn {
        user_id: json["user"]["user_id"].as_str().unwrap().to_owned(),
        access_token: json["access_token"].as_str().unwrap().to_owned(),
        cookie,
    }
}

/// `POST /api/v1/auth/refresh` with `cookie`, as the app's own page would send it.
pub async fn refresh(app: &Router, cookie: &str) -> Response {
    call(
        app,
        "POST",
        "/api/v1/auth/refresh",
        PEER,
        &[("cookie", cookie), ("origin", "http://127.0.0.1:3000")],
        None,
    )
    .await
}

/// `GET path` with a bearer token.
pub async fn get_as(app: &Router, path: &str, bearer: &str) -> Response {
    call(app, "GET", path, PEER, &[("authorization", bearer)], None).await
}

/// Makes `email` a superuser (creating it with [`STRONG_PASSWORD`]) and signs it in.
pub async fn superuser(pool: &PgPool, app: &Router, email: &str) -> SignedIn {
    let accounts = pingvas_core::accounts::Accounts::new(pool.clone(), &config(&[]));
    accounts.make_superuser(email, Some(STRONG_PASSWORD.into())).await.unwrap();
    login(app, email).await
}

/// A request as `user` (bearer token) from [`PEER`], with an optional JSON body.
pub async fn send_as(
    app: &Router,
    method: &str,
    path: &str,
    user: &SignedIn,
    body: Option<serde_json::Value>,
) -> Response {
    call(app, method, path, PEER, &[("authorization", &user.bearer())], body).await
}

/// `POST /api/v1/images/generate` as `user`.
pub async fn generate(app: &Router, user: &SignedIn, body: serde_json::Value) -> Response {
    send_as(app, "POST", "/api/v1/images/generate", user, Some(body)).await
}

/// A `POST` with no body as `user`.
pub async fn post_as(app: &Router, path: &str, user: &SignedIn) -> Response {
    send_as(app, "POST", path, user, None).await
}

/// Puts `user` on `plan` with that plan's default quota, as the database owner would.
pub async fn set_plan(owner_pool: &PgPool, user: &SignedIn, plan: contract::plans::Plan) {
    sqlx::query("UPDATE users SET subscription_plan = $2, monthly_image_quota = $3 WHERE user_id = $1::uuid")
        .bind(&user.user_id)
        .bind(plan.as_str())
        .bind(plan.limits().monthly_images)
        .execute(owner_pool)
        .await
        .unwrap();
}

/// `user`'s (monthly_image_quota, monthly_images_generated) as stored.
pub async fn quota_row(owner_pool: &PgPool, user: &SignedIn) -> (Option<i32>, i32) {
    sqlx::query_as("SELECT monthly_image_quota, monthly_images_generated FROM users WHERE user_id = $1::uuid")
        .bind(&user.user_id)
        .fetch_one(owner_pool)
        .await
        .unwrap()
}

/// A small PNG with some variety in it.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let rgb: Vec<u8> = (0..width * height * 3).map(|i| (i % 251) as u8).collect();
    pingvas_core::imaging::preview_png(width, height, &rgb).unwrap()
}

/// `POST /api/v1/images/upload` as `user`, the file as a multipart part (optionally onto `board`).
pub async fn upload(
    app: &Router,
    user: &SignedIn,
    file: &[u8],
    board: Option<&str>,
) -> axum::response::Response {
    upload_with(app, user, file, &board.map(|b| ("board_id", b)).into_iter().collect::<Vec<_>>()).await
}

/// `POST /api/v1/images/upload` as `user`, the file and the text `fields` as multipart parts.
pub async fn upload_with(
    app: &Router,
    user: &SignedIn,
    file: &[u8],
    fields: &[(&str, &str)],
) -> axum::response::Response {
    let boundary = "pingvas-test-boundary";
    let mut body = Vec::new();
    body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
    body.extend(file);
    body.extend(b"\r\n");
    for (name, value) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    let mut request = Request::post("/api/v1/images/upload")
        .header("authorization", user.bearer())
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap();
    let addr: std::net::SocketAddr = format!("{PEER}:40000").parse().unwrap();
    request.extensions_mut().insert(axum::extract::ConnectInfo(addr));
    app.clone().oneshot(request).await.unwrap()
}

/// What the tests' workers run with: the CPU, three attempts, a lease of `lease`.
pub fn worker_settings(lease: std::time::Duration) -> pingvas_core::config::WorkerSettings {
    pingvas_core::config::WorkerSettings {
        device: engine::device::DeviceChoice::Cpu,
        in_process: false,
        lease,
        max_attempts: 3,
        object_store_url: None,
        http_addr: None,
    }
}

/// A worker on `pool` with the starter model, storing files in the folder `objects`.
pub fn cpu_worker(pool: &PgPool, objects: &std::path::Path) -> pingvas_core::generation::worker::Worker {
    let store = pingvas_core::storage::ImageStore::local(objects).unwrap();
    pingvas_core::generation::worker::Worker::new(
        pingvas_core::tenancy::TenantDb::new(pool.clone()),
        store,
        pingvas_core::config::default_catalog(),
        worker_settings(std::time::Duration::from_secs(30)),
    )
}
