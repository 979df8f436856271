//! `/metrics` on real PostgreSQL (issue 35): the web server's scrape passes `promtool check
//! metrics` and labels requests by matched route (never the raw path or a user); the whole
//! queue is counted across users through `queue_stats()`, which a role that may only EXECUTE it
//! can call though the jobs table stays closed to it (the grants `DATABASE_SCALER_ROLE` gets); `METRICS_TOKEN` guards the scrape; a
//! worker counts its jobs, generations and model loads; and a `server worker` process answers
//! probes and scrapes on `WORKER_HTTP_ADDR`.

use std::{io::Write, process::Stdio, time::Duration};

use axum::http::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::common::{
    self, TestDatabase, app, app_with_config, body_text, config, generate, get, get_from, register_verified,
};
use pingvas_core::{
    db::{DbError, roles},
    metrics::Metrics,
};

/// `promtool check metrics` over `text`: its complaints, or `None` when it has none.
fn promtool_complaints(text: &str) -> Option<String> {
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (scripts/test installs Debian's prometheus package)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let said =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (!output.status.success() || !said.trim().is_empty()).then_some(said)
}

/// The value of the sample line `series` (name and labels exactly as rendered) in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn the_web_scrape_passes_promtool_counts_routes_not_paths_and_sees_the_whole_queue() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    let bob = register_verified(&app, &test_db.pool, "bob@example.com").await;
    for user in [&ada, &bob] {
        let queued =
            generate(&app, user, json!({"prompt": "a penguin", "steps": 2, "width": 64, "height": 64})).await;
        assert_eq!(queued.status(), StatusCode::ACCEPTED);
    }
    let unknown = Uuid::new_v4();
    assert_eq!(get(&app, &format!("/api/v1/images/{unknown}")).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(get(&app, "/healthz").await.status(), StatusCode::OK);
    get(&app, "/no/such/page.php").await;

    let scrape = get(&app, "/metrics").await;
    assert_eq!(scrape.status(), StatusCode::OK);
    assert!(scrape.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = body_text(scrape).await;
    assert_eq!(promtool_complaints(&text), None, "promtool check metrics");

    let route = r#"pingvas_http_request_duration_seconds_count{method="GET",route="/api/v1/images/{id}",status="401"}"#;
    assert_eq!(sample(&text, route), Some(1.0), "{text}");
    assert_eq!(
        sample(
            &text,
            r#"pingvas_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}"#
        ),
        Some(1.0)
    );
    for private in [unknown.to_string(), "page.php".into(), "ada@".into(), ada.user_id.clone()] {
        assert!(!text.contains(&private), "{private} in a label");
    }
    // Both users' jobs: the app's role alone would see neither outside a request.
    assert_eq!(sample(&text, r#"pingvas_queue_jobs{state="queued"}"#), Some(2.0));
    assert_eq!(sample(&text, r#"pingvas_queue_jobs{state="running"}"#), Some(0.0));
    assert!(sample(&text, r#"pingvas_queue_oldest_job_age_seconds{state="queued"}"#).unwrap() >= 0.0);
    assert_eq!(sample(&text, "pingvas_database_up"), Some(1.0));
    assert_eq!(
        sample(&text, "pingvas_mail_outbox_pending").map(|n| n >= 2.0),
        Some(true),
        "verification mail"
    );
    assert!(sample(&text, r#"pingvas_db_pool_connections{state="max"}"#).unwrap() >= 1.0);
    assert!(text.contains("pingvas_build_info{commit="));
}

/// What KEDA's PostgreSQL scaler does: a role with nothing but EXECUTE on `queue_stats()` reads
/// the counts, and still cannot read a job.
#[tokio::test]
async fn a_role_that_may_only_execute_queue_stats_reads_counts_and_no_jobs() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    generate(&app, &ada, json!({"prompt": "a penguin", "steps": 2, "width": 64, "height": 64})).await;
    let role = format!("scaler_{}", Uuid::new_v4().simple());
    let mut conn = test_db.owner_pool.acquire().await.unwrap();
    // What `server migrate run` grants DATABASE_SCALER_ROLE, once the operator has made it.
    let missing = roles::grant_scaler_privileges(&mut conn, &role, "public").await.unwrap_err();
    assert!(matches!(missing, DbError::ScalerRoleMissing(_)), "{missing}");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE ROLE {role} NOLOGIN")))
        .execute(&mut *conn)
        .await
        .unwrap();
    roles::grant_scaler_privileges(&mut conn, &role, "public").await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("SET ROLE {role}"))).execute(&mut *conn).await.unwrap();
    let load: i64 = sqlx::query_scalar(
        "SELECT sum(jobs)::bigint FROM queue_stats() WHERE state IN ('queued', 'running')",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(load, 1);
    let refused = sqlx::query("SELECT count(*) FROM generation_jobs").execute(&mut *conn).await.unwrap_err();
    assert!(refused.to_string().contains("permission denied"), "{refused}");
    // The function's own setting ended with it: nothing leaks into the caller's session.
    let task: Option<String> =
        sqlx::query_scalar("SELECT nullif(current_setting('app.background_task', true), '')")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(task, None);
    sqlx::query("RESET ROLE").execute(&mut *conn).await.unwrap();
    for statement in [format!("DROP OWNED BY {role}"), format!("DROP ROLE {role}")] {
        sqlx::query(sqlx::AssertSqlSafe(statement)).execute(&mut *conn).await.unwrap();
    }
}

#[tokio::test]
async fn with_a_metrics_token_only_a_scraper_bearing_it_is_answered() {
    let test_db = TestDatabase::migrated().await;
    let token = "0123456789abcdef0123456789abcdef";
    let app = app_with_config(test_db.pool.clone(), config(&[("METRICS_TOKEN", token)]));
    let refused = get(&app, "/metrics").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(!body_text(refused).await.contains("pingvas_"));
    let wrong = get_from(
        &app,
        common::PEER,
        "/metrics",
        &[("authorization", "Bearer 0123456789abcdef0123456789abcdeX")],
    );
    assert_eq!(wrong.await.status(), StatusCode::UNAUTHORIZED);
    let bearer = format!("Bearer {token}");
    let answered = get_from(&app, common::PEER, "/metrics", &[("authorization", &bearer)]).await;
    assert_eq!(answered.status(), StatusCode::OK);
    assert!(body_text(answered).await.contains("pingvas_database_up 1"));
}

#[tokio::test]
async fn a_worker_counts_its_queue_wait_model_load_generation_and_outcome() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    generate(&app, &ada, json!({"prompt": "a penguin", "steps": 2, "width": 64, "height": 64})).await;
    let objects = std::env::temp_dir().join(format!("pingvas-metrics-{}", Uuid::new_v4().simple()));
    let metrics = Metrics::new().unwrap();
    let mut worker = common::cpu_worker(&test_db.pool, &objects).with_metrics(metrics.clone());
    assert!(worker.run_next().await.unwrap());
    let text = metrics.render();
    assert_eq!(sample(&text, r#"pingvas_jobs_finished_total{outcome="completed"}"#), Some(1.0), "{text}");
    assert_eq!(sample(&text, "pingvas_job_queue_wait_seconds_count"), Some(1.0));
    let starter = pingvas_core::config::STARTER_MODEL;
    let labels = format!(r#"{{device="cpu",model="{starter}"}}"#);
    assert_eq!(sample(&text, &format!("pingvas_model_load_seconds_count{labels}")), Some(1.0));
    assert_eq!(sample(&text, &format!("pingvas_generation_seconds_count{labels}")), Some(1.0));
    assert_eq!(promtool_complaints(&text), None);
    let _ = std::fs::remove_dir_all(objects);
}

/// Sends `GET path` to `address` and returns the status and body.
async fn http_get(address: &str, path: &str) -> Option<(u16, String)> {
    let response = reqwest::get(format!("http://{address}{path}")).await.ok()?;
    Some((response.status().as_u16(), response.text().await.ok()?))
}

#[tokio::test]
async fn a_worker_process_answers_probes_and_scrapes_and_stops_cleanly_when_told() {
    let test_db = TestDatabase::migrated().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address = format!("127.0.0.1:{port}");
    let (mut child, data) =
        common::server_process("worker", &test_db, &[("WORKER_HTTP_ADDR", address.clone())]).await;

    // Alive as soon as it listens; ready once its model is warm. Waits for the answer itself.
    let ready = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            match http_get(&address, "/readyz").await {
                Some((200, body)) => return body,
                Some((503, body)) => assert!(body.contains("not_warm"), "{body}"),
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the worker became ready");
    assert!(ready.contains("ready"));
    assert_eq!(http_get(&address, "/healthz").await.map(|r| r.0), Some(200));
    let (status, text) = http_get(&address, "/metrics").await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(promtool_complaints(&text), None);
    assert_eq!(sample(&text, "pingvas_database_up"), Some(1.0));
    assert!(text.contains("pingvas_model_load_seconds_count"), "the warm-up's load: {text}");
    // The queue is the web servers' to report, once for all.
    assert!(!text.contains("pingvas_queue_jobs"), "{text}");

    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let exit = tokio::time::timeout(Duration::from_secs(60), child.wait()).await.expect("the worker exited");
    assert!(exit.unwrap().success());
    let _ = std::fs::remove_dir_all(data);
}
