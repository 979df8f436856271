//! An account's data as a whole (SECURITY.md 47), on real PostgreSQL and a real object store (a
//! local folder): the owner, and only the owner, downloads it all as a zip; deleting the account
//! needs the password and leaves nothing of theirs in any table or in the store.

use std::io::Read;

use axum::http::StatusCode;
use contract::ids::UserId;
use pingvas_core::storage::ImageStore;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{
    self, PEER, STRONG_PASSWORD, TestDatabase, app_with_config, body_json, config, generate, get, get_as,
    png, register_verified, send_as, upload,
};

async fn zip_of(response: axum::response::Response) -> zip::ZipArchive<std::io::Cursor<Vec<u8>>> {
    use http_body_util::BodyExt;
    let bytes = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive")
}

fn entry(archive: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    archive.by_name(name).unwrap_or_else(|e| panic!("{name}: {e}")).read_to_end(&mut bytes).unwrap();
    bytes
}

/// Rows that name `user` in every table with a user column, and audit entries about them.
async fn rows_of(owner_pool: &sqlx::PgPool, user: Uuid) -> Vec<(String, i64)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind = 'r'
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'user_id')
         ORDER BY 1",
    )
    .fetch_all(owner_pool)
    .await
    .unwrap();
    assert!(tables.len() >= 10, "{tables:?}");
    let mut found = Vec::new();
    for table in tables {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} WHERE user_id = $1"
        )))
        .bind(user)
        .fetch_one(owner_pool)
        .await
        .unwrap();
        found.push((table, count));
    }
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM admin_audit_log WHERE actor_id = $1 OR target_id = $1")
            .bind(user)
            .fetch_one(owner_pool)
            .await
            .unwrap();
    found.push(("admin_audit_log".into(), audited));
    found
}

#[tokio::test]
async fn s47_the_owner_exports_everything_and_deleting_the_account_leaves_nothing_of_theirs() {
    let db = TestDatabase::migrated().await;
    let objects = std::env::temp_dir().join(format!("pingvas-account-data-{}", Uuid::new_v4().simple()));
    let app = app_with_config(db.pool.clone(), config(&[("OBJECT_STORE_URL", objects.to_str().unwrap())]));
    let store = ImageStore::local(&objects).unwrap();
    let ada = register_verified(&app, &db.pool, "ada@example.com").await;
    let bob = common::register_verified_from(&app, &db.pool, "192.0.2.55", "bob@example.com").await;
    let (ada_id, bob_id): (Uuid, Uuid) = (ada.user_id.parse().unwrap(), bob.user_id.parse().unwrap());

    let board =
        body_json(send_as(&app, "POST", "/api/v1/boards", &ada, Some(json!({"name": "Ice"}))).await).await;
    let file = png(24, 24);
    let image = body_json(upload(&app, &ada, &file, board["board_id"].as_str()).await).await;
    assert_eq!(
        generate(&app, &ada, json!({"prompt": "a penguin", "seed": 3})).await.status(),
        StatusCode::ACCEPTED
    );
    let bobs_image = body_json(upload(&app, &bob, &png(16, 16), None).await).await;

    // The export: account.json with every table's rows, and the image files.
    let export = get_as(&app, "/api/v1/users/me/export", &ada.bearer()).await;
    assert_eq!(export.status(), StatusCode::OK);
    assert_eq!(export.headers()["content-type"], "application/zip");
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"pingvas-export-")
    );
    let mut archive = zip_of(export).await;
    let document: Value = serde_json::from_slice(&entry(&mut archive, "account.json")).unwrap();
    assert_eq!(document["profile"]["email"], "ada@example.com");
    assert_eq!(document["tables"]["boards"][0]["name"], "Ice");
    assert_eq!(document["tables"]["generation_jobs"][0]["params"]["prompt"], "a penguin");
    assert_eq!(document["tables"]["images"].as_array().unwrap().len(), 1);
    assert_eq!(document["sessions"].as_array().unwrap().len(), 1);
    let text = document.to_string();
    assert!(
        !text.contains("password_hash") && !text.contains("$argon2") && !text.contains("token_hash"),
        "no secrets: {text}"
    );
    assert!(!text.contains("bob@example.com") && !text.contains(bobs_image["image_id"].as_str().unwrap()));
    let image_id = image["image_id"].as_str().unwrap();
    assert_eq!(entry(&mut archive, &format!("images/{image_id}.png")), file);
    assert_eq!(archive.len(), 2);

    // Only the owner: no token, another's token, or a link edited to name someone else.
    assert_eq!(get(&app, "/api/v1/users/me/export").await.status(), StatusCode::UNAUTHORIZED);
    let bobs = zip_of(get_as(&app, "/api/v1/users/me/export", &bob.bearer()).await).await;
    assert!(bobs.file_names().all(|name| !name.contains(image_id)));
    let signer = pingvas_core::links::LinkSigner::new(b"not the server's secret");
    let owner = pingvas_core::links::LinkOwner {
        user: UserId(ada_id),
        session: contract::ids::SessionId(Uuid::nil()),
    };
    let forged = signer.link(
        &["/api/v1/users/me/export"],
        pingvas_core::links::LinkPurpose::Export,
        owner,
        ada_id,
        2_000_000_000,
    );
    assert_eq!(get(&app, &forged).await.status(), StatusCode::UNAUTHORIZED);

    // Deletion needs the password; a wrong one deletes nothing.
    let delete = |password: &str| {
        send_as(&app, "DELETE", "/api/v1/users/me", &ada, Some(json!({"current_password": password})))
    };
    assert_eq!(delete("not my password at all").await.status(), StatusCode::UNAUTHORIZED);
    assert!(!store.keys_of(UserId(ada_id)).await.unwrap().is_empty());
    let deleted = delete(STRONG_PASSWORD).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(deleted.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));

    let left: Vec<_> = rows_of(&db.owner_pool, ada_id).await.into_iter().filter(|(_, n)| *n > 0).collect();
    assert!(left.is_empty(), "rows of the deleted account remain: {left:?}");
    let users: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE user_id = $1 OR email = 'ada@example.com'")
            .bind(ada_id)
            .fetch_one(&db.owner_pool)
            .await
            .unwrap();
    assert_eq!(users, 0);
    assert_eq!(store.keys_of(UserId(ada_id)).await.unwrap(), Vec::<String>::new());
    assert_eq!(get_as(&app, "/api/v1/users/me", &ada.bearer()).await.status(), StatusCode::UNAUTHORIZED);
    let login = common::login_with(&app, PEER, "ada@example.com", STRONG_PASSWORD);
    assert_eq!(login.await.status(), StatusCode::UNAUTHORIZED);

    // Bob's account is untouched.
    assert!(rows_of(&db.owner_pool, bob_id).await.iter().any(|(table, n)| table == "images" && *n == 1));
    assert_eq!(store.keys_of(UserId(bob_id)).await.unwrap().len(), 2);
}

/// Issue 33, finding 8: exports were unbounded, each writing the whole gallery to a temporary
/// file that lives until its download ends. Now one account has one export at a time, and the
/// instance at most `EXPORT_CONCURRENCY`; a slot frees when its download ends.
#[tokio::test]
async fn exports_are_bounded_per_account_and_per_instance_and_a_finished_download_frees_its_slot() {
    let test_db = common::TestDatabase::migrated().await;
    let app = app_with_config(test_db.pool.clone(), config(&[("EXPORT_CONCURRENCY", "2")]));
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    let bob = register_verified(&app, &test_db.pool, "bob@example.com").await;
    let cyd = register_verified(&app, &test_db.pool, "cyd@example.com").await;
    let export =
        async |user: &common::SignedIn| get_as(&app, "/api/v1/users/me/export", &user.bearer()).await;

    // Ada's download has started and is not finished (its body is unread).
    let adas = export(&ada).await;
    assert_eq!(adas.status(), StatusCode::OK);
    let again = export(&ada).await;
    assert_eq!(again.status(), StatusCode::SERVICE_UNAVAILABLE, "one export per account");
    assert_eq!(body_json(again).await["error"]["code"], "busy");
    let bobs = export(&bob).await;
    assert_eq!(bobs.status(), StatusCode::OK);
    let cyds = export(&cyd).await;
    assert_eq!(cyds.status(), StatusCode::SERVICE_UNAVAILABLE, "two at once on this instance");
    assert!(cyds.headers().contains_key("retry-after"));

    // Finishing (or abandoning) a download frees its slot.
    zip_of(adas).await;
    drop(bobs);
    assert_eq!(export(&cyd).await.status(), StatusCode::OK);
    assert_eq!(export(&ada).await.status(), StatusCode::OK);
}

/// Issue 33, finding 10: the password that deleting an account asks for could be guessed without
/// limit by whoever held a session. Now it is counted per account, like sign-in attempts.
#[tokio::test]
async fn guesses_at_the_password_that_deletion_asks_for_are_limited() {
    let test_db = common::TestDatabase::migrated().await;
    let app = app_with_config(test_db.pool.clone(), config(&[("AUTH_RATE_LIMIT_PER_MINUTE", "5")]));
    let ada = register_verified(&app, &test_db.pool, "ada@example.com").await;
    let delete = |password: &str| {
        send_as(&app, "DELETE", "/api/v1/users/me", &ada, Some(json!({ "current_password": password })))
    };
    for _ in 0..5 {
        assert_eq!(delete("not my password at all").await.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = delete(STRONG_PASSWORD).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits now");
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(
        get_as(&app, "/api/v1/users/me", &ada.bearer()).await.status(),
        StatusCode::OK,
        "nothing deleted"
    );
}
