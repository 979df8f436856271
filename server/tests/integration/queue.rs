//! The generation queue on real PostgreSQL: round-robin fairness within a priority, plan
//! priority, leases that expire and re-queue (then fail and refund), cancels that refund, workers
//! that never run one job twice, a worker killed mid-job whose job another worker completes
//! exactly once, and a worker shutting down that hands its job back at once; with the real
//! engine and the committed tiny model.

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::{collections::HashSet, time::Duration};

use axum::http::StatusCode;
use common::{
    SignedIn, TestDatabase, app, body_json, generate, post_as, quota_row, register_verified, set_plan,
};
use contract::ids::{ImageId, JobId, UserId, WorkerId};
use contract::plans::Plan;
use pingvas_core::{
    config::default_catalog,
    generation::{
        queue::{self, Recovered},
        worker::{Worker, image_id},
    },
    storage::ImageStore,
    tenancy::TenantDb,
};
use serde_json::json;
use uuid::Uuid;

async fn queue_job(app: &axum::Router, user: &SignedIn, body: serde_json::Value) -> JobId {
    let response = generate(app, user, body).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    body_json(response).await["job"]["job_id"].as_str().unwrap().parse().unwrap()
}

fn user_id(user: &SignedIn) -> UserId {
    UserId(user.user_id.parse().unwrap())
}

fn worker(name: &str) -> WorkerId {
    WorkerId(name.to_owned())
}

const LEASE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn within_a_priority_users_take_turns_and_higher_plans_go_first() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let db = TenantDb::new(test_db.pool.clone());
    let (ada, bob, cy) = (
        register_verified(&app, &test_db.pool, "ada@example.com").await,
        register_verified(&app, &test_db.pool, "bob@example.com").await,
        register_verified(&app, &test_db.pool, "cy@example.com").await,
    );
    // Ada queues three jobs before Bob and Cy queue one each.
    let mut adas = Vec::new();
    for i in 0..3 {
        adas.push(queue_job(&app, &ada, json!({"prompt": format!("ada {i}")})).await);
    }
    let bobs = queue_job(&app, &bob, json!({"prompt": "bob"})).await;
    let cys = queue_job(&app, &cy, json!({"prompt": "cy"})).await;
    // The positions the event stream shows follow the same turns: A1, B, C, A2, A3.
    let mut positions = Vec::new();
    for job in [adas[0], bobs, cys, adas[1], adas[2]] {
        positions.push(queue::position(&db, job).await.unwrap().unwrap());
    }
    assert_eq!(positions, vec![0, 1, 2, 3, 4]);

    let mut order = Vec::new();
    while let Some(job) = queue::claim(&db, &worker("w1"), LEASE).await.unwrap() {
        order.push(job.user_id);
    }
    let (a, b, c) = (user_id(&ada), user_id(&bob), user_id(&cy));
    assert_eq!(order, vec![a, b, c, a, a], "one job each in turn, then the rest of Ada's");
    finish_running(&test_db.owner_pool).await;

    // A Pro user's job, queued last, is claimed before the Free users' queued earlier.
    let pro = register_verified(&app, &test_db.pool, "pro@example.com").await;
    set_plan(&test_db.owner_pool, &pro, Plan::Pro).await;
    let ada_again = queue_job(&app, &ada, json!({"prompt": "ada again"})).await;
    let pro_job = queue_job(&app, &pro, json!({"prompt": "pro"})).await;
    assert_eq!(queue::position(&db, pro_job).await.unwrap(), Some(0));
    assert_eq!(queue::position(&db, ada_again).await.unwrap(), Some(1), "behind the higher plan's job");
    let first = queue::claim(&db, &worker("w1"), LEASE).await.unwrap().unwrap();
    assert_eq!((first.job_id, first.user_id), (pro_job, user_id(&pro)));
    assert_eq!(queue::claim(&db, &worker("w1"), LEASE).await.unwrap().unwrap().user_id, a);
}

#[tokio::test]
async fn an_expired_lease_is_queued_again_and_fails_with_a_refund_after_the_last_attempt() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let db = TenantDb::new(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    let job = queue_job(&app, &ada, json!({"prompt": "a penguin"})).await;
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 1);

    let short = Duration::from_millis(300);
    for attempt in 1..=2 {
        let claimed = queue::claim(&db, &worker("dying"), short).await.unwrap().unwrap();
        assert_eq!((claimed.job_id, claimed.attempt), (job, attempt));
        // A live lease is left alone.
        assert_eq!(queue::recover_expired(&db, 2).await.unwrap(), Recovered::default());
        tokio::time::sleep(short * 2).await;
        // The heartbeat of a worker that lost its lease is refused…
        let recovered = queue::recover_expired(&db, 2).await.unwrap();
        if attempt == 1 {
            assert_eq!(recovered, Recovered { requeued: 1, failed: 0 });
            assert!(matches!(
                queue::heartbeat(&db, job, &worker("dying"), short, None).await,
                Err(queue::QueueError::Lost)
            ));
        } else {
            // …and after the last attempt the job fails and its image is refunded.
            assert_eq!(recovered, Recovered { requeued: 0, failed: 1 });
        }
    }
    let body = body_json(common::get_as(&app, &format!("/api/v1/jobs/{job}"), &ada.bearer()).await).await;
    assert_eq!(body["status"], "failed");
    assert!(body["error"].as_str().unwrap().contains("stopped responding 2 times"), "{body}");
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 0);
    assert!(queue::claim(&db, &worker("w2"), LEASE).await.unwrap().is_none());
}

#[tokio::test]
async fn cancelling_a_running_job_charges_the_image_in_progress_refunds_the_rest_and_takes_it_from_its_worker()
 {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let db = TenantDb::new(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    set_plan(&test_db.owner_pool, &ada, Plan::Pro).await;
    let job = queue_job(&app, &ada, json!({"prompt": "penguins", "batch_size": 2})).await;
    queue::claim(&db, &worker("w1"), LEASE).await.unwrap().unwrap();
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 2);

    let response = post_as(&app, &format!("/api/v1/jobs/{job}/cancel"), &ada).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cancelled = body_json(response).await;
    // SECURITY.md 38: the first image was being made (its GPU time spent), the second not begun.
    assert_eq!(
        (cancelled["status"].as_str(), cancelled["images_charged"].as_i64()),
        (Some("cancelled"), Some(1))
    );
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 1);
    assert!(matches!(
        queue::heartbeat(&db, job, &worker("w1"), LEASE, Some((3, None))).await,
        Err(queue::QueueError::Lost)
    ));
    let again = post_as(&app, &format!("/api/v1/jobs/{job}/cancel"), &ada).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 1, "refunded once");
}

#[tokio::test]
async fn concurrent_workers_never_claim_one_job_twice() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    // Forty jobs from fourteen users (a Free user holds at most three at once).
    let mut users = Vec::new();
    for u in 0..14 {
        users.push(
            common::register_verified_from(
                &app,
                &test_db.pool,
                &format!("192.0.2.{}", 100 + u),
                &format!("u{u}@example.com"),
            )
            .await,
        );
    }
    let mut queued = HashSet::new();
    for i in 0..40 {
        queued.insert(queue_job(&app, &users[i % 14], json!({"prompt": format!("job {i}")})).await);
    }
    let workers = (0..6).map(|w| {
        let db = TenantDb::new(test_db.pool.clone());
        tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = queue::claim(&db, &WorkerId(format!("w{w}")), LEASE).await.unwrap() {
                mine.push(job.job_id);
            }
            mine
        })
    });
    let mut claimed = Vec::new();
    for worker in workers {
        claimed.extend(worker.await.unwrap());
    }
    let distinct: HashSet<JobId> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), 40, "every job claimed once: {claimed:?}");
    assert_eq!(distinct, queued);
}

/// Marks every running job completed, as workers would have: their owners may queue again.
async fn finish_running(owner_pool: &sqlx::PgPool) {
    sqlx::query("UPDATE generation_jobs SET status = 'completed', finished_at = now(), lease_expires_at = NULL WHERE status = 'running'")
        .execute(owner_pool)
        .await
        .unwrap();
}

/// A `server worker` process on `test_db`, storing into `objects`, with leases of `lease_seconds`.
async fn worker_process(test_db: &TestDatabase, objects: &str, lease_seconds: u32) -> tokio::process::Child {
    let env = [("OBJECT_STORE_URL", objects.to_owned()), ("WORKER_LEASE_SECONDS", lease_seconds.to_string())];
    common::server_process("worker", test_db, &env).await.0
}

/// The acceptance test: a worker process killed (SIGKILL) after storing the first of two images;
/// its lease runs out, a second worker resumes the job, and it completes exactly once: two
/// images, the first one not duplicated, both files in the store, the quota charged for two.
#[tokio::test]
async fn a_worker_killed_mid_job_leaves_it_to_another_that_completes_it_exactly_once() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    set_plan(&test_db.owner_pool, &ada, Plan::Pro).await;
    let objects = tempdir("killed-worker");
    let job = queue_job(
        &app,
        &ada,
        json!({"prompt": "a penguin in a tuxedo", "batch_size": 2, "steps": 30, "width": 96, "height": 96, "seed": 7}),
    )
    .await;

    let mut child = worker_process(&test_db, &objects, 2).await;

    // Wait for the first image to be stored, then kill the worker without warning.
    let produced = || async {
        sqlx::query_scalar::<_, i32>("SELECT images_produced FROM generation_jobs WHERE job_id = $1")
            .bind(job)
            .fetch_one(&test_db.owner_pool)
            .await
            .unwrap()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while produced().await < 1 {
        assert!(tokio::time::Instant::now() < deadline, "the first worker never stored an image");
        assert!(child.try_wait().unwrap().is_none(), "the worker process exited early");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let status: String = sqlx::query_scalar("SELECT status FROM generation_jobs WHERE job_id = $1")
        .bind(job)
        .fetch_one(&test_db.owner_pool)
        .await
        .unwrap();
    assert_eq!(status, "running", "killed mid-job: the second image was not made yet");

    let store = ImageStore::local(std::path::Path::new(&objects)).unwrap();
    let mut second = Worker::new(
        TenantDb::new(test_db.pool.clone()),
        store.clone(),
        default_catalog(),
        common::worker_settings(Duration::from_secs(2)),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let (status, attempts): (String, i32) =
            sqlx::query_as("SELECT status, attempts FROM generation_jobs WHERE job_id = $1")
                .bind(job)
                .fetch_one(&test_db.owner_pool)
                .await
                .unwrap();
        if status == "completed" {
            assert_eq!(attempts, 2);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the job was never completed (status {status})");
        if !second.run_next().await.unwrap() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    let body = body_json(common::get_as(&app, &format!("/api/v1/jobs/{job}"), &ada.bearer()).await).await;
    assert_eq!(body["status"], "completed");
    let ids: Vec<ImageId> =
        body["image_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().parse().unwrap()).collect();
    let expected: HashSet<ImageId> = [image_id(job, 0), image_id(job, 1)].into();
    assert_eq!(ids.iter().copied().collect::<HashSet<_>>(), expected);
    assert_eq!(ids.len(), 2);
    assert_eq!(
        quota_row(&test_db.owner_pool, &ada).await.1,
        2,
        "charged for the two images, refunded nothing"
    );
    let (device, timings): (Option<String>, serde_json::Value) =
        sqlx::query_as("SELECT device, timings FROM generation_jobs WHERE job_id = $1")
            .bind(job)
            .fetch_one(&test_db.owner_pool)
            .await
            .unwrap();
    assert_eq!(device.as_deref(), Some("cpu"));
    assert!(timings["denoise_ms"].as_f64().unwrap() > 0.0, "{timings}");
    for (index, id) in [image_id(job, 0), image_id(job, 1)].into_iter().enumerate() {
        let image =
            body_json(common::get_as(&app, &format!("/api/v1/images/{id}"), &ada.bearer()).await).await;
        assert_eq!(image["params"]["seed"], 7 + index, "image {index} keeps the seed that remakes it");
        assert_eq!((image["width"].as_i64(), image["height"].as_i64()), (Some(96), Some(96)));
    }
}

/// Waits until a worker has reported a step of `job`.
async fn wait_for_progress(owner_pool: &sqlx::PgPool, job: JobId) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let step: i32 = sqlx::query_scalar("SELECT progress_step FROM generation_jobs WHERE job_id = $1")
            .bind(job)
            .fetch_one(owner_pool)
            .await
            .unwrap();
        if step > 0 {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the worker never reported progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn tempdir(what: &str) -> String {
    let dir = std::env::temp_dir().join(format!("pingvas-{what}-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.display().to_string()
}

/// A job cancelled while a worker is making it: the worker stops at its next progress report
/// (the engine is told between steps) and records nothing; the image it was making is charged.
#[tokio::test]
async fn a_job_cancelled_while_running_stops_its_worker_and_leaves_nothing_behind() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    let job =
        queue_job(&app, &ada, json!({"prompt": "a slow penguin", "steps": 30, "width": 256, "height": 256}))
            .await;
    let objects = tempdir("cancelled");
    let store = ImageStore::local(std::path::Path::new(&objects)).unwrap();
    let mut worker = Worker::new(
        TenantDb::new(test_db.pool.clone()),
        store,
        default_catalog(),
        common::worker_settings(LEASE),
    );
    let running = tokio::spawn(async move { worker.run_next().await.unwrap() });

    wait_for_progress(&test_db.owner_pool, job).await;
    let cancelled = post_as(&app, &format!("/api/v1/jobs/{job}/cancel"), &ada).await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let started = std::time::Instant::now();
    assert!(running.await.unwrap(), "the worker had a job");
    println!("worker stopped {} ms after the cancel", started.elapsed().as_millis());

    let (status, produced, step): (String, i32, i32) = sqlx::query_as(
        "SELECT status, images_produced, progress_step FROM generation_jobs WHERE job_id = $1",
    )
    .bind(job)
    .fetch_one(&test_db.owner_pool)
    .await
    .unwrap();
    assert_eq!((status.as_str(), produced), ("cancelled", 0));
    assert!(step < 30, "stopped before the last step ({step})");
    let images: i64 =
        sqlx::query_scalar("SELECT count(*) FROM images").fetch_one(&test_db.owner_pool).await.unwrap();
    assert_eq!(images, 0);
    assert_eq!(std::fs::read_dir(&objects).unwrap().count(), 0, "no files stored");
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 1, "the image in progress is charged");
}

/// A failure that may pass (here the object store: its folder was replaced by a file) gives the
/// job back for another try, up to the attempt limit; then it fails and refunds.
#[tokio::test]
async fn a_storage_failure_is_retried_a_bounded_number_of_times_then_fails_and_refunds() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    let job = queue_job(&app, &ada, json!({"prompt": "a penguin", "steps": 2})).await;
    let objects = tempdir("broken-store");
    let store = ImageStore::local(std::path::Path::new(&objects)).unwrap();
    std::fs::remove_dir(&objects).unwrap();
    std::fs::write(&objects, b"not a folder").unwrap();
    let mut settings = common::worker_settings(LEASE);
    settings.max_attempts = 2;
    let mut worker = Worker::new(TenantDb::new(test_db.pool.clone()), store, default_catalog(), settings);

    let state = || async {
        sqlx::query_as::<_, (String, i32)>("SELECT status, attempts FROM generation_jobs WHERE job_id = $1")
            .bind(job)
            .fetch_one(&test_db.owner_pool)
            .await
            .unwrap()
    };
    assert!(worker.run_next().await.unwrap());
    assert_eq!(state().await, ("queued".to_owned(), 1), "given back after the first failure");
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 1, "still reserved");
    assert!(worker.run_next().await.unwrap());
    assert_eq!(state().await, ("failed".to_owned(), 2), "failed after the last attempt");
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 0, "and refunded");
    assert!(!worker.run_next().await.unwrap(), "nothing left to run");
}

/// A `server worker` process sent SIGTERM (a deploy, a scale-down) while making an image stops
/// at the engine's next step and hands its job back at once, without spending one of the job's
/// tries, then exits; another worker completes the job, charged once. The lease is long (30 s),
/// so a job left to its lease would still show as running.
#[tokio::test]
async fn a_worker_told_to_stop_mid_job_hands_it_back_without_spending_a_try() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    let job = queue_job(
        &app,
        &ada,
        // 256 px: long enough (~16x a 64 px picture) that the signal lands mid-job even on a busy
        // machine; at 128 px the starter model sometimes finished first.
        json!({"prompt": "a patient penguin", "steps": 30, "width": 256, "height": 256}),
    )
    .await;
    let objects = tempdir("stopped");
    let mut child = worker_process(&test_db, &objects, 30).await;

    wait_for_progress(&test_db.owner_pool, job).await;
    let pid = child.id().unwrap().to_string();
    let started = std::time::Instant::now();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let exit = tokio::time::timeout(Duration::from_secs(60), child.wait()).await.expect("the worker exited");
    assert!(exit.unwrap().success(), "a worker told to stop exits cleanly");
    println!("worker handed its job back and exited {} ms after SIGTERM", started.elapsed().as_millis());

    let (status, attempts, worker_id, step): (String, i32, Option<String>, i32) = sqlx::query_as(
        "SELECT status, attempts, worker_id, progress_step FROM generation_jobs WHERE job_id = $1",
    )
    .bind(job)
    .fetch_one(&test_db.owner_pool)
    .await
    .unwrap();
    assert_eq!((status.as_str(), attempts, worker_id, step), ("queued", 0, None, 0));
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 1, "still reserved, not refunded");

    let store = ImageStore::local(std::path::Path::new(&objects)).unwrap();
    let mut next = Worker::new(
        TenantDb::new(test_db.pool.clone()),
        store,
        default_catalog(),
        common::worker_settings(LEASE),
    );
    assert!(next.run_next().await.unwrap());
    let (status, attempts, produced): (String, i32, i32) =
        sqlx::query_as("SELECT status, attempts, images_produced FROM generation_jobs WHERE job_id = $1")
            .bind(job)
            .fetch_one(&test_db.owner_pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts, produced), ("completed", 1, 1));
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 1, "charged once");
}
