//! SECURITY.md 1–3 and 6–9 for the tenant tables so far (boards), against real PostgreSQL with
//! the application's own role: row-level security, not WHERE clauses alone, keeps tenants apart.

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used)]

use crate::common;

use axum::{Router, http::StatusCode};
use common::{
    SignedIn, TestDatabase, app, app_with_config, body_json, config, generate, get, get_as,
    register_verified, send_as,
};
use contract::ids::UserId;
use pingvas_core::{db, tenancy::TenantDb};
use serde_json::{Value, json};
use sqlx::PgPool;

/// Tables that hold `user_id` but belong to sign-in itself, read before any user is known
/// (by email, by refresh-token or emailed-token digest) or by the mail sender; every other table with `user_id` is a tenant table.
/// Tables about an account that only the account services read and write (never a request's
/// tenant queries): like `users` itself, they are guarded by the code that owns them. Billing
/// events are written by the provider's webhook, which acts for no signed-in user.
const ACCOUNT_TABLES: [&str; 5] =
    ["user_identities", "user_sessions", "email_tokens", "mail_outbox", "billing_events"];

async fn create_board(app: &Router, user: &SignedIn, name: &str) -> Value {
    let response = send_as(app, "POST", "/api/v1/boards", user, Some(json!({"name": name}))).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    body_json(response).await
}

/// A job of `user`'s, queued; its id.
async fn queue_job(app: &Router, user: &SignedIn) -> String {
    let response = generate(app, user, json!({"prompt": "a penguin on an ice floe", "seed": 1})).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    body_json(response).await["job"]["job_id"].as_str().unwrap().to_owned()
}

/// A board's owner and name, read as the owner (a superuser here, which RLS does not bind).
async fn board_row(pool: &PgPool, id: &str) -> (String, String) {
    sqlx::query_as("SELECT user_id::text, name FROM boards WHERE board_id = $1::uuid")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The tenant user declared on `pool`'s connection (a pool of one) outside any transaction, if any.
async fn declared_user(pool: &PgPool) -> Option<String> {
    sqlx::query_scalar("SELECT nullif(current_setting('app.current_user_id', true), '')")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn s06_every_tenant_table_has_row_level_security_enabled_and_forced() {
    let test_db = TestDatabase::migrated().await;
    let tables: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'users'
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'user_id')",
    )
    .fetch_all(&test_db.owner_pool)
    .await
    .unwrap();
    let tenant: Vec<_> =
        tables.iter().filter(|(name, ..)| !ACCOUNT_TABLES.contains(&name.as_str())).collect();
    for expected in ["boards", "workflows", "models", "generation_jobs", "images"] {
        assert!(tenant.iter().any(|(name, ..)| name == expected), "{expected} missing from {tables:?}");
    }
    for (name, enabled, forced) in tenant {
        assert!(*enabled && *forced, "{name}: row security enabled {enabled}, forced {forced}");
    }
}

#[tokio::test]
async fn s07_no_view_bypasses_rls_and_no_security_definer_function_is_loose() {
    let test_db = TestDatabase::migrated().await;
    let loose_views: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind = 'v'
           AND NOT coalesce('security_invoker=true' = ANY (c.reloptions), false)",
    )
    .fetch_all(&test_db.owner_pool)
    .await
    .unwrap();
    assert!(loose_views.is_empty(), "views without security_invoker: {loose_views:?}");
    let loose_functions: Vec<String> = sqlx::query_scalar(
        "SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'public' AND p.prosecdef
           AND (NOT coalesce(EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%'), false)
                OR has_function_privilege('public', p.oid, 'EXECUTE'))",
    )
    .fetch_all(&test_db.owner_pool)
    .await
    .unwrap();
    assert!(
        loose_functions.is_empty(),
        "SECURITY DEFINER functions without pinned search_path or open to PUBLIC: {loose_functions:?}"
    );
    // Issue 33, finding 10: functions that declare the tenant themselves are held to the same
    // rule although they run as their caller: a pinned search path, and no EXECUTE for PUBLIC.
    let loose_tenant_functions: Vec<String> = sqlx::query_scalar(
        "SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'public' AND p.proname LIKE 'tenant\\_%'
           AND (NOT coalesce(EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%'), false)
                OR has_function_privilege('public', p.oid, 'EXECUTE'))",
    )
    .fetch_all(&test_db.owner_pool)
    .await
    .unwrap();
    assert!(loose_tenant_functions.is_empty(), "tenant functions left loose: {loose_tenant_functions:?}");
}

#[tokio::test]
async fn s08_without_tenant_context_a_query_sees_nothing_even_on_a_reused_connection() {
    let test_db = TestDatabase::migrated().await;
    // One connection, so the second query surely runs where the first transaction ran.
    let pool = db::pool(test_db.pool.connect_options().as_ref().clone(), 1);
    let app = app(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    let tenants = TenantDb::new(pool.clone());
    let user = UserId(ada.user_id.parse().unwrap());
    let mut tx = tenants.begin(user).await.unwrap();
    sqlx::query("INSERT INTO boards (name) VALUES ('mine')").execute(tx.conn_for_tests()).await.unwrap();
    let seen: i64 =
        sqlx::query_scalar("SELECT count(*) FROM boards").fetch_one(tx.conn_for_tests()).await.unwrap();
    assert_eq!(seen, 1);
    tx.commit().await.unwrap();

    let without_context: i64 =
        sqlx::query_scalar("SELECT count(*) FROM boards").fetch_one(&pool).await.unwrap();
    assert_eq!(without_context, 0, "no rows, no error, after commit on the same connection");
    assert_eq!(declared_user(&pool).await, None, "the setting ended with the transaction");

    // Every tenant table, with rows in it, looks empty without a tenant.
    queue_job(&app, &ada).await;
    for table in ["boards", "workflows", "models", "generation_jobs", "images"] {
        let seen: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(seen, 0, "{table} without tenant context");
    }
}

/// The list's one-statement read (`tenant_image_page`, no explicit transaction) declares its
/// user for that statement only: each call sees its own user's images, and the very next query on
/// the same connection sees none and finds no user declared.
#[tokio::test]
async fn the_image_page_function_declares_its_user_for_its_own_statement_only() {
    let test_db = TestDatabase::migrated().await;
    let pool = db::pool(test_db.pool.connect_options().as_ref().clone(), 1);
    let app = app(test_db.pool.clone());
    let tenants = TenantDb::new(pool.clone());
    let mut users = Vec::new();
    for (email, images) in [("ada@example.com", 3), ("bob@example.com", 2)] {
        let signed_in = register_verified(&app, &test_db.pool, email).await;
        let user = UserId(signed_in.user_id.parse().unwrap());
        let mut tx = tenants.begin(user).await.unwrap();
        for _ in 0..images {
            sqlx::query(
                "INSERT INTO images (origin, storage_key, content_type, width, height, byte_size) \
                 VALUES ('uploaded', gen_random_uuid()::text, 'image/png', 8, 8, 100)",
            )
            .execute(tx.conn_for_tests())
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        users.push((user, images));
    }

    for (user, images) in users.iter().chain(users.iter().rev()) {
        let page: Vec<(uuid::Uuid, i64)> =
            sqlx::query_as("SELECT user_id, total FROM tenant_image_page($1, NULL, false, 0, 20)")
                .bind(user)
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(page.len(), *images, "{user:?}'s page");
        assert!(page.iter().all(|(owner, total)| *owner == user.0 && *total == *images as i64));

        let seen_after: i64 =
            sqlx::query_scalar("SELECT count(*) FROM images").fetch_one(&pool).await.unwrap();
        assert_eq!(seen_after, 0, "the next statement on the connection sees no images");
        assert_eq!(declared_user(&pool).await, None, "the user ended with the function's statement");
    }

    let without_user = sqlx::query("SELECT * FROM tenant_image_page(NULL, NULL, false, 0, 20)")
        .fetch_all(&pool)
        .await
        .unwrap_err();
    assert!(without_user.to_string().contains("needs a user"), "{without_user}");
}

/// The seeds' RLS check: Alice sees only Alice's rows; staff (through the named, read-only staff
/// path) see both; background work sees every job but no other tenant table.
#[tokio::test]
async fn staff_read_everyone_read_only_and_background_work_sees_only_jobs() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let alice = register_verified(&app, &test_db.pool, "alice@example.com").await;
    let bob = register_verified(&app, &test_db.pool, "bob@example.com").await;
    for user in [&alice, &bob] {
        create_board(&app, user, "mine").await;
        queue_job(&app, user).await;
    }
    let tenants = TenantDb::new(test_db.pool.clone());
    let current = |user: &SignedIn, staff: bool| pingvas_core::accounts::CurrentUser {
        user_id: UserId(user.user_id.parse().unwrap()),
        email: String::new(),
        session: contract::ids::SessionId(uuid::Uuid::nil()),
        jti: uuid::Uuid::nil(),
        token_expires_at: time::OffsetDateTime::now_utc(),
        is_staff: staff,
        is_superuser: false,
        plan: contract::plans::Plan::Free,
        email_verified: true,
    };
    let count = async |tx: &mut pingvas_core::tenancy::TenantTx, table: &str| -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(tx.conn_for_tests())
            .await
            .unwrap()
    };

    let mut as_alice = tenants.begin(UserId(alice.user_id.parse().unwrap())).await.unwrap();
    assert_eq!((count(&mut as_alice, "boards").await, count(&mut as_alice, "generation_jobs").await), (1, 1));
    drop(as_alice);

    assert!(matches!(
        tenants.begin_staff_read(&current(&alice, false), "test").await,
        Err(pingvas_core::tenancy::TenantError::Forbidden)
    ));
    let mut staff = tenants.begin_staff_read(&current(&alice, true), "test").await.unwrap();
    assert_eq!((count(&mut staff, "boards").await, count(&mut staff, "generation_jobs").await), (2, 2));
    let write = sqlx::query("DELETE FROM boards").execute(staff.conn_for_tests()).await;
    assert!(write.is_err(), "the staff path is read-only");
    drop(staff);

    let mut background = tenants.begin_background("test").await.unwrap();
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM generation_jobs")
        .fetch_one(background.conn_for_tests())
        .await
        .unwrap();
    let boards: i64 = sqlx::query_scalar("SELECT count(*) FROM boards")
        .fetch_one(background.conn_for_tests())
        .await
        .unwrap();
    assert_eq!((jobs, boards), (2, 0));
}

#[tokio::test]
async fn s09_with_a_pool_of_one_a_request_as_a_then_as_b_shows_only_bs_data() {
    let test_db = TestDatabase::migrated().await;
    let single = db::pool(test_db.pool.connect_options().as_ref().clone(), 1);
    let app = app(single);
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    let bob = register_verified(&app, &test_db.pool, "bob@example.com").await;
    let ada_board = create_board(&app, &ada, "Ada's").await;
    let bob_board = create_board(&app, &bob, "Bob's").await;
    for (user, mine, theirs) in
        [(&ada, &ada_board, &bob_board), (&bob, &bob_board, &ada_board), (&ada, &ada_board, &bob_board)]
    {
        let list = body_json(get_as(&app, "/api/v1/boards", &user.bearer()).await).await;
        let ids: Vec<&str> =
            list["items"].as_array().unwrap().iter().map(|b| b["board_id"].as_str().unwrap()).collect();
        assert_eq!(ids, [mine["board_id"].as_str().unwrap()]);
        assert!(!list.to_string().contains(theirs["board_id"].as_str().unwrap()));
    }
}

#[tokio::test]
async fn with_a_pool_of_one_the_sign_in_change_listener_leaves_the_connection_to_requests() {
    let test_db = TestDatabase::migrated().await;
    let single = db::pool(test_db.pool.connect_options().as_ref().clone(), 1);
    // Kept sign-in checks start the `pingvas_auth` listener with the first authenticated request.
    let app = app_with_config(single, config(&[("AUTH_CHECK_CACHE_SECONDS", "30")]));
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    for _ in 0..3 {
        // Each would wait out the pool's 3 s and fail if the listener held its one connection.
        assert_eq!(get_as(&app, "/api/v1/boards", &ada.bearer()).await.status(), StatusCode::OK);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn s02_lists_never_show_another_tenants_rows_whatever_the_query_string() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    let bob = register_verified(&app, &test_db.pool, "bob@example.com").await;
    let bob_board = create_board(&app, &bob, "Bob's").await;
    let bob_job = queue_job(&app, &bob).await;
    create_board(&app, &ada, "Ada's").await;
    let ada_job = queue_job(&app, &ada).await;
    let bobs = [bob_board["board_id"].as_str().unwrap(), &bob_job, &bob.user_id];
    for list in ["/api/v1/boards", "/api/v1/jobs"] {
        for query in [
            "",
            &format!("?user_id={}", bob.user_id),
            "?limit=1000000&offset=-5",
            "?board_id=all",
            "?status=queued",
        ] {
            let response = get_as(&app, &format!("{list}{query}"), &ada.bearer()).await;
            assert_eq!(response.status(), StatusCode::OK, "{list}{query}");
            let text = body_json(response).await.to_string();
            for id in bobs {
                assert!(!text.contains(id), "{list}{query}: {text}");
            }
        }
    }
    let jobs = body_json(get_as(&app, "/api/v1/jobs", &ada.bearer()).await).await;
    assert_eq!(jobs["items"][0]["job_id"], ada_job.as_str(), "Ada's own job is listed");
}

#[tokio::test]
async fn s03_s04_a_create_or_update_cannot_choose_another_owner() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    let bob = register_verified(&app, &test_db.pool, "bob@example.com").await;
    let response = send_as(
        &app,
        "POST",
        "/api/v1/boards",
        &ada,
        Some(json!({"name": "planted", "user_id": bob.user_id})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let board = body_json(response).await;
    let (owner, _) = board_row(&test_db.owner_pool, board["board_id"].as_str().unwrap()).await;
    assert_eq!(owner, ada.user_id, "the row is the caller's, not the one the body names");

    let path = format!("/api/v1/boards/{}", board["board_id"].as_str().unwrap());
    let response = send_as(&app, "PATCH", &path, &ada, Some(json!({"user_id": bob.user_id}))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let (owner, _) = board_row(&test_db.owner_pool, board["board_id"].as_str().unwrap()).await;
    assert_eq!(owner, ada.user_id);

    let response = generate(&app, &ada, json!({"prompt": "planted", "user_id": bob.user_id})).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let job_id = body_json(response).await["job"]["job_id"].as_str().unwrap().to_owned();
    let owner: String =
        sqlx::query_scalar("SELECT user_id::text FROM generation_jobs WHERE job_id = $1::uuid")
            .bind(&job_id)
            .fetch_one(&test_db.owner_pool)
            .await
            .unwrap();
    assert_eq!(owner, ada.user_id, "the job and its quota are the caller's");

    // Even a direct UPDATE in Ada's transaction cannot hand the row to Bob: WITH CHECK refuses.
    let tenants = TenantDb::new(test_db.pool.clone());
    let mut tx = tenants.begin(UserId(ada.user_id.parse().unwrap())).await.unwrap();
    let moved = sqlx::query("UPDATE boards SET user_id = $1::uuid")
        .bind(&bob.user_id)
        .execute(tx.conn_for_tests())
        .await;
    assert!(moved.is_err(), "the policy's WITH CHECK refuses a change of owner");
}

/// SECURITY.md 1 as a matrix over the OpenAPI document: every route with an `{id}` parameter,
/// every method, called by A with B's id, answers 404 and leaves B's object as it was.
#[tokio::test]
async fn s01_every_id_route_answers_404_to_another_tenant_and_changes_nothing() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    let bob = register_verified(&app, &test_db.pool, "bob@example.com").await;
    // On a plan with every feature, so no gate answers before the ownership check.
    sqlx::query("UPDATE users SET subscription_plan = 'enterprise'")
        .execute(&test_db.owner_pool)
        .await
        .unwrap();
    let doc = body_json(get(&app, "/api/v1/openapi.json").await).await;

    let mut covered = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.contains("{id}") {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            // A fresh object of Bob's for each call, and a way to read it back as Bob.
            let (bob_id, read_back): (String, String) = match path.as_str() {
                "/api/v1/boards/{id}" => {
                    let board = create_board(&app, &bob, &format!("Bob's board {covered}")).await;
                    let id = board["board_id"].as_str().unwrap().to_owned();
                    (id.clone(), format!("/api/v1/boards/{id}"))
                }
                "/api/v1/workflows/{id}" => {
                    let response = send_as(
                        &app,
                        "POST",
                        "/api/v1/workflows",
                        &bob,
                        Some(json!({"name": format!("Bob's preset {covered}"), "params": {"steps": 20}})),
                    )
                    .await;
                    assert_eq!(response.status(), StatusCode::CREATED);
                    let id = body_json(response).await["workflow_id"].as_str().unwrap().to_owned();
                    (id.clone(), format!("/api/v1/workflows/{id}"))
                }
                "/api/v1/images/{id}"
                | "/api/v1/images/{id}/file"
                | "/api/v1/images/{id}/thumbnail"
                | "/api/v1/images/{id}/accept" => {
                    // A staged result for accept, whose origin would change if it were accepted.
                    let origin = if path.ends_with("/accept") { "staged" } else { "uploaded" };
                    let id: String = sqlx::query_scalar(
                        "INSERT INTO images (user_id, origin, storage_key, thumbnail_key, content_type, width,
                                             height, byte_size)
                         VALUES ($1::uuid, $2, 'users/b/images/i.png', 'users/b/thumbnails/i.webp',
                                 'image/png', 8, 8, 100)
                         RETURNING image_id::text",
                    )
                    .bind(&bob.user_id)
                    .bind(origin)
                    .fetch_one(&test_db.owner_pool)
                    .await
                    .unwrap();
                    (id.clone(), format!("/api/v1/images/{id}"))
                }
                "/api/v1/jobs/{id}" | "/api/v1/jobs/{id}/cancel" | "/api/v1/jobs/{id}/events" => {
                    let id = queue_job(&app, &bob).await;
                    (id.clone(), format!("/api/v1/jobs/{id}"))
                }
                // Not a tenant route: for anyone but a superuser it is forbidden outright.
                "/api/v1/admin/users/{id}" => (bob.user_id.clone(), "/api/v1/users/me".to_owned()),
                "/api/v1/auth/sessions/{id}" => {
                    let sessions =
                        body_json(get_as(&app, "/api/v1/auth/sessions", &bob.bearer()).await).await;
                    (sessions[0]["id"].as_str().unwrap().to_owned(), "/api/v1/auth/sessions".to_owned())
                }
                other => panic!("{other} takes an id: add it to this isolation matrix"),
            };
            let before = body_json(get_as(&app, &read_back, &bob.bearer()).await).await;
            let body =
                matches!(method.as_str(), "post" | "patch" | "put").then(|| json!({"name": "hijacked"}));
            let response =
                send_as(&app, &method.to_uppercase(), &path.replace("{id}", &bob_id), &ada, body).await;
            let expected = if path.starts_with("/api/v1/admin/") {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(response.status(), expected, "{method} {path}");
            let after = body_json(get_as(&app, &read_back, &bob.bearer()).await).await;
            assert_eq!(before, after, "{method} {path} changed Bob's object");
            covered += 1;
        }
    }
    // GET, PATCH and DELETE of a board, a workflow and an image, the image's file and thumbnail,
    // GET, cancel and events of a job, DELETE of a session, PATCH of a user.
    assert!(covered >= 16, "only {covered} id routes found");
}

#[tokio::test]
async fn workflows_are_for_pro_and_up_and_the_refusal_names_the_plan() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    let save = |user: SignedIn| {
        let app = app.clone();
        async move {
            send_as(&app, "POST", "/api/v1/workflows", &user, Some(json!({"name": "Penguins at dusk", "params": {"prompt": "penguins at dusk", "steps": 25}})))
            .await
        }
    };
    let refused = save(ada.clone()).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body = body_json(refused).await;
    assert_eq!(body["error"]["code"], "plan_required");
    assert!(body["error"]["message"].as_str().unwrap().contains("Pro"), "{body}");
    assert_eq!(get_as(&app, "/api/v1/workflows", &ada.bearer()).await.status(), StatusCode::FORBIDDEN);

    sqlx::query("UPDATE users SET subscription_plan = 'pro'").execute(&test_db.owner_pool).await.unwrap();
    let saved = save(ada.clone()).await;
    assert_eq!(saved.status(), StatusCode::CREATED);
    let workflow = body_json(saved).await;
    assert_eq!(workflow["params"]["steps"], 25);
    let path = format!("/api/v1/workflows/{}", workflow["workflow_id"].as_str().unwrap());
    let renamed = send_as(&app, "PATCH", &path, &ada, Some(json!({"name": "Renamed"}))).await;
    assert_eq!(body_json(renamed).await["name"], "Renamed");
    let bad = send_as(&app, "PATCH", &path, &ada, Some(json!({"params": [1, 2]}))).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let list = body_json(get_as(&app, "/api/v1/workflows", &ada.bearer()).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(send_as(&app, "DELETE", &path, &ada, None).await.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn s10_a_unique_violation_reveals_nothing_about_other_tenants() {
    let test_db = TestDatabase::migrated().await;
    let app = app(test_db.pool.clone());
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    let bob = register_verified(&app, &test_db.pool, "bob@example.com").await;
    let bobs = create_board(&app, &bob, "Penguins").await;
    // Names are unique per user: Bob's board does not stop Ada's, nor is it mentioned.
    create_board(&app, &ada, "Penguins").await;
    let again = send_as(&app, "POST", "/api/v1/boards", &ada, Some(json!({"name": "PENGUINS"}))).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let text = body_json(again).await.to_string();
    assert!(text.contains("already_exists"), "{text}");
    for secret in
        ["boards_user_id_name_key", "constraint", bob.user_id.as_str(), bobs["board_id"].as_str().unwrap()]
    {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}
