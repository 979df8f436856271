//! SECURITY.md 5: the role the application runs requests as is not a superuser, cannot bypass
//! row-level security, owns no table, and cannot change the schema or the migration history.

use crate::common;

use common::{TestDatabase, app, config, register};
use pingvas_core::{
    config::{AppDatabase, DatabaseSource},
    db::{self, DbError},
};

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

/// SEEDS.md §2: `DB_SCHEMA` separates environments inside one database. Each schema gets its
/// own tables, migration history and application role, and one schema's role cannot read the
/// other's tables.
#[tokio::test]
async fn each_db_schema_has_its_own_tables_and_role_and_cannot_read_the_other() {
    let test_db = TestDatabase::empty().await;
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..16];
    let (dev, prod) = (format!("dev_{suffix}"), format!("prod_{suffix}"));
    let dev_options = db::prepare(&test_db.options, &config(&[("DB_SCHEMA", &dev)])).await.unwrap();
    let prod_options = db::prepare(&test_db.options, &config(&[("DB_SCHEMA", &prod)])).await.unwrap();
    let roles = [dev_options.get_username().to_owned(), prod_options.get_username().to_owned()];
    assert_eq!(roles[0], format!("pingvas_app_{dev}"));
    let (dev_pool, prod_pool) = (db::pool(dev_options, 2), db::pool(prod_options, 2));
    assert_eq!(db::readiness(&dev_pool).await, db::Readiness::Ready);

    register(&app(dev_pool.clone()), "ada@example.com").await;
    let count = async |pool: &sqlx::PgPool, table: &str| {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(pool)
            .await
    };
    assert_eq!(count(&dev_pool, "users").await.unwrap(), 1);
    assert_eq!(count(&prod_pool, "users").await.unwrap(), 0, "prod has its own users table");
    for (pool, other) in [(&dev_pool, &prod), (&prod_pool, &dev)] {
        let refused = count(pool, &format!("{other}.users")).await.unwrap_err();
        let code = refused.as_database_error().and_then(|e| e.code()).map(|c| c.into_owned());
        assert_eq!(code.as_deref(), Some("42501"), "permission denied for schema {other}");
    }
    let in_public: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('users', '_sqlx_migrations')",
    )
    .fetch_one(&test_db.owner_pool)
    .await
    .unwrap();
    assert_eq!(in_public, 0, "nothing lands in public");

    // The roles are cluster-wide: remove them with what they were granted here.
    let roles: Vec<String> = roles.iter().map(|r| db::quote_identifier(r)).collect();
    drop((dev_pool, prod_pool));
    for statement in
        [format!("DROP OWNED BY {}", roles.join(", ")), format!("DROP ROLE {}", roles.join(", "))]
    {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&test_db.owner_pool).await.unwrap();
    }
}

/// Issue 35, the chart's `database.appRoleOnly`: web servers and workers hold only the
/// application role's URL. They start on a database a migration job brought up to date, cannot
/// migrate, and refuse a database that lacks a migration of their build.
#[tokio::test]
async fn with_only_the_application_role_a_process_starts_on_a_migrated_database_and_never_migrates() {
    let test_db = TestDatabase::migrated().await;
    let mut config = config(&[]);
    config.database = DatabaseSource::AppRoleOnly;
    config.app_database = AppDatabase::Url(test_db.app_url());
    let options = db::startup_options(&config).await.unwrap();
    assert_eq!(Some(options.get_username()), test_db.app_role.as_deref());
    assert!(matches!(db::connect_options(&config).await, Err(DbError::OwnerNeeded)));

    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)")
        .execute(&test_db.owner_pool)
        .await
        .unwrap();
    let refused = db::startup_options(&config).await.unwrap_err();
    assert!(matches!(refused, DbError::NotMigrated { pending: 1 }), "{refused}");
    assert!(refused.to_string().contains("server migrate run"), "the message says what to do: {refused}");
}
