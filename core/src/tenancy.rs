//! The one way to touch tenant tables: a transaction bound to a user. `begin` opens it and sets
//! `app.current_user_id` transaction-locally, so PostgreSQL's row-level security shows that
//! user's rows only; the setting ends with the transaction, so a pooled connection never carries
//! one user's identity into the next request. `BEGIN` and the setting travel as one simple query
//! (one round trip instead of two, on every tenant operation): the id is written into it, which
//! is safe only because a [`UserId`] prints as a UUID, hex digits and dashes, and nothing else.
//!
//! Repositories of tenant tables take a [`TenantTx`], never a pool, so code cannot reach those
//! tables without naming whose rows it works on.
//!
//! A read that is one statement can skip the explicit transaction: [`TenantDb::read`] hands out
//! the pool beside the user for a SQL function that declares that user itself, first (see
//! `tenant_image_page` in the migrations).
//!
//! Two other paths exist, each named and logged where it is opened: [`TenantDb::begin_staff_read`]
//! (a staff member reading everyone's rows, read-only) and [`TenantDb::begin_background`] (a
//! worker or housekeeping task, which sees every user's generation jobs and nothing else).

use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::accounts::CurrentUser;
use contract::ids::UserId;

/// Opens user-bound transactions.
#[derive(Debug, Clone)]
pub struct TenantDb {
    pool: PgPool,
}

/// A transaction in which only one user's rows exist.
#[derive(Debug)]
pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    user: UserId,
}

impl TenantDb {
    /// User-bound transactions over `pool` (which must connect as the application's role).
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// A transaction as `user`.
    ///
    /// # Errors
    /// The database failed.
    pub async fn begin(&self, user: UserId) -> Result<TenantTx, sqlx::Error> {
        let tx = self.pool.begin_with(sqlx::AssertSqlSafe(begin_as("BEGIN", user, ""))).await?;
        Ok(TenantTx { tx, user })
    }

    /// `user`'s reads that need no transaction: calls of SQL functions that take the user and
    /// declare it themselves before reading (one round trip where [`TenantDb::begin`] needs two).
    #[must_use]
    pub fn read(&self, user: UserId) -> TenantRead<'_> {
        TenantRead { pool: &self.pool, user }
    }

    /// A read-only transaction in which `staff` sees every user's rows (the staff read policy),
    /// logged with its `purpose`.
    ///
    /// # Errors
    /// [`TenantError::Forbidden`] unless `staff` is staff; the database failed.
    pub async fn begin_staff_read(
        &self,
        staff: &CurrentUser,
        purpose: &'static str,
    ) -> Result<TenantTx, TenantError> {
        if !(staff.is_staff || staff.is_superuser) {
            return Err(TenantError::Forbidden);
        }
        tracing::info!(staff = %staff.user_id, purpose, "staff read of every tenant's rows");
        let statement =
            begin_as("BEGIN READ ONLY", staff.user_id, ", set_config('app.is_staff', 'true', true)");
        let tx = self.pool.begin_with(sqlx::AssertSqlSafe(statement)).await?;
        Ok(TenantTx { tx, user: staff.user_id })
    }

    /// A transaction for background `task` (a worker, quota housekeeping), which sees every
    /// user's generation jobs; other tenant tables still need [`TenantDb::begin`] as their owner.
    ///
    /// # Errors
    /// The database failed.
    pub async fn begin_background(&self, task: &'static str) -> Result<BackgroundTx, sqlx::Error> {
        // Debug, not info: workers open one per heartbeat.
        tracing::debug!(task, "background transaction");
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT set_config('app.background_task', $1, true)")
            .bind(task)
            .execute(&mut *tx)
            .await?;
        Ok(BackgroundTx { tx })
    }
}

/// `user`'s identity for row-level security (and the settings in `also`, fixed SQL), then `begin`,
/// as one simple query. The settings come first: they run in the query's implicit transaction,
/// which the `BEGIN` then turns into the explicit one, keeping them. Were `BEGIN` first, a failing
/// setting would leave an aborted transaction on the connection that sqlx, not yet counting it as
/// begun, would not roll back; this way a failure ends the implicit transaction with it.
fn begin_as(begin: &'static str, user: UserId, also: &'static str) -> String {
    // `Uuid`'s hyphenated form: the only text that can reach the statement from `user`.
    format!("SELECT set_config('app.current_user_id', '{}', true){also}; {begin}", user.0.hyphenated())
}

impl TenantDb {
    /// A connection listening on `channels` (`LISTEN`), for notifications sent at commit. It is
    /// one of the pool's, held for good: taken at once from the warm pool, so the job-event hub
    /// hears changes from its first stream on (a connection of its own, as `db::listen` makes,
    /// took long enough to connect that the first job's early progress went unheard).
    ///
    /// # Errors
    /// The database failed.
    pub async fn listener(&self, channels: &[&str]) -> Result<sqlx::postgres::PgListener, sqlx::Error> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen_all(channels.iter().copied()).await?;
        Ok(listener)
    }
}

/// The pool beside the user whose rows a self-declaring SQL function may read (see
/// [`TenantDb::read`]). Only such functions run on it: a plain query here would see no rows, as
/// no user is declared on the connection, so a mistake fails closed.
#[derive(Debug, Clone, Copy)]
pub struct TenantRead<'a> {
    pool: &'a PgPool,
    user: UserId,
}

impl TenantRead<'_> {
    /// Whose rows the function is to read: its user argument.
    #[must_use]
    pub fn user(&self) -> UserId {
        self.user
    }

    /// Where the function runs: only the core's repositories reach it.
    pub(crate) fn pool(&self) -> &PgPool {
        self.pool
    }
}

/// A transaction that may touch generation jobs: their owner's ([`TenantTx`]) or a background
/// task's ([`BackgroundTx`]). Only those two implement it, so functions over jobs taking it cannot
/// be handed a bare connection.
pub(crate) trait JobsTx {
    /// The connection, for the queries of this transaction.
    fn conn(&mut self) -> &mut PgConnection;
}

impl JobsTx for TenantTx {
    fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}

impl JobsTx for BackgroundTx {
    fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}

/// A transaction of a background task (see [`TenantDb::begin_background`]).
#[derive(Debug)]
pub struct BackgroundTx {
    tx: Transaction<'static, Postgres>,
}

impl BackgroundTx {
    /// The connection, for the queries of this transaction: only the core's repositories
    /// reach it.
    pub(crate) fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// The connection, for tests of the background policies themselves; absent from the
    /// product's build.
    #[cfg(feature = "test-support")]
    pub fn conn_for_tests(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Commits; dropping it instead rolls back.
    ///
    /// # Errors
    /// The database failed.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl TenantDb {
    /// Deletes the row of `user`'s with `id` in `column` of `table` (both fixed names of a
    /// tenant table, never input).
    ///
    /// # Errors
    /// [`TenantError::NotFound`] if no row of theirs has that id.
    pub async fn delete_owned(
        &self,
        user: UserId,
        table: &'static str,
        column: &'static str,
        id: uuid::Uuid,
    ) -> Result<(), TenantError> {
        let mut tx = self.begin(user).await?;
        let deleted = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE {column} = $1 AND user_id = $2"
        )))
        .bind(id)
        .bind(user)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        if deleted.rows_affected() == 0 { Err(TenantError::NotFound) } else { Ok(()) }
    }
}

impl TenantTx {
    /// Whose rows this transaction sees.
    #[must_use]
    pub fn user(&self) -> UserId {
        self.user
    }

    /// The connection, for the queries of this transaction: only the core's repositories reach
    /// it, so code outside the core touches tenant rows only through their functions.
    pub(crate) fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// The connection, for tests of the row-level security itself (which must run raw SQL in
    /// a tenant transaction); absent from the product's build.
    #[cfg(feature = "test-support")]
    pub fn conn_for_tests(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Commits; dropping a `TenantTx` instead rolls it back.
    ///
    /// # Errors
    /// The database failed.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// Ends a transaction that only read, without waiting for the database: for a read, ending by
    /// rollback is the same as committing, and sqlx sends the rollback with the connection's next
    /// message (the check it makes when the connection goes back to the pool), so the request
    /// saves a round trip.
    pub fn finish_read(self) {
        drop(self.tx);
    }
}

/// Why an operation on a tenant's rows did not happen.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// A field failed validation (422).
    #[error("{message}")]
    Invalid {
        /// Stable code.
        code: &'static str,
        /// The field.
        field: &'static str,
        /// For people.
        message: String,
    },
    /// The caller's plan does not include this (403), naming the cheapest plan that does.
    #[error("This needs the {} plan or higher. See /upgrade.", .0.display_name())]
    PlanRequired(contract::plans::Plan),
    /// The request clashes with the row's state (409), e.g. a duplicate name (`already_exists`)
    /// or a finished job. The message names no constraint and no other tenant's data
    /// (SECURITY.md 10).
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// For people.
        message: &'static str,
    },
    /// The caller may not do this at all (403).
    #[error("Not enough permissions.")]
    Forbidden,
    /// The gallery would pass the plan's storage budget (413 `storage_quota_exceeded`).
    #[error(transparent)]
    StorageFull(#[from] crate::storage_budget::StorageFull),
    /// Not the caller's, or no such row (404; never says which).
    #[error("Not found.")]
    NotFound,
    /// The database failed (500; details logged).
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl TenantError {
    /// An `already_exists` conflict for a unique violation, the error itself otherwise.
    #[must_use]
    pub fn unique_as(error: sqlx::Error, message: &'static str) -> Self {
        match &error {
            sqlx::Error::Database(e) if e.is_unique_violation() => {
                Self::Conflict { code: "already_exists", message }
            }
            _ => Self::Database(error),
        }
    }

    /// A stored value that does not decode (500; the cause is logged where it is answered).
    #[must_use]
    pub fn corrupt(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Database(sqlx::Error::Decode(Box::new(cause)))
    }

    /// A 422 for `field`.
    #[must_use]
    pub fn invalid(code: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { code, field, message: message.into() }
    }
}
