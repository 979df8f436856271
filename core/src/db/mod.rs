//! PostgreSQL: which server to use, the connection pool, migrations and readiness.

pub mod embedded;
pub mod roles;

use std::{collections::HashSet, str::FromStr, time::Duration};

use sqlx::{
    Connection, Executor, PgConnection, PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use thiserror::Error;

use self::roles::{AppRole, DEFAULT_APP_ROLE};
use crate::config::{AppDatabase, Config, DatabaseSource, DbSchema};

/// The schema migrations in `migrations/`, embedded at compile time. Each has an up and a down
/// script, so `server migrate revert` can undo the latest one.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// The versions of this build's migrations (each counted once: its up script).
pub fn migration_versions() -> impl Iterator<Item = i64> {
    MIGRATOR.iter().filter(|m| m.migration_type.is_up_migration()).map(|m| m.version)
}

/// The application database created inside the embedded cluster.
pub const EMBEDDED_DATABASE: &str = "pingvas";

/// How long a request waits for a pooled connection before giving up.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The database could not be reached, prepared or migrated.
#[derive(Debug, Error)]
pub enum DbError {
    /// `DATABASE_URL` is not a PostgreSQL URL.
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    InvalidUrl(sqlx::Error),
    /// The embedded cluster could not be made or started.
    #[error(transparent)]
    Embedded(#[from] embedded::EmbeddedError),
    /// The server did not accept a connection or a statement.
    #[error("the database did not answer: {0}")]
    Unreachable(sqlx::Error),
    /// A migration failed to apply or revert.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// Migrating needs the owner's URL, and this process was given only the application role's.
    #[error(
        "DATABASE_URL (the owning role's) is needed to migrate; this process has only DATABASE_APP_URL \
         (run `server migrate run` where DATABASE_URL is set, e.g. the chart's migration job)"
    )]
    OwnerNeeded,
    /// Started with only the application role on a database that lacks this build's migrations.
    #[error(
        "the database lacks {pending} migration(s) of this build; run `server migrate run` with the owner's \
         DATABASE_URL first (the chart's migration job does), then start this process again"
    )]
    NotMigrated {
        /// How many of this build's migrations are not applied.
        pending: usize,
    },
    /// `DATABASE_SCALER_ROLE` names a role that does not exist.
    #[error(
        "DATABASE_SCALER_ROLE names `{0}`, which does not exist: create it (CREATE ROLE … LOGIN PASSWORD …) first"
    )]
    ScalerRoleMissing(String),
}

/// Connection options for the configured database, starting the embedded cluster (and creating
/// its application database) when `DATABASE_URL` is unset.
///
/// # Errors
/// An invalid URL, or an embedded cluster that cannot be made, started or reached.
pub async fn connect_options(config: &Config) -> Result<PgConnectOptions, DbError> {
    let options = match &config.database {
        DatabaseSource::AppRoleOnly => return Err(DbError::OwnerNeeded),
        DatabaseSource::Url(url) => PgConnectOptions::from_str(url).map_err(DbError::InvalidUrl)?,
        DatabaseSource::Embedded => {
            let endpoint = embedded::EmbeddedCluster::new(&config.data_dir).ensure_running().await?;
            create_database_if_missing(&endpoint.connect_options("postgres"), EMBEDDED_DATABASE).await?;
            endpoint.connect_options(EMBEDDED_DATABASE)
        }
    };
    Ok(in_schema(options, &config.db_schema))
}

/// `options` with `schema` as the only schema on the `search_path` (unchanged for `public`), so
/// tables, functions and the migration history are created and found there.
#[must_use]
pub fn in_schema(options: PgConnectOptions, schema: &DbSchema) -> PgConnectOptions {
    if schema.is_public() { options } else { options.options([("search_path", schema.as_str())]) }
}

/// Migrates the database as its owner and makes sure the application's role exists (in
/// development) and may use the tables; returns the options requests connect with, as that role.
///
/// # Errors
/// The database is unreachable, a migration fails, or the role cannot be created or granted.
pub async fn prepare(owner: &PgConnectOptions, config: &Config) -> Result<PgConnectOptions, DbError> {
    let schema = &config.db_schema;
    let (app_options, managed_role) = match &config.app_database {
        AppDatabase::Url(url) => (PgConnectOptions::from_str(url).map_err(DbError::InvalidUrl)?, None),
        AppDatabase::Managed { password } => {
            // One role per schema, so a `dev` role cannot read `prod`.
            let name = if schema.is_public() {
                DEFAULT_APP_ROLE.to_owned()
            } else {
                format!("{DEFAULT_APP_ROLE}_{}", schema.as_str())
            };
            let role = AppRole { name, password: password.clone() };
            (owner.clone().username(&role.name).password(&role.password), Some(role))
        }
    };
    let mut conn =
        PgConnection::connect_with(&in_schema(owner.clone(), schema)).await.map_err(DbError::Unreachable)?;
    if !schema.is_public() {
        conn.execute(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            quote_identifier(schema.as_str())
        )))
        .await
        .map_err(DbError::Unreachable)?;
    }
    MIGRATOR.run(&mut conn).await?;
    if let Some(role) = &managed_role {
        roles::ensure_app_role(&mut conn, role, schema.as_str()).await?;
    }
    roles::grant_app_privileges(&mut conn, app_options.get_username(), schema.as_str()).await?;
    if let Some(scaler) = &config.operations.scaler_role {
        roles::grant_scaler_privileges(&mut conn, scaler, schema.as_str()).await?;
    }
    conn.close().await.map_err(DbError::Unreachable)?;
    Ok(in_schema(app_options, schema))
}

/// What `serve` and `worker` connect with. Holding the owner's URL, they migrate first
/// ([`prepare`]); holding only the application role's ([`DatabaseSource::AppRoleOnly`]), they
/// check that a migration job already applied every migration of this build, and refuse to
/// start otherwise rather than serve a schema they do not know.
///
/// # Errors
/// As [`prepare`], or [`DbError::NotMigrated`] / [`DbError::Unreachable`] without an owner.
pub async fn startup_options(config: &Config) -> Result<PgConnectOptions, DbError> {
    let DatabaseSource::AppRoleOnly = config.database else {
        let owner = connect_options(config).await?;
        return prepare(&owner, config).await;
    };
    let AppDatabase::Url(url) = &config.app_database else {
        // The configuration only yields AppRoleOnly beside DATABASE_APP_URL.
        return Err(DbError::OwnerNeeded);
    };
    let options = in_schema(PgConnectOptions::from_str(url).map_err(DbError::InvalidUrl)?, &config.db_schema);
    let mut conn = PgConnection::connect_with(&options).await.map_err(DbError::Unreachable)?;
    let pending = pending_migrations(&mut conn).await.map_err(DbError::Unreachable)?;
    conn.close().await.map_err(DbError::Unreachable)?;
    if pending > 0 {
        return Err(DbError::NotMigrated { pending });
    }
    Ok(options)
}

/// Creates `name` on the server `admin` points to, unless it exists.
///
/// # Errors
/// The server cannot be reached or refuses.
pub async fn create_database_if_missing(admin: &PgConnectOptions, name: &str) -> Result<(), DbError> {
    let mut conn = PgConnection::connect_with(admin).await.map_err(DbError::Unreachable)?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .map_err(DbError::Unreachable)?;
    if !exists {
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {}", quote_identifier(name))))
            .await
            .map_err(DbError::Unreachable)?;
    }
    conn.close().await.map_err(DbError::Unreachable)
}

/// Quotes a PostgreSQL identifier (`CREATE DATABASE` takes no bind parameters).
#[must_use]
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A pool that connects lazily, so the server can start (and answer `/readyz` with 503) while
/// the database is down.
#[must_use]
pub fn pool(options: PgConnectOptions, max_connections: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // sqlx pings every connection it hands out by default: a round trip on every acquire,
        // two per authenticated request. A connection back from work moments ago is alive; one
        // that sat idle (the database may have restarted meanwhile) is still checked.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(options)
}

/// A listener on `channels` (`LISTEN`, for notifications sent at commit) over a connection of its
/// own, made with `pool`'s settings but not taken from it: a listener holds its connection for
/// good, and one of the requests' connections held so would leave a pool of one with none.
///
/// # Errors
/// The database failed.
pub async fn listen(pool: &PgPool, channels: &[&str]) -> Result<sqlx::postgres::PgListener, sqlx::Error> {
    let own = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_lazy_with(pool.connect_options().as_ref().clone());
    let mut listener = sqlx::postgres::PgListener::connect_with(&own).await?;
    listener.listen_all(channels.iter().copied()).await?;
    Ok(listener)
}

/// How long a pooled connection may sit idle before it is pinged on its way out of the pool.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Applies every pending migration.
///
/// # Errors
/// The database is unreachable or a migration fails (the failed one is rolled back).
pub async fn migrate(pool: &PgPool) -> Result<(), DbError> {
    MIGRATOR.run(pool).await.map_err(DbError::Migration)
}

/// Whether the database can serve requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Reachable, every migration applied.
    Ready,
    /// No connection, or it failed.
    Unreachable,
    /// Reachable, but `pending` migrations of this build are not applied.
    MigrationsPending {
        /// How many.
        pending: usize,
    },
}

/// Checks that the database answers and that every migration this build knows is applied.
pub async fn readiness(pool: &PgPool) -> Readiness {
    match pending_migrations(pool).await {
        Ok(0) => Readiness::Ready,
        Ok(pending) => Readiness::MigrationsPending { pending },
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            Readiness::Unreachable
        }
    }
}

/// How many of this build's migrations the database has not applied.
async fn pending_migrations<'c>(db: impl sqlx::PgExecutor<'c>) -> Result<usize, sqlx::Error> {
    let applied: HashSet<i64> =
        match sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(db).await {
            Ok(versions) => versions.into_iter().collect(),
            // 42P01 undefined_table: reachable, but never migrated.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => HashSet::new(),
            Err(e) => return Err(e),
        };
    Ok(migration_versions().filter(|version| !applied.contains(version)).count())
}

/// Undoes the most recently applied migration (its `.down.sql`), if any.
///
/// # Errors
/// The database is unreachable or the down script fails.
pub async fn revert_latest(pool: &PgPool) -> Result<(), DbError> {
    let latest: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .map_err(DbError::Unreachable)?;
    let Some(latest) = latest else {
        tracing::info!("no migration to revert");
        return Ok(());
    };
    // `undo` reverts every migration newer than the target; the target is the one before latest.
    let previous = migration_versions().filter(|&version| version < latest).max().unwrap_or(0);
    MIGRATOR.undo(pool, previous).await?;
    tracing::info!(reverted = latest, "migration reverted");
    Ok(())
}
