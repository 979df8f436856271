//! tower-sessions' store in PostgreSQL, for the short-lived browser sessions that carry an OAuth
//! authorization in progress. Rows expire with their session; expired ones are never loaded and
//! are deleted by the housekeeping task.

use async_trait::async_trait;
use sqlx::PgPool;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};

/// Sessions in the `oauth_sessions` table.
#[derive(Debug, Clone)]
pub struct PgSessionStore {
    db: PgPool,
}

impl PgSessionStore {
    /// A store over `db`.
    #[must_use]
    pub fn new(db: PgPool) -> Self {
        Self { db }
    }

    /// Deletes expired sessions; returns how many.
    ///
    /// # Errors
    /// The database failed.
    pub async fn delete_expired(&self) -> std::result::Result<u64, sqlx::Error> {
        let done =
            sqlx::query("DELETE FROM oauth_sessions WHERE expiry_date <= now()").execute(&self.db).await?;
        Ok(done.rows_affected())
    }
}

fn backend(error: impl std::fmt::Display) -> Error {
    Error::Backend(error.to_string())
}

fn encode(record: &Record) -> Result<String> {
    serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))
}

#[async_trait]
impl SessionStore for PgSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        let data = encode(record)?;
        // Ids are 128 random bits, so a collision is astronomically unlikely; should one happen,
        // draw another id rather than overwrite someone's session.
        loop {
            let inserted = sqlx::query(
                "INSERT INTO oauth_sessions (id, data, expiry_date) VALUES ($1, $2::jsonb, $3)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(record.id.to_string())
            .bind(&data)
            .bind(record.expiry_date)
            .execute(&self.db)
            .await
            .map_err(backend)?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        sqlx::query(
            "INSERT INTO oauth_sessions (id, data, expiry_date) VALUES ($1, $2::jsonb, $3)
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expiry_date = excluded.expiry_date",
        )
        .bind(record.id.to_string())
        .bind(encode(record)?)
        .bind(record.expiry_date)
        .execute(&self.db)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let row: Option<(String, time::OffsetDateTime)> = sqlx::query_as(
            "SELECT data::text, expiry_date FROM oauth_sessions WHERE id = $1 AND expiry_date > now()",
        )
        .bind(id.to_string())
        .fetch_optional(&self.db)
        .await
        .map_err(backend)?;
        row.map(|(data, expiry_date)| {
            let data = serde_json::from_str(&data).map_err(|e| Error::Decode(e.to_string()))?;
            Ok(Record { id: *id, data, expiry_date })
        })
        .transpose()
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        sqlx::query("DELETE FROM oauth_sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
