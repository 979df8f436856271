//! Image storage through `object_store`: the local folder (the default) and S3, against moto's
//! S3-compatible server (PyPI `moto[server]`, which `scripts/test` installs into
//! `~/.cache/pingvas-moto`).

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::PathBuf, process::Stdio, time::Duration};

use contract::ids::{ImageId, UserId};
use pingvas_core::storage::{FileKind, ImageStore, StorageError};
use uuid::Uuid;

/// Stores, reads, replaces and deletes one image's files, as the worker and the gallery do.
async fn round_trip(store: &ImageStore) {
    let (user, image) = (UserId(Uuid::new_v4()), ImageId(Uuid::new_v4()));
    let key = ImageStore::key(user, image, FileKind::Original, "png");
    let thumbnail = ImageStore::key(user, image, FileKind::Thumbnail, "webp");
    assert!(matches!(store.get(&key).await, Err(StorageError::NotFound(_))));
    store.put(&key, b"first".to_vec()).await.unwrap();
    store.put(&thumbnail, b"small".to_vec()).await.unwrap();
    assert_eq!(&store.get(&key).await.unwrap()[..], b"first");
    // A retried job writes the same key again: the file is replaced, not duplicated.
    store.put(&key, b"second".to_vec()).await.unwrap();
    assert_eq!(&store.get(&key).await.unwrap()[..], b"second");
    store.delete(&key).await.unwrap();
    store.delete(&key).await.unwrap();
    assert!(matches!(store.get(&key).await, Err(StorageError::NotFound(_))));
    assert_eq!(&store.get(&thumbnail).await.unwrap()[..], b"small");
}

#[tokio::test]
async fn the_local_store_keeps_files_under_each_users_prefix() {
    let dir = std::env::temp_dir().join(format!("pingvas-storage-{}", Uuid::new_v4().simple()));
    let store = ImageStore::from_url(None, &dir).unwrap();
    round_trip(&store).await;
    let (user, image) = (UserId(Uuid::new_v4()), ImageId(Uuid::new_v4()));
    store.put(&ImageStore::key(user, image, FileKind::Original, "png"), vec![1, 2, 3]).await.unwrap();
    let on_disk = dir.join(format!("users/{user}/images/{image}.png"));
    assert_eq!(std::fs::read(on_disk).unwrap(), vec![1, 2, 3]);
    std::fs::remove_dir_all(dir).unwrap();
}

fn moto_server() -> PathBuf {
    std::env::var_os("PINGVAS_MOTO_SERVER")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|home| PathBuf::from(home).join(".cache/pingvas-moto/bin/moto_server"))
        })
        .unwrap_or_else(|| PathBuf::from("moto_server"))
}

#[tokio::test]
async fn the_s3_store_works_against_an_s3_compatible_server() {
    let server = moto_server();
    assert!(
        server.is_file(),
        "no moto_server at {}: run ./scripts/test once (it installs moto[server] into ~/.cache/pingvas-moto)",
        server.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut moto = tokio::process::Command::new(&server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..600 {
        if client
            .put(format!("{endpoint}/pingvas-images"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "moto did not start on port {port}");

    let store = ImageStore::s3_with(
        "s3://pingvas-images",
        &[
            ("aws_endpoint", &endpoint),
            ("aws_allow_http", "true"),
            ("aws_access_key_id", "test"),
            ("aws_secret_access_key", "test"),
            ("aws_region", "us-east-1"),
        ],
    )
    .unwrap();
    round_trip(&store).await;
    assert!(ImageStore::s3_with("s3://pingvas-images", &[("no_such_option", "x")]).is_err());
    moto.kill().await.unwrap();
}
