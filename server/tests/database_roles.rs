//! SECURITY.md 5: the role the application runs requests as is not a superuser, cannot bypass
//! row-level security, owns no table, and cannot change the schema or the migration history.

mod common;

use common::TestDatabase;

#[tokio::test]
async fn s05_the_application_role_is_unprivileged_and_owns_nothing() {
    let test_db = TestDatabase::migrated().await;
    let (user, superuser, bypass_rls, create_role, create_db): (String, bool, bool, bool, bool) =
        sqlx::query_as(
            "SELECT current_user::text, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb
         FROM pg_roles WHERE rolname = current_user",
        )
        .fetch_one(&test_db.pool)
        .await
        .unwrap();
    assert_eq!(Some(&user), test_db.app_role.as_ref(), "requests run as the application role");
    assert!(!superuser && !bypass_rls && !create_role && !create_db);

    let owned: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE pg_get_userbyid(c.relowner) = current_user AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_one(&test_db.pool)
    .await
    .unwrap();
    assert_eq!(owned, 0, "the application role owns no table");

    // It reads and writes rows, but cannot change the schema or the migration history.
    for forbidden in [
        "CREATE TABLE sneaky (id int)",
        "ALTER TABLE users DISABLE ROW LEVEL SECURITY",
        "DROP TABLE user_sessions",
        "DELETE FROM _sqlx_migrations",
    ] {
        let refused = sqlx::raw_sql(sqlx::AssertSqlSafe(forbidden)).execute(&test_db.pool).await;
        assert!(refused.is_err(), "the application role could run: {forbidden}");
    }
    let migrations: i64 =
        sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations").fetch_one(&test_db.pool).await.unwrap();
    assert!(migrations > 0, "it may read the migration history (readiness)");
}
