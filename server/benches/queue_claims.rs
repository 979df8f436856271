//! Queue claim throughput: how many jobs per second workers take from the PostgreSQL queue
//! (`queue::claim`: the round-robin `FOR UPDATE SKIP LOCKED` pick, the lease and the turn
//! bookkeeping, as the application's role under row-level security), with 1, 2, 4 and 8 workers
//! claiming at once from a queue of `QUEUE_JOBS` (default 2000) jobs of 50 users.
//!
//! Run with `cargo bench -p server --bench queue_claims` (uses `DATABASE_URL`, or the embedded
//! cluster in `.data/`). Each round checks that no job was claimed twice.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::{collections::HashSet, time::Duration, time::Instant};

use contract::ids::WorkerId;
use pingvas_core::{
    db::{self, roles},
    generation::queue,
    secrets,
    tenancy::TenantDb,
};
use sqlx::PgPool;
use support::BenchDatabase;

mod support;

/// Queues `jobs` jobs for `users` users, as the owner (the accept path is measured elsewhere).
async fn fill(owner: &PgPool, users: usize, jobs: usize) {
    sqlx::query("DELETE FROM generation_jobs").execute(owner).await.unwrap();
    sqlx::query("DELETE FROM queue_turns").execute(owner).await.unwrap();
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(owner).await.unwrap();
    for i in usize::try_from(existing).unwrap()..users {
        sqlx::query("INSERT INTO users (email) VALUES ($1)")
            .bind(format!("bench{i}@example.com"))
            .execute(owner)
            .await
            .unwrap();
    }
    sqlx::query(
        "INSERT INTO generation_jobs (user_id, priority, params, images_reserved, quota_period, progress_total)
         SELECT u.user_id, 0, $3::jsonb, 1, now() + interval '1 month', 25
         FROM generate_series(1, $1) AS n
         JOIN LATERAL (SELECT user_id FROM users ORDER BY email OFFSET (n % $2) LIMIT 1) u ON true",
    )
    .bind(i32::try_from(jobs).unwrap())
    .bind(i64::try_from(users).unwrap())
    .bind(
        r#"{"prompt": "bench", "negative_prompt": "", "seed": 1, "steps": 25, "cfg_scale": 7.5,
            "scheduler": "euler_a", "width": 64, "height": 64, "batch_size": 1, "model": "tiny-sd"}"#,
    )
    .execute(owner)
    .await
    .unwrap();
}

#[tokio::main]
async fn main() {
    let jobs: usize = std::env::var("QUEUE_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let database = BenchDatabase::new(4).await;
    let owner = database.pool.clone();
    let role = roles::AppRole {
        name: format!("pingvas_bench_{}", uuid::Uuid::new_v4().simple()),
        password: secrets::random_hex(16).unwrap(),
    };
    {
        let mut conn = owner.acquire().await.unwrap();
        roles::ensure_app_role(&mut conn, &role, "public").await.unwrap();
        roles::grant_app_privileges(&mut conn, &role.name, "public").await.unwrap();
    }
    let app_options =
        database.admin.clone().database(&database.name).username(&role.name).password(&role.password);
    let app_pool = db::pool(app_options, 16);

    println!("queue of {jobs} jobs from 50 users; claim = pick + lease + turn, as the app role");
    for workers in [1, 2, 4, 8] {
        fill(&owner, 50, jobs).await;
        let started = Instant::now();
        let tasks = (0..workers).map(|w| {
            let db = TenantDb::new(app_pool.clone());
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(job) =
                    queue::claim(&db, &WorkerId(format!("bench-{w}")), Duration::from_secs(30)).await.unwrap()
                {
                    mine.push(job.job_id);
                }
                mine
            })
        });
        let mut claimed = Vec::new();
        for task in tasks {
            claimed.extend(task.await.unwrap());
        }
        let seconds = started.elapsed().as_secs_f64();
        let distinct: HashSet<_> = claimed.iter().collect();
        assert_eq!((claimed.len(), distinct.len()), (jobs, jobs), "every job claimed exactly once");
        println!(
            "{workers} worker(s): {jobs} claims in {seconds:.2} s = {:.0} jobs/s",
            jobs as f64 / seconds
        );
    }

    app_pool.close().await;
    database.drop_with_roles(&[&role.name]).await;
}
