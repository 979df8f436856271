//! The embedded cluster on a data folder of its own: made once, restarted with its data, stopped,
//! and safe to start from several tasks at once.

use crate::common;

use std::path::PathBuf;

use pingvas_core::db::embedded::EmbeddedCluster;
use sqlx::{Connection, PgConnection};

/// A data folder under the system's temp dir (reachable by the `postgres` account when we are
/// root), removed at the end, cluster stopped first.
struct ScratchDataDir(PathBuf);

impl ScratchDataDir {
    fn new() -> Self {
        Self(std::env::temp_dir().join(format!("pingvas-embedded-{}", uuid::Uuid::new_v4().simple())))
    }
}

impl Drop for ScratchDataDir {
    fn drop(&mut self) {
        let cluster = EmbeddedCluster::new(&self.0);
        common::block_on_detached(async move { cluster.stop().await.ok() });
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn cluster_is_made_once_keeps_its_data_across_restarts_and_stops() {
    let data = ScratchDataDir::new();
    let cluster = EmbeddedCluster::new(&data.0);

    // Two concurrent starts on a new folder: the lock makes one initialise, both get the same endpoint.
    let (first, second) = tokio::join!(cluster.ensure_running(), cluster.ensure_running());
    let endpoint = first.unwrap();
    assert_eq!(endpoint.url("postgres"), second.unwrap().url("postgres"));

    let mut conn = PgConnection::connect_with(&endpoint.connect_options("postgres")).await.unwrap();
    sqlx::raw_sql("CREATE TABLE keepsake (note text); INSERT INTO keepsake VALUES ('kept');")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    assert!(cluster.stop().await.unwrap(), "it was running");
    assert!(!cluster.stop().await.unwrap(), "stopping twice is harmless");
    assert!(
        PgConnection::connect_with(&endpoint.connect_options("postgres")).await.is_err(),
        "stopped means down"
    );

    let restarted = cluster.ensure_running().await.unwrap();
    assert_eq!(restarted.url("postgres"), endpoint.url("postgres"), "same port and credentials");
    let mut conn = PgConnection::connect_with(&restarted.connect_options("postgres")).await.unwrap();
    let note: String = sqlx::query_scalar("SELECT note FROM keepsake").fetch_one(&mut conn).await.unwrap();
    assert_eq!(note, "kept");

    // While stopped, something else takes the port: the next start moves to a free one.
    conn.close().await.unwrap();
    assert!(cluster.stop().await.unwrap());
    let squatter = std::net::TcpListener::bind(("127.0.0.1", restarted.port())).unwrap();
    let moved = cluster.ensure_running().await.unwrap();
    assert_ne!(moved.port(), restarted.port());
    drop(squatter);
    let mut conn = PgConnection::connect_with(&moved.connect_options("postgres")).await.unwrap();
    let note: String = sqlx::query_scalar("SELECT note FROM keepsake").fetch_one(&mut conn).await.unwrap();
    assert_eq!(note, "kept");

    // Credentials are private to the owner; the cluster rejects a wrong password.
    let credentials = std::fs::metadata(data.0.join("postgres.json")).unwrap();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&credentials.permissions()) & 0o777, 0o600);
    let wrong = moved.connect_options("postgres").password("not-the-password");
    assert!(PgConnection::connect_with(&wrong).await.is_err());
}
