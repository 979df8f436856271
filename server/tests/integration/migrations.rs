//! Migrations apply on an empty database, revert completely, and apply again.

use crate::common;

use common::TestDatabase;
use pingvas_core::db::{self, MIGRATOR, Readiness};

async fn function_exists(test_db: &TestDatabase, name: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = $1)")
        .bind(name)
        .fetch_one(&test_db.pool)
        .await
}

#[tokio::test]
async fn every_migration_is_reversible() {
    let test_db = TestDatabase::empty().await;
    assert!(MIGRATOR.iter().all(|m| m.migration_type.is_reversible()), "every migration needs a .down.sql");

    db::migrate(&test_db.pool).await.unwrap();
    assert_eq!(db::readiness(&test_db.pool).await, Readiness::Ready);
    assert!(function_exists(&test_db, "set_updated_at").await.unwrap());

    MIGRATOR.undo(&test_db.pool, 0).await.unwrap();
    assert!(!function_exists(&test_db, "set_updated_at").await.unwrap());
    assert!(matches!(db::readiness(&test_db.pool).await, Readiness::MigrationsPending { .. }));

    db::migrate(&test_db.pool).await.unwrap();
    assert_eq!(db::readiness(&test_db.pool).await, Readiness::Ready);
}

#[tokio::test]
async fn revert_latest_undoes_exactly_one_migration() {
    let test_db = TestDatabase::migrated().await;
    db::revert_latest(&test_db.owner_pool).await.unwrap();
    assert_eq!(
        db::readiness(&test_db.owner_pool).await,
        Readiness::MigrationsPending { pending: 1 },
        "reverting the latest leaves exactly it pending"
    );
}

#[tokio::test]
async fn set_updated_at_trigger_keeps_the_column_current() {
    let test_db = TestDatabase::migrated().await;
    sqlx::raw_sql(
        "CREATE TABLE t (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL DEFAULT 'epoch');
         CREATE TRIGGER t_set_updated_at BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION set_updated_at();
         INSERT INTO t (id, v) VALUES (1, 'a');
         UPDATE t SET v = 'b' WHERE id = 1;",
    )
    .execute(&test_db.owner_pool)
    .await
    .unwrap();
    let moved: bool = sqlx::query_scalar("SELECT updated_at > 'epoch' FROM t WHERE id = 1")
        .fetch_one(&test_db.owner_pool)
        .await
        .unwrap();
    assert!(moved);
}
