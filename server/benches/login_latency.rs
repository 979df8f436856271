//! Login latency: how long `POST /api/v1/auth/login` takes end to end inside the server (routing,
//! argon2id verification, PostgreSQL, token issue), for a right password and for an unknown
//! email, which must cost about the same.
//!
//! Run with `cargo bench -p server --bench login_latency` (uses `DATABASE_URL`, or the embedded
//! cluster in `.data/`). Prints p50/p90/min/max over `LOGIN_SAMPLES` (default 50) sequential logins.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use axum::{Router, body::Body, http::Request};
use leptos::config::LeptosOptions;
use pingvas_core::{config::Config, secrets};
use server::http::{AppState, router};
use support::BenchDatabase;
use tower::ServiceExt;

mod support;

const PASSWORD: &str = "correct horse battery staple 42";

async fn post(app: &Router, path: &str, body: &str) -> (u16, Duration) {
    let request =
        Request::post(path).header("content-type", "application/json").body(Body::from(body.to_owned()));
    let start = Instant::now();
    let response = app.clone().oneshot(request.unwrap()).await.unwrap();
    (response.status().as_u16(), start.elapsed())
}

fn summary(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label:<28} n={:<3} p50={:>7.1} ms  p90={:>7.1} ms  min={:>7.1} ms  max={:>7.1} ms",
        times.len(),
        ms(at(0.5)),
        ms(at(0.9)),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
}

#[tokio::main]
async fn main() {
    let samples: usize = std::env::var("LOGIN_SAMPLES").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let database = BenchDatabase::new(10).await;
    let pool = database.pool.clone();

    let vars = [("AUTH_RATE_LIMIT_PER_MINUTE", "100000"), ("API_RATE_LIMIT_PER_MINUTE", "1000000")];
    let config = Config::from_vars(
        |key| vars.iter().find(|(k, _)| *k == key).map(|(_, v)| (*v).to_owned()),
        |_, which| Ok(secrets::random_hex(which.random_bytes()).unwrap()),
    )
    .unwrap();
    let options = LeptosOptions::builder().output_name("pingvas").site_root("target/site").build();
    let app = router(AppState::new(pool.clone(), options, config).unwrap());

    let (status, _) = post(
        &app,
        "/api/v1/auth/register",
        &format!(r#"{{"email":"bench@example.com","password":"{PASSWORD}"}}"#),
    )
    .await;
    assert_eq!(status, 201);
    let good = format!(r#"{{"email":"bench@example.com","password":"{PASSWORD}"}}"#);
    let unknown = format!(r#"{{"email":"nobody@example.com","password":"{PASSWORD}"}}"#);
    // Warm-up: connections, the dummy hash, caches.
    for _ in 0..3 {
        post(&app, "/api/v1/auth/login", &good).await;
        post(&app, "/api/v1/auth/login", &unknown).await;
    }
    let (mut ok_times, mut unknown_times) = (Vec::new(), Vec::new());
    for _ in 0..samples {
        let (status, took) = post(&app, "/api/v1/auth/login", &good).await;
        assert_eq!(status, 200);
        ok_times.push(took);
        let (status, took) = post(&app, "/api/v1/auth/login", &unknown).await;
        assert_eq!(status, 401);
        unknown_times.push(took);
    }
    println!(
        "argon2id m=19456 KiB, t=2, p=1; {} CPU threads",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    summary("login (right password)", ok_times);
    summary("login (unknown email)", unknown_times);

    database.drop_with_roles(&[]).await;
}
