//! Generation requests against monthly quotas (SECURITY.md 34) and plan gates, through the REST
//! API on real PostgreSQL as the application's role.

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used)]

use crate::common;

use axum::http::{StatusCode, header::RETRY_AFTER};
use common::{
    TestDatabase, app, app_with_config, body_json, config, generate, get_as, post_as, quota_row,
    register_verified, send_as, set_plan,
};
use contract::plans::Plan;
use pingvas_core::{generation::jobs, quota, tenancy::TenantDb};
use serde_json::{Value, json};

async fn me(app: &axum::Router, user: &common::SignedIn) -> Value {
    body_json(get_as(app, "/api/v1/users/me", &user.bearer()).await).await
}

/// SECURITY.md 34: 50 requests at once for a user with one image left: exactly one is accepted,
/// the others get 429 `quota_exceeded`, and usage ends at the limit, never above.
#[tokio::test]
async fn s34_fifty_parallel_requests_at_quota_l_minus_1_accept_exactly_one() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    sqlx::query("UPDATE users SET monthly_images_generated = 99 WHERE user_id = $1::uuid")
        .bind(&ada.user_id)
        .execute(&test_db.owner_pool)
        .await
        .unwrap();

    let requests = (0..50).map(|i| {
        let (app, ada) = (app.clone(), ada.clone());
        tokio::spawn(async move { generate(&app, &ada, json!({"prompt": format!("penguin {i}")})).await })
    });
    let mut statuses = Vec::new();
    let mut refusal = None;
    for request in requests {
        let response = request.await.unwrap();
        statuses.push(response.status());
        if response.status() == StatusCode::TOO_MANY_REQUESTS && refusal.is_none() {
            let retry_after = response.headers().get(RETRY_AFTER).cloned();
            refusal = Some((retry_after, body_json(response).await));
        }
    }
    let accepted = statuses.iter().filter(|s| **s == StatusCode::ACCEPTED).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((accepted, refused), (1, 49), "{statuses:?}");
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await, (Some(100), 100));
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM generation_jobs")
        .fetch_one(&test_db.owner_pool)
        .await
        .unwrap();
    assert_eq!(jobs, 1, "refused requests leave no job behind");

    let (retry_after, body) = refusal.unwrap();
    assert_eq!(body["error"]["code"], "quota_exceeded");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Monthly quota exceeded") && message.contains("Upgrade to the Pro plan"),
        "{message}"
    );
    let seconds: u64 = retry_after.unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=31 * 24 * 3600).contains(&seconds), "Retry-After {seconds} runs to the monthly reset");
}

/// SECURITY.md 38: a Free user holds at most three jobs queued or running; ten requests at once
/// queue exactly three, the rest get 429 `too_many_jobs` and reserve nothing; cancelling one
/// makes room for one more.
#[tokio::test]
async fn s38_ten_parallel_requests_queue_only_the_plans_jobs_at_once() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    let limit = Plan::Free.limits().max_active_jobs;
    assert_eq!(limit, 3);

    let requests = (0..10).map(|i| {
        let (app, ada) = (app.clone(), ada.clone());
        tokio::spawn(async move { generate(&app, &ada, json!({"prompt": format!("penguin {i}")})).await })
    });
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    for request in requests {
        let response = request.await.unwrap();
        match response.status() {
            StatusCode::ACCEPTED => accepted.push(body_json(response).await["job"]["job_id"].clone()),
            StatusCode::TOO_MANY_REQUESTS => refused.push(body_json(response).await),
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((accepted.len(), refused.len()), (3, 7));
    assert_eq!(refused[0]["error"]["code"], "too_many_jobs");
    assert!(refused[0]["error"]["message"].as_str().unwrap().contains("the most the Free plan allows"));
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 3, "refused requests reserve nothing");

    let cancel = format!("/api/v1/jobs/{}/cancel", accepted[0].as_str().unwrap());
    assert_eq!(post_as(&app, &cancel, &ada).await.status(), StatusCode::OK);
    assert_eq!(generate(&app, &ada, json!({"prompt": "one more"})).await.status(), StatusCode::ACCEPTED);
    assert_eq!(
        generate(&app, &ada, json!({"prompt": "too many"})).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// SECURITY.md 34, refunds: a cancelled job gives back all its images, a failed one those it did
/// not produce, each exactly once.
#[tokio::test]
async fn s34_a_cancelled_or_failed_job_refunds_what_it_did_not_produce_once() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    set_plan(&test_db.owner_pool, &ada, Plan::Pro).await;

    let response = generate(&app, &ada, json!({"prompt": "two penguins", "batch_size": 4})).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let job = body_json(response).await["job"].clone();
    assert_eq!((job["status"].as_str(), job["images_charged"].as_i64()), (Some("queued"), Some(4)));
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 4);
    assert_eq!(me(&app, &ada).await["quota"]["remaining"], 996);

    let cancel = format!("/api/v1/jobs/{}/cancel", job["job_id"].as_str().unwrap());
    let response = post_as(&app, &cancel, &ada).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cancelled = body_json(response).await;
    assert_eq!(
        (cancelled["status"].as_str(), cancelled["images_charged"].as_i64()),
        (Some("cancelled"), Some(0))
    );
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 0);
    let again = post_as(&app, &cancel, &ada).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(body_json(again).await["error"]["code"], "already_finished");
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 0, "no second refund");

    // A job that made one image of three before its worker gave up refunds two.
    let response = generate(&app, &ada, json!({"prompt": "three penguins", "batch_size": 3})).await;
    let job_id: contract::ids::JobId =
        body_json(response).await["job"]["job_id"].as_str().unwrap().parse().unwrap();
    sqlx::query("UPDATE generation_jobs SET status = 'running', images_produced = 1 WHERE job_id = $1")
        .bind(job_id)
        .execute(&test_db.owner_pool)
        .await
        .unwrap();
    let tenants = TenantDb::new(test_db.pool.clone());
    assert!(jobs::fail(&tenants, job_id, "The GPU ran out of memory.").await.unwrap());
    assert!(!jobs::fail(&tenants, job_id, "again").await.unwrap(), "a finished job stays finished");
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 1);
    let failed = body_json(get_as(&app, &format!("/api/v1/jobs/{job_id}"), &ada.bearer()).await).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(
        (failed["error"].as_str(), failed["images_charged"].as_i64()),
        (Some("The GPU ran out of memory."), Some(1))
    );
}

/// The month rolls over lazily on access (read and reserve) and for everyone periodically; a
/// refund for a job of the previous month does not lower the new month's count.
#[tokio::test]
async fn quotas_reset_monthly_lazily_and_periodically_and_old_refunds_do_not_leak_into_the_new_month() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    let bob = register_verified(&app, &test_db.pool, "bob@example.com").await;
    let old = body_json(generate(&app, &ada, json!({"prompt": "last month"})).await).await["job"]["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(me(&app, &ada).await["quota"]["used"], 1);

    // Ada's month ends (as if the calendar turned): the month her job was reserved in is over.
    let month_end = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    sqlx::query(
        "UPDATE users SET quota_reset_date = $2, monthly_images_generated = 100 WHERE user_id = $1::uuid",
    )
    .bind(&ada.user_id)
    .bind(month_end)
    .execute(&test_db.owner_pool)
    .await
    .unwrap();
    sqlx::query("UPDATE generation_jobs SET quota_period = $2 WHERE job_id = $1::uuid")
        .bind(&old)
        .bind(month_end)
        .execute(&test_db.owner_pool)
        .await
        .unwrap();
    let quota = me(&app, &ada).await["quota"].clone();
    assert_eq!(
        (quota["used"].as_i64(), quota["remaining"].as_i64(), quota["limit"].as_i64()),
        (Some(0), Some(100), Some(100))
    );
    let resets_at = time::OffsetDateTime::parse(
        quota["resets_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        resets_at > time::OffsetDateTime::now_utc()
            && resets_at.day() == 1
            && resets_at.time() == time::Time::MIDNIGHT
    );

    // Using the quota writes the reset, then reserves in the new month.
    let new = body_json(generate(&app, &ada, json!({"prompt": "this month"})).await).await["job"]["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 1);
    assert_eq!(post_as(&app, &format!("/api/v1/jobs/{old}/cancel"), &ada).await.status(), StatusCode::OK);
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 1, "last month's refund is not this month's");
    assert_eq!(post_as(&app, &format!("/api/v1/jobs/{new}/cancel"), &ada).await.status(), StatusCode::OK);
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 0);

    // The periodic task resets everyone whose month is over, and nobody else.
    sqlx::query("UPDATE users SET monthly_images_generated = 7, quota_reset_date = now() - interval '1 day' WHERE user_id = $1::uuid")
        .bind(&bob.user_id)
        .execute(&test_db.owner_pool)
        .await
        .unwrap();
    sqlx::query("UPDATE users SET monthly_images_generated = 5 WHERE user_id = $1::uuid")
        .bind(&ada.user_id)
        .execute(&test_db.owner_pool)
        .await
        .unwrap();
    let mut conn = test_db.pool.acquire().await.unwrap();
    assert_eq!(quota::reset_all_due(&mut conn).await.unwrap(), 1);
    assert_eq!(quota_row(&test_db.owner_pool, &bob).await.1, 0);
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 5);
}

#[tokio::test]
async fn users_me_reports_plan_and_quota_and_enterprise_is_unlimited_by_default() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    let profile = me(&app, &ada).await;
    assert_eq!(profile["subscription_plan"], "free");
    assert_eq!((profile["quota"]["limit"].as_i64(), profile["quota"]["used"].as_i64()), (Some(100), Some(0)));

    set_plan(&test_db.owner_pool, &ada, Plan::Enterprise).await;
    sqlx::query("UPDATE users SET monthly_images_generated = 1000000 WHERE user_id = $1::uuid")
        .bind(&ada.user_id)
        .execute(&test_db.owner_pool)
        .await
        .unwrap();
    let response = generate(&app, &ada, json!({"prompt": "many penguins", "batch_size": 16})).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let profile = me(&app, &ada).await;
    assert_eq!(profile["subscription_plan"], "enterprise");
    assert_eq!(profile["quota"]["limit"], Value::Null);
    assert_eq!(profile["quota"]["remaining"], Value::Null);
    assert_eq!(profile["quota"]["used"], 1_000_016);
}

/// Every parameter is checked with a 422 naming the field; a parameter beyond the plan is a
/// 403 `plan_required` naming the plan; nothing is reserved or queued for either.
#[tokio::test]
async fn generation_parameters_are_checked_and_plan_gates_are_enforced_on_the_server() {
    let test_db = TestDatabase::migrated().await;
    let catalog = r#"[{"name":"tiny-sd","title":"Tiny SD","min_plan":"free","path":"models/tiny"},{"name":"big-sd","title":"Big SD","min_plan":"studio","path":"models/big"}]"#;
    let app = app_with_config(test_db.pool.clone(), config(&[("MODEL_CATALOG", catalog)]));
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    let bob = register_verified(&app, &test_db.pool, "bob@example.com").await;

    let invalid = [
        (json!({"prompt": ""}), "prompt"),
        (json!({"prompt": "x", "steps": 0}), "steps"),
        (json!({"prompt": "x", "width": 513}), "width"),
        (json!({"prompt": "x", "cfg_scale": 99}), "cfg_scale"),
        (json!({"prompt": "x", "scheduler": "pndm"}), "scheduler"),
        (json!({"prompt": "x", "seed": -3}), "seed"),
        (json!({"prompt": "x", "model": "nope"}), "model"),
    ];
    for (body, field) in invalid {
        let response = generate(&app, &ada, body.clone()).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let error = body_json(response).await;
        assert_eq!(
            (error["error"]["code"].as_str(), error["error"]["field"].as_str()),
            (Some("invalid_parameter"), Some(field))
        );
    }
    let gated = [
        (json!({"prompt": "x", "steps": 40}), "steps", "Pro"),
        (json!({"prompt": "x", "width": 1024, "height": 1024}), "width", "Pro"),
        (json!({"prompt": "x", "batch_size": 4}), "batch_size", "Pro"),
        (json!({"prompt": "x", "model": "big-sd"}), "model", "Studio"),
    ];
    for (body, field, plan) in gated {
        let response = generate(&app, &ada, body.clone()).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{body}");
        let error = body_json(response).await;
        assert_eq!(
            (error["error"]["code"].as_str(), error["error"]["field"].as_str()),
            (Some("plan_required"), Some(field))
        );
        assert!(error["error"]["message"].as_str().unwrap().contains(&format!("the {plan} plan")), "{error}");
    }

    // Someone else's board is not a board of mine: 422, nothing reserved.
    let board = send_as(&app, "POST", "/api/v1/boards", &bob, Some(json!({"name": "Bob's"}))).await;
    let bob_board = body_json(board).await["board_id"].as_str().unwrap().to_owned();
    let response = generate(&app, &ada, json!({"prompt": "x", "board_id": bob_board})).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error = body_json(response).await["error"].clone();
    assert_eq!(error["code"], "unknown_board");
    // SECURITY.md 10 for references: no constraint name, nothing of Bob's.
    let text = error.to_string();
    assert!(!text.contains("fkey") && !text.contains("constraint") && !text.contains(&bob_board), "{text}");
    assert_eq!(quota_row(&test_db.owner_pool, &ada).await.1, 0);
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM generation_jobs")
        .fetch_one(&test_db.owner_pool)
        .await
        .unwrap();
    assert_eq!(jobs, 0);

    // The catalog as each plan sees it, and the same request allowed once the plan allows it.
    let models = body_json(get_as(&app, "/api/v1/models", &ada.bearer()).await).await;
    assert_eq!(models["items"].as_array().unwrap().len(), 1);
    set_plan(&test_db.owner_pool, &ada, Plan::Studio).await;
    let models = body_json(get_as(&app, "/api/v1/models", &ada.bearer()).await).await;
    assert_eq!(models["items"][1]["name"], "big-sd");
    let response = generate(
        &app,
        &ada,
        json!({"prompt": "x", "model": "big-sd", "steps": 100, "batch_size": 8, "width": 1536, "seed": 5}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let job = body_json(response).await["job"].clone();
    assert_eq!(job["params"]["seed"], 5);
    assert_eq!((job["progress_step"].as_i64(), job["progress_total"].as_i64()), (Some(0), Some(800)));
    let priority: i16 = sqlx::query_scalar("SELECT priority FROM generation_jobs")
        .fetch_one(&test_db.owner_pool)
        .await
        .unwrap();
    assert_eq!(priority, Plan::Studio.limits().queue_priority);

    let response = get_as(&app, "/api/v1/jobs?status=finished", &ada.bearer()).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
