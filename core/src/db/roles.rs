//! The database role the application connects as. Migrations run as the owning role (the one
//! `DATABASE_URL` names); requests run as a separate login role that owns nothing and is neither
//! superuser nor BYPASSRLS, so row-level security applies to every query the app makes.
//!
//! Bootstrap makes sure that role exists (when we are allowed to create it) and can read and write
//! the application's tables, but cannot change the migration history or the schema.

use sqlx::{Executor, PgConnection};

use super::{DbError, quote_identifier};

/// The login role requests run as.
#[derive(Clone, PartialEq, Eq)]
pub struct AppRole {
    /// Its name.
    pub name: String,
    /// Its password.
    pub password: String,
}

impl std::fmt::Debug for AppRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppRole").field("name", &self.name).field("password", &"[redacted]").finish()
    }
}

/// The default name of the application's role.
pub const DEFAULT_APP_ROLE: &str = "pingvas_app";

/// A PostgreSQL string literal (role passwords cannot be bind parameters).
fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

async fn run(conn: &mut PgConnection, statement: String) -> Result<(), DbError> {
    conn.execute(sqlx::AssertSqlSafe(statement)).await.map(|_| ()).map_err(DbError::Unreachable)
}

async fn role_exists(conn: &mut PgConnection, role: &str) -> Result<bool, DbError> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
        .bind(role)
        .fetch_one(conn)
        .await
        .map_err(DbError::Unreachable)
}

/// Lets `role` connect to the current database and see into `schema` (the first grants every
/// role of ours needs); returns both names quoted for the grants that follow.
async fn grant_connect_and_usage(
    owner: &mut PgConnection,
    role: &str,
    schema: &str,
) -> Result<(String, String), DbError> {
    let (name, schema) = (quote_identifier(role), quote_identifier(schema));
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&mut *owner)
        .await
        .map_err(DbError::Unreachable)?;
    run(owner, format!("GRANT CONNECT ON DATABASE {} TO {name}", quote_identifier(&database))).await?;
    run(owner, format!("GRANT USAGE ON SCHEMA {schema} TO {name}")).await?;
    Ok((name, schema))
}

/// Creates `role` as an unprivileged login role if it does not exist, and (re)sets its
/// attributes, password and `search_path` (`schema`). Needs a connection with `CREATEROLE`.
///
/// # Errors
/// The statements failed (no permission, for instance).
pub async fn ensure_app_role(owner: &mut PgConnection, role: &AppRole, schema: &str) -> Result<(), DbError> {
    let name = quote_identifier(&role.name);
    if !role_exists(owner, &role.name).await? {
        match run(owner, format!("CREATE ROLE {name} LOGIN")).await {
            // 42710 duplicate_object: another process created it meanwhile.
            Err(DbError::Unreachable(sqlx::Error::Database(e))) if e.code().as_deref() == Some("42710") => {}
            other => other?,
        }
    }
    run(
        owner,
        format!(
            "ALTER ROLE {name} WITH LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION \
             PASSWORD {}",
            quote_literal(&role.password)
        ),
    )
    .await?;
    run(owner, format!("ALTER ROLE {name} SET search_path TO {}", quote_identifier(schema))).await
}

/// Lets `role` use the tables of `schema` in the current database: read and write rows, nothing
/// else (no other schema of ours: it gets no USAGE there). The
/// migration history is read-only to it (readiness reads it) and the admin audit log
/// append-only. Idempotent; run after migrating.
///
/// # Errors
/// The statements failed.
pub async fn grant_app_privileges(owner: &mut PgConnection, role: &str, schema: &str) -> Result<(), DbError> {
    let (name, schema) = grant_connect_and_usage(owner, role, schema).await?;
    for statement in [
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {name}"),
        format!("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {schema}._sqlx_migrations FROM {name}"),
        // The audit log is append-only for requests.
        format!("REVOKE UPDATE, DELETE, TRUNCATE ON {schema}.admin_audit_log FROM {name}"),
        format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {name}"),
        // Our functions are not PUBLIC's (migrations revoke that); the requests' role runs them.
        format!("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} TO {name}"),
    ] {
        run(owner, statement).await?;
    }
    Ok(())
}

/// Lets `role` (which the operator created, with its own password) connect and count the queue
/// through `queue_stats()` and nothing more: KEDA's PostgreSQL scaler. No table privilege, so
/// even a leaked scaler password reads no user's data. Idempotent; run after migrating.
///
/// # Errors
/// [`DbError::ScalerRoleMissing`] when there is no such role; otherwise the statements failed.
pub async fn grant_scaler_privileges(
    owner: &mut PgConnection,
    role: &str,
    schema: &str,
) -> Result<(), DbError> {
    if !role_exists(owner, role).await? {
        return Err(DbError::ScalerRoleMissing(role.to_owned()));
    }
    let (name, schema) = grant_connect_and_usage(owner, role, schema).await?;
    run(owner, format!("GRANT EXECUTE ON FUNCTION {schema}.queue_stats() TO {name}")).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_identifiers_are_quoted_against_injection() {
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_identifier("pingvas\"app"), "\"pingvas\"\"app\"");
        let role = AppRole { name: "r".into(), password: "hunter2".into() };
        assert!(!format!("{role:?}").contains("hunter2"));
    }
}
