//! What the benches share: a fresh, migrated database on `DATABASE_URL`'s server or the
//! embedded cluster in `.data/`, dropped again at the end.

use std::{path::PathBuf, str::FromStr};

use pingvas_core::db::{self, embedded::EmbeddedCluster};
use sqlx::{PgPool, postgres::PgConnectOptions};

/// A database made for one bench run.
pub struct BenchDatabase {
    /// Superuser options for its server.
    pub admin: PgConnectOptions,
    /// Its name.
    pub name: String,
    /// A pool connected to it as the owner.
    pub pool: PgPool,
}

impl BenchDatabase {
    /// Creates and migrates a database with a pool of `connections`.
    pub async fn new(connections: u32) -> Self {
        let admin = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => PgConnectOptions::from_str(&url).unwrap(),
            _ => {
                let data_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.data");
                EmbeddedCluster::new(data_dir).ensure_running().await.unwrap().connect_options("postgres")
            }
        };
        let name = format!("pingvas_bench_{}", uuid::Uuid::new_v4().simple());
        db::create_database_if_missing(&admin, &name).await.unwrap();
        let pool = db::pool(admin.clone().database(&name), connections);
        db::migrate(&pool).await.unwrap();
        Self { admin, name, pool }
    }

    /// Closes the pool and drops the database and `roles` made for it.
    pub async fn drop_with_roles(self, roles: &[&str]) {
        self.pool.close().await;
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect_with(&self.admin).await.unwrap();
        let drop = format!("DROP DATABASE {} WITH (FORCE)", db::quote_identifier(&self.name));
        sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(drop)).await.unwrap();
        for role in roles {
            let drop = format!("DROP ROLE {}", db::quote_identifier(role));
            sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(drop)).await.unwrap();
        }
    }
}
