//! A web server process told to stop (SIGTERM) with an event stream open: the stream ends at once
//! (the browser reconnects elsewhere), `/readyz` answers 503 `stopping` while it still accepts
//! requests for `SHUTDOWN_DELAY_SECONDS`, and the process exits cleanly right after that delay,
//! not when the stream would have ended by itself.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::common::{self, TestDatabase, app_with_config, body_json, generate, register_verified};

/// Shared by the in-memory router that queues the job and the process that streams it, so the
/// process accepts the router's access token.
const JWT_SECRET: &str = "shutdown-test-signing-key-0123456789abcdef";
const DELAY: Duration = Duration::from_secs(2);

#[tokio::test]
async fn a_stopping_web_server_ends_its_streams_turns_unready_and_exits_after_its_delay() {
    let test_db = TestDatabase::migrated().await;
    let app = app_with_config(test_db.pool.clone(), common::config(&[("JWT_SECRET_KEY", JWT_SECRET)]));
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    let queued =
        generate(&app, &ada, json!({"prompt": "a penguin", "steps": 2, "width": 64, "height": 64})).await;
    assert_eq!(queued.status(), StatusCode::ACCEPTED);
    let job = body_json(queued).await["job"]["job_id"].as_str().unwrap().to_owned();

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let site = std::env::temp_dir().join(format!("pingvas-shutdown-site-{}", Uuid::new_v4().simple()));
    let env = [
        ("JWT_SECRET_KEY", JWT_SECRET.to_owned()),
        ("TOKEN_ENCRYPTION_KEY", common::TEST_TOKEN_ENCRYPTION_KEY.to_owned()),
        ("IN_PROCESS_WORKER", "false".to_owned()),
        ("SHUTDOWN_DELAY_SECONDS", DELAY.as_secs().to_string()),
        ("LEPTOS_OUTPUT_NAME", "pingvas".to_owned()),
        ("LEPTOS_SITE_ROOT", site.display().to_string()),
        ("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}")),
    ];
    let (mut server, data) = common::server_process("serve", &test_db, &env).await;
    let client = reqwest::Client::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        while !client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the server became ready");

    let mut stream = client
        .get(format!("{base}/api/v1/jobs/{job}/events"))
        .bearer_auth(&ada.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let first = stream.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event: queued"), "{first:?}");

    let told = Instant::now();
    let pid = server.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());

    // The stream ends by itself (the job is still queued: only the stop can end it).
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        // Keep-alive comments may come first; the end is `None` (or a cut connection).
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the event stream was not ended");
    let stream_ended_after = told.elapsed();
    assert!(stream_ended_after < DELAY, "streams end at once, not after the delay: {stream_ended_after:?}");

    let readiness =
        client.get(format!("{base}/readyz")).send().await.expect("still accepting during the delay");
    assert_eq!(readiness.status(), 503);
    assert_eq!(readiness.json::<serde_json::Value>().await.unwrap()["error"]["code"], "stopping");

    let exit = tokio::time::timeout(Duration::from_secs(30), server.wait()).await.expect("the server exited");
    let exited_after = told.elapsed();
    assert!(exit.unwrap().success(), "a server told to stop exits cleanly");
    assert!(exited_after >= DELAY, "it kept accepting for its delay: {exited_after:?}");
    assert!(exited_after < DELAY + Duration::from_secs(8), "it drained promptly: {exited_after:?}");
    println!(
        "stream ended {} ms after SIGTERM; the server exited after {} ms (delay {} s)",
        stream_ended_after.as_millis(),
        exited_after.as_millis(),
        DELAY.as_secs()
    );
    let _ = std::fs::remove_dir_all(data);
    let _ = std::fs::remove_dir_all(site);
}
