//! The one way to touch tenant tables: a transaction bound to a user. `begin` opens it and sets
//! `app.current_user_id` transaction-locally (a bind parameter, never string formatting), so
//! PostgreSQL's row-level security shows that user's rows only; the setting ends with the
//! transaction, so a pooled connection never carries one user's identity into the next request.
//!
//! Repositories of tenant tables take a [`TenantTx`], never a pool, so code cannot reach those
//! tables without naming whose rows it works on.

use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::ids::UserId;

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
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT set_config('app.current_user_id', $1, true)")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        Ok(TenantTx { tx, user })
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

    /// The connection, for the queries of this transaction.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Commits; dropping a `TenantTx` instead rolls it back.
    ///
    /// # Errors
    /// The database failed.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
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
    PlanRequired(app::plans::Plan),
    /// The caller already has such a row (409). The message names no constraint and no other
    /// tenant's data (SECURITY.md 10).
    #[error("{0}")]
    Conflict(&'static str),
    /// Not the caller's, or no such row (404; never says which).
    #[error("Not found.")]
    NotFound,
    /// The database failed (500; details logged).
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl TenantError {
    /// `Conflict(message)` for a unique violation, the error itself otherwise.
    #[must_use]
    pub fn unique_as(error: sqlx::Error, message: &'static str) -> Self {
        match &error {
            sqlx::Error::Database(e) if e.is_unique_violation() => Self::Conflict(message),
            _ => Self::Database(error),
        }
    }

    /// A 422 for `field`.
    #[must_use]
    pub fn invalid(code: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { code, field, message: message.into() }
    }
}
