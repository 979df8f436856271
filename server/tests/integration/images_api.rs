//! The gallery's REST routes on real PostgreSQL and a real object store (a local folder): list,
//! read, edit, delete, files and thumbnails (bearer or signed link), uploads, and a job's event
//! stream, each with its 401 / 404 / 413 / 415 / 422 cases; generated images carry their
//! parameters in the PNG.

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use axum::{Router, http::StatusCode};
use common::{
    PEER, TestDatabase, app_with_config, body_json, call, config, generate, get_as, png, register,
    register_verified, send_as, upload,
};
use http_body_util::BodyExt;
use pingvas_core::tenancy::TenantDb;
use serde_json::{Value, json};

struct Gallery {
    app: Router,
    objects: std::path::PathBuf,
    db: TestDatabase,
    pool: sqlx::PgPool,
}

async fn gallery() -> Gallery {
    let db = TestDatabase::migrated().await;
    let objects = std::env::temp_dir().join(format!("pingvas-images-api-{}", uuid::Uuid::new_v4().simple()));
    let app = app_with_config(db.pool.clone(), config(&[("OBJECT_STORE_URL", objects.to_str().unwrap())]));
    Gallery { app, objects, pool: db.pool.clone(), db }
}

/// A PNG of zeros, as a decompression bomb is made: tiny on the wire whatever it declares.
fn zeros_png(width: u32, height: u32, colour: image::ExtendedColorType) -> Vec<u8> {
    use image::ImageEncoder;
    let pixels = vec![0_u8; width as usize * height as usize * usize::from(colour.bits_per_pixel() / 8)];
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new_with_quality(
        &mut out,
        image::codecs::png::CompressionType::Best,
        image::codecs::png::FilterType::NoFilter,
    )
    .write_image(&pixels, width, height, colour)
    .unwrap();
    out
}

async fn bytes(response: axum::response::Response) -> Vec<u8> {
    response.into_body().collect().await.unwrap().to_bytes().to_vec()
}

#[tokio::test]
async fn every_gallery_route_wants_a_signed_in_caller() {
    let g = gallery().await;
    let id = uuid::Uuid::new_v4();
    for (method, path) in [
        ("GET", "/api/v1/images".to_owned()),
        ("GET", format!("/api/v1/images/{id}")),
        ("PATCH", format!("/api/v1/images/{id}")),
        ("DELETE", format!("/api/v1/images/{id}")),
        ("GET", format!("/api/v1/images/{id}/file")),
        ("GET", format!("/api/v1/images/{id}/thumbnail")),
        ("POST", "/api/v1/images/upload".to_owned()),
        ("GET", format!("/api/v1/jobs/{id}/events")),
    ] {
        let response = call(&g.app, method, &path, PEER, &[], None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
    }
}

#[tokio::test]
async fn uploads_are_checked_by_content_listed_newest_first_and_paged() {
    let g = gallery().await;
    let ada = register(&g.app, "ada@example.com").await;
    assert_eq!(
        upload(&g.app, &ada, b"not an image at all", None).await.status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    // SECURITY.md 36: a bomb (8192×8192 RGBA of zeros, a few hundred KB) is refused from its
    // header, and so is 16-bit colour; neither stores anything (the list below counts three).
    let bomb = upload(&g.app, &ada, &zeros_png(8192, 8192, image::ExtendedColorType::Rgba8), None).await;
    assert_eq!(bomb.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body_json(bomb).await["error"]["code"], "too_large");
    let deep = upload(&g.app, &ada, &zeros_png(16, 16, image::ExtendedColorType::Rgba16), None).await;
    assert_eq!(deep.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body_json(deep).await["error"]["code"], "unsupported_image");
    // Not multipart at all: the API's error format, not axum's plain text.
    let no_file = send_as(&g.app, "POST", "/api/v1/images/upload", &ada, None).await;
    assert_eq!(no_file.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(no_file).await["error"]["code"], "invalid_form");

    let mut ids = Vec::new();
    for side in [40, 50, 60] {
        let response = upload(&g.app, &ada, &png(side, side), None).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body = body_json(response).await;
        assert_eq!(
            (body["origin"].as_str(), body["width"].as_i64()),
            (Some("uploaded"), Some(i64::from(side)))
        );
        ids.push(body["image_id"].as_str().unwrap().to_owned());
    }
    let page = body_json(get_as(&g.app, "/api/v1/images?limit=2", &ada.bearer()).await).await;
    assert_eq!(page["total"], 3);
    let listed: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|i| i["image_id"].as_str().unwrap()).collect();
    assert_eq!(listed, vec![ids[2].as_str(), ids[1].as_str()], "newest first");
    let rest = body_json(get_as(&g.app, "/api/v1/images?limit=2&offset=2", &ada.bearer()).await).await;
    assert_eq!(rest["items"][0]["image_id"].as_str(), Some(ids[0].as_str()));
    assert_eq!(rest["total"], 3, "every page carries the total");
    let past_the_end =
        body_json(get_as(&g.app, "/api/v1/images?limit=2&offset=10", &ada.bearer()).await).await;
    assert_eq!(
        (past_the_end["items"].as_array().map(Vec::len), &past_the_end["total"]),
        (Some(0), &json!(3))
    );
    for bad in ["limit=0", "limit=101", "offset=-1"] {
        let response = get_as(&g.app, &format!("/api/v1/images?{bad}"), &ada.bearer()).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    for unreadable in ["limit=many", "starred=maybe", "board_id=not-a-uuid"] {
        let response = get_as(&g.app, &format!("/api/v1/images?{unreadable}"), &ada.bearer()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{unreadable}");
        assert_eq!(body_json(response).await["error"]["code"], "invalid_query", "{unreadable}");
    }

    // The file comes back byte for byte; the thumbnail is WebP.
    let original = png(40, 40);
    let file = get_as(&g.app, &format!("/api/v1/images/{}/file", ids[0]), &ada.bearer()).await;
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.headers()["content-type"], "image/png");
    assert_eq!(bytes(file).await, original);
    let thumb =
        bytes(get_as(&g.app, &format!("/api/v1/images/{}/thumbnail", ids[0]), &ada.bearer()).await).await;
    assert_eq!(&thumb[8..12], b"WEBP");
}

#[tokio::test]
async fn another_users_images_and_boards_are_not_found_and_edits_change_only_mine() {
    let g = gallery().await;
    let (ada, bob) = (register(&g.app, "ada@example.com").await, register(&g.app, "bob@example.com").await);
    let image = body_json(upload(&g.app, &ada, &png(32, 32), None).await).await;
    let id = image["image_id"].as_str().unwrap();
    let ada_board =
        body_json(send_as(&g.app, "POST", "/api/v1/boards", &ada, Some(json!({"name": "Ice"}))).await).await;
    let bob_board =
        body_json(send_as(&g.app, "POST", "/api/v1/boards", &bob, Some(json!({"name": "Mine"}))).await).await;

    for (method, path) in [
        ("GET", format!("/api/v1/images/{id}")),
        ("GET", format!("/api/v1/images/{id}/file")),
        ("GET", format!("/api/v1/images/{id}/thumbnail")),
        ("DELETE", format!("/api/v1/images/{id}")),
        ("GET", "/api/v1/images/not-a-uuid".to_owned()),
    ] {
        assert_eq!(
            send_as(&g.app, method, &path, &bob, None).await.status(),
            StatusCode::NOT_FOUND,
            "{method} {path}"
        );
    }
    let patch =
        send_as(&g.app, "PATCH", &format!("/api/v1/images/{id}"), &bob, Some(json!({"starred": true}))).await;
    assert_eq!(patch.status(), StatusCode::NOT_FOUND);

    let path = format!("/api/v1/images/{id}");
    let starred =
        body_json(send_as(&g.app, "PATCH", &path, &ada, Some(json!({"starred": true}))).await).await;
    assert_eq!(starred["starred"], true);
    let moved = body_json(
        send_as(&g.app, "PATCH", &path, &ada, Some(json!({"board_id": ada_board["board_id"]}))).await,
    )
    .await;
    assert_eq!(
        (moved["board_id"].clone(), moved["starred"].clone()),
        (ada_board["board_id"].clone(), json!(true))
    );
    let foreign =
        send_as(&g.app, "PATCH", &path, &ada, Some(json!({"board_id": bob_board["board_id"]}))).await;
    assert_eq!(foreign.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body_json(foreign).await["error"]["code"], "unknown_board");
    let board_filter = format!("/api/v1/images?board_id={}", ada_board["board_id"].as_str().unwrap());
    assert_eq!(body_json(get_as(&g.app, &board_filter, &ada.bearer()).await).await["total"], 1);
    assert_eq!(
        body_json(get_as(&g.app, "/api/v1/images?starred=true", &ada.bearer()).await).await["total"],
        1
    );
    let off = body_json(send_as(&g.app, "PATCH", &path, &ada, Some(json!({"board_id": null}))).await).await;
    assert_eq!(off["board_id"], Value::Null);
    assert_eq!(body_json(get_as(&g.app, "/api/v1/images", &bob.bearer()).await).await["total"], 0);

    // Deleting removes the row and both files.
    let files = count_files(&g.objects);
    assert_eq!(files, 2);
    assert_eq!(send_as(&g.app, "DELETE", &path, &ada, None).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(get_as(&g.app, &path, &ada.bearer()).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(count_files(&g.objects), 0);
}

/// SECURITY.md 37: an upload past the plan's storage budget (images or bytes) gets 413
/// `storage_quota_exceeded` and leaves nothing stored; uploads at once cannot together pass it;
/// deleting an image makes room for one; a generation needs room for its batch.
#[tokio::test]
async fn s37_uploads_past_the_storage_budget_are_refused_with_nothing_stored_and_cannot_overdraw_it() {
    let g = gallery().await;
    let ada = register_verified(&g.app, &g.pool, "ada@example.com").await;
    let limits = contract::plans::Plan::Free.limits();
    let max_images = i64::try_from(limits.storage_images.unwrap()).unwrap();
    let stored = |g: &Gallery| {
        let (pool, user) = (g.db.owner_pool.clone(), ada.user_id.clone());
        async move {
            sqlx::query_as::<_, (i64, i64)>(
                "SELECT stored_images, stored_bytes FROM users WHERE user_id = $1::uuid",
            )
            .bind(user)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    // As if the gallery already held all but two images.
    sqlx::query("UPDATE users SET stored_images = $2 WHERE user_id = $1::uuid")
        .bind(&ada.user_id)
        .bind(max_images - 2)
        .execute(&g.db.owner_pool)
        .await
        .unwrap();

    let uploads: Vec<_> = (0..6_u32)
        .map(|i| {
            let (app, ada) = (g.app.clone(), ada.clone());
            tokio::spawn(async move { upload(&app, &ada, &png(16 + i, 16), None).await })
        })
        .collect();
    let (mut accepted, mut refusals) = (Vec::new(), Vec::new());
    for response in uploads {
        let response = response.await.unwrap();
        match response.status() {
            StatusCode::CREATED => accepted.push(body_json(response).await),
            StatusCode::PAYLOAD_TOO_LARGE => refusals.push(body_json(response).await),
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((accepted.len(), refusals.len()), (2, 4));
    assert!(refusals.iter().all(|r| r["error"]["code"] == "storage_quota_exceeded"), "{refusals:?}");
    let message = refusals[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("Free plan keeps 1000 images") && message.contains("Pro"), "{message}");
    assert_eq!(count_files(&g.objects), 4, "the two accepted images and their thumbnails, nothing else");
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM images").fetch_one(&g.db.owner_pool).await.unwrap();
    assert_eq!(rows, 2);
    let accepted_bytes: i64 = accepted.iter().map(|image| image["byte_size"].as_i64().unwrap()).sum();
    assert_eq!(stored(&g).await, (max_images, accepted_bytes));

    let refused_generation = generate(&g.app, &ada, json!({"prompt": "a penguin"})).await;
    assert_eq!(refused_generation.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body_json(refused_generation).await["error"]["code"], "storage_quota_exceeded");

    // Deleting one makes room for exactly one.
    let first = format!("/api/v1/images/{}", accepted[0]["image_id"].as_str().unwrap());
    assert_eq!(send_as(&g.app, "DELETE", &first, &ada, None).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(stored(&g).await.0, max_images - 1);
    assert_eq!(upload(&g.app, &ada, &png(20, 20), None).await.status(), StatusCode::CREATED);
    assert_eq!(upload(&g.app, &ada, &png(20, 20), None).await.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // The byte budget: a gallery 100 bytes short takes no image larger than that.
    sqlx::query("UPDATE users SET stored_images = 0, stored_bytes = $2 WHERE user_id = $1::uuid")
        .bind(&ada.user_id)
        .bind(i64::try_from(limits.storage_bytes.unwrap()).unwrap() - 100)
        .execute(&g.db.owner_pool)
        .await
        .unwrap();
    let too_big = upload(&g.app, &ada, &png(20, 20), None).await;
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body_json(too_big).await["error"]["message"].as_str().unwrap().contains("1 GiB"));

    // Images still to come from queued jobs count: room for two means two one-image jobs.
    sqlx::query("UPDATE users SET stored_images = $2, stored_bytes = 0 WHERE user_id = $1::uuid")
        .bind(&ada.user_id)
        .bind(max_images - 2)
        .execute(&g.db.owner_pool)
        .await
        .unwrap();
    for expected in [StatusCode::ACCEPTED, StatusCode::ACCEPTED, StatusCode::PAYLOAD_TOO_LARGE] {
        assert_eq!(generate(&g.app, &ada, json!({"prompt": "a penguin"})).await.status(), expected);
    }
}

fn count_files(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.filter_map(Result::ok).map(|e| if e.path().is_dir() { count_files(&e.path()) } else { 1 }).sum()
}

#[tokio::test]
async fn signed_links_open_one_image_without_the_token_and_nothing_else() {
    let g = gallery().await;
    let ada = register(&g.app, "ada@example.com").await;
    let image = body_json(upload(&g.app, &ada, &png(20, 20), None).await).await;
    let other = body_json(upload(&g.app, &ada, &png(24, 24), None).await).await;
    let file_url = image["file_url"].as_str().unwrap();
    assert!(file_url.contains("signature="), "{file_url}");
    let opened = call(&g.app, "GET", file_url, PEER, &[], None).await;
    assert_eq!(opened.status(), StatusCode::OK);
    assert_eq!(opened.headers()["cache-control"], "private, max-age=3600");
    let thumbnail = call(&g.app, "GET", image["thumbnail_url"].as_str().unwrap(), PEER, &[], None).await;
    assert_eq!(thumbnail.status(), StatusCode::OK);

    // The same signature for the other image, the thumbnail link for the file, a changed expiry:
    // all refused.
    let other_id = other["image_id"].as_str().unwrap();
    let swapped = file_url.replace(image["image_id"].as_str().unwrap(), other_id);
    assert_eq!(call(&g.app, "GET", &swapped, PEER, &[], None).await.status(), StatusCode::UNAUTHORIZED);
    let query = file_url.split_once('?').unwrap().1;
    let as_thumbnail = format!("/api/v1/images/{}/thumbnail?{query}", image["image_id"].as_str().unwrap());
    assert_eq!(call(&g.app, "GET", &as_thumbnail, PEER, &[], None).await.status(), StatusCode::UNAUTHORIZED);
    let later = file_url.replace("expires=", "expires=9");
    assert_eq!(call(&g.app, "GET", &later, PEER, &[], None).await.status(), StatusCode::UNAUTHORIZED);
}

/// Reads server-sent events from `response` until `count` have arrived; returns (name, data).
async fn sse_events(response: axum::response::Response, count: usize) -> Vec<(String, Value)> {
    let mut body = response.into_body();
    let mut text = String::new();
    let mut events = Vec::new();
    while events.len() < count {
        let frame =
            tokio::time::timeout(Duration::from_secs(60), body.frame()).await.expect("an event in time");
        let Some(frame) = frame else { break };
        if let Ok(data) = frame.unwrap().into_data() {
            text.push_str(std::str::from_utf8(&data).unwrap());
        }
        while let Some((event, rest)) = text.split_once("\n\n") {
            let name = event.lines().find_map(|l| l.strip_prefix("event: ")).map(str::to_owned);
            let data = event
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .map(|d| serde_json::from_str(d).unwrap());
            if let (Some(name), Some(data)) = (name, data) {
                events.push((name, data));
            }
            text = rest.to_owned();
        }
    }
    events
}

#[tokio::test]
async fn a_jobs_event_stream_shows_it_queued_then_running_then_completed_with_a_png_that_keeps_its_parameters()
 {
    let g = gallery().await;
    let (ada, bob) = (
        register_verified(&g.app, &g.pool, "ada@example.com").await,
        register(&g.app, "bob@example.com").await,
    );
    let accepted =
        body_json(generate(&g.app, &ada, json!({"prompt": "a penguin", "steps": 12, "seed": 99})).await)
            .await;
    let job = accepted["job"]["job_id"].as_str().unwrap().to_owned();
    let events_path = format!("/api/v1/jobs/{job}/events");
    assert_eq!(get_as(&g.app, &events_path, &bob.bearer()).await.status(), StatusCode::NOT_FOUND);

    // The signed link opens the stream without a token (as the browser's EventSource does).
    let stream = call(&g.app, "GET", accepted["events_url"].as_str().unwrap(), PEER, &[], None).await;
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let reader = tokio::spawn(sse_events(stream, 100));

    let mut worker = common::cpu_worker(&g.pool, &g.objects);
    assert!(worker.run_next().await.unwrap());
    let events = reader.await.unwrap();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"queued"));
    assert_eq!(events[0].1["queue_position"], 0);
    assert_eq!(names.last(), Some(&"completed"), "{names:?}");
    assert!(names.contains(&"progress"), "{names:?}");
    let (_, done) = events.last().unwrap();
    assert_eq!((done["step"].as_i64(), done["total"].as_i64()), (Some(12), Some(12)));
    let steps: Vec<i64> = events.iter().filter_map(|(_, e)| e["step"].as_i64()).collect();
    assert!(steps.windows(2).all(|w| w[0] <= w[1]), "progress only moves forward: {steps:?}");
    assert!(
        events
            .iter()
            .any(|(_, e)| e["preview"].as_str().is_some_and(|p| p.starts_with("data:image/png;base64,"))),
        "previews arrive while it runs"
    );

    let image_id = done["image_ids"][0].as_str().unwrap();
    // The completed event carries the image with its signed links; only it does.
    assert_eq!(done["images"].as_array().map(Vec::len), Some(1), "{done}");
    assert_eq!(done["images"][0]["image_id"], image_id);
    assert!(events[..events.len() - 1].iter().all(|(_, e)| e["images"] == json!([])));
    let signed = done["images"][0]["file_url"].as_str().unwrap();
    let by_link = call(&g.app, "GET", signed, PEER, &[], None).await;
    assert_eq!(by_link.status(), StatusCode::OK, "its link opens without a token");
    let file = bytes(get_as(&g.app, &format!("/api/v1/images/{image_id}/file"), &ada.bearer()).await).await;
    let decoded = engine::png::decode_png(&file).unwrap();
    assert_eq!((decoded.width, decoded.height), (64, 64));
    let (_, text) = decoded.texts.iter().find(|(k, _)| k == "parameters").expect("a parameters chunk");
    let params: Value = serde_json::from_str(text).unwrap();
    assert_eq!(
        (params["prompt"].as_str(), params["seed"].as_i64(), params["steps"].as_i64()),
        (Some("a penguin"), Some(99), Some(12))
    );

    // A finished job's stream sends its last state and ends.
    let again = sse_events(get_as(&g.app, &events_path, &ada.bearer()).await, 5).await;
    assert_eq!(again.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), vec!["completed"]);
}

/// SECURITY.md 39: one user holds at most eight event streams (the ninth is 429
/// `too_many_streams`, and closing one makes room), and however many streams watch a job, one
/// reader per server instance reads it.
#[tokio::test]
async fn event_streams_are_capped_per_user_and_share_one_reader_per_job() {
    let g = gallery().await;
    let ada = register_verified(&g.app, &g.pool, "ada@example.com").await;
    let accepted = body_json(generate(&g.app, &ada, json!({"prompt": "a penguin"})).await).await;
    let job = accepted["job"]["job_id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/jobs/{job}/events");
    let mut open = Vec::new();
    for i in 0..8 {
        let stream = get_as(&g.app, &path, &ada.bearer()).await;
        assert_eq!(stream.status(), StatusCode::OK, "stream {}", i + 1);
        open.push(stream);
    }
    let ninth = get_as(&g.app, &path, &ada.bearer()).await;
    assert_eq!(ninth.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body_json(ninth).await["error"]["code"], "too_many_streams");
    drop(open.pop());
    assert_eq!(get_as(&g.app, &path, &ada.bearer()).await.status(), StatusCode::OK);

    // The hub itself: eight streams of one job, one reader; it goes when they do.
    let hub = pingvas_core::generation::events::JobEventHub::new(TenantDb::new(g.pool.clone()), 8);
    let user = contract::ids::UserId(ada.user_id.parse().unwrap());
    let job: contract::ids::JobId = job.parse().unwrap();
    let mut watches = Vec::new();
    for _ in 0..8 {
        watches.push(hub.watch(user, job).await.unwrap());
    }
    assert_eq!(hub.readers(), 1);
    assert!(matches!(
        hub.watch(user, job).await,
        Err(pingvas_core::generation::events::WatchError::TooManyStreams(8))
    ));
    assert_eq!(watches[0].events.borrow().status, contract::generation::JobStatus::Queued);
    drop(watches);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while hub.readers() > 0 {
        assert!(std::time::Instant::now() < deadline, "the reader leaves with its last stream");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Someone else's job is not theirs to watch, and the refusal holds no slot.
    let bob = contract::ids::UserId(register(&g.app, "bob@example.com").await.user_id.parse().unwrap());
    for _ in 0..10 {
        assert!(matches!(
            hub.watch(bob, job).await,
            Err(pingvas_core::generation::events::WatchError::Tenant(_))
        ));
    }
}

/// SECURITY.md 43: signing out ends the session's signed links at once, and its open event
/// streams at their next session check (within 30 s).
#[tokio::test]
async fn signing_out_ends_the_sessions_signed_links_and_open_event_streams() {
    let g = gallery().await;
    let ada = register_verified(&g.app, &g.pool, "ada@example.com").await;
    let image = body_json(upload(&g.app, &ada, &png(20, 20), None).await).await;
    let file_url = image["file_url"].as_str().unwrap().to_owned();
    assert_eq!(call(&g.app, "GET", &file_url, PEER, &[], None).await.status(), StatusCode::OK);
    let accepted = body_json(generate(&g.app, &ada, json!({"prompt": "a penguin"})).await).await;
    let events_url = accepted["events_url"].as_str().unwrap().to_owned();
    let stream = call(&g.app, "GET", &events_url, PEER, &[], None).await;
    assert_eq!(stream.status(), StatusCode::OK);
    let reader = tokio::spawn(sse_events(stream, 100));

    let logout = call(
        &g.app,
        "POST",
        "/api/v1/auth/logout",
        PEER,
        &[("cookie", &ada.cookie), ("authorization", &ada.bearer()), ("origin", "http://127.0.0.1:3000")],
        None,
    )
    .await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let signed_out = std::time::Instant::now();
    assert_eq!(call(&g.app, "GET", &file_url, PEER, &[], None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(call(&g.app, "GET", &events_url, PEER, &[], None).await.status(), StatusCode::UNAUTHORIZED);
    let events =
        tokio::time::timeout(Duration::from_secs(45), reader).await.expect("the stream ends").unwrap();
    assert_eq!(events.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), vec!["queued"]);
    assert!(signed_out.elapsed() < Duration::from_secs(40), "{:?}", signed_out.elapsed());
}

/// Issue 33, finding 10: upload bodies are held in memory until checked, and nothing bounded
/// them all together. Now they share `UPLOAD_BUFFER_MIB`: a body that finds no room within 10 s
/// is answered 503 `busy`, and room frees when an upload ends (here, when it is abandoned).
#[tokio::test]
async fn upload_bodies_share_a_bounded_buffer_and_wait_for_room() {
    use tower::ServiceExt;
    let db = TestDatabase::migrated().await;
    let objects = std::env::temp_dir().join(format!("pingvas-upload-room-{}", uuid::Uuid::new_v4().simple()));
    let app = app_with_config(
        db.pool.clone(),
        config(&[("OBJECT_STORE_URL", objects.to_str().unwrap()), ("UPLOAD_BUFFER_MIB", "1")]),
    );
    let ada = register_verified(&app, &db.pool, "ada@example.com").await;
    // A client that declares a 1 MiB body and then sends nothing: it holds all the room.
    let stalled = {
        let mut request = axum::http::Request::post("/api/v1/images/upload")
            .header("authorization", ada.bearer())
            .header("content-type", "multipart/form-data; boundary=b")
            .header("content-length", "1048576")
            .body(
                axum::body::Body::from_stream(futures::stream::pending::<Result<Vec<u8>, std::io::Error>>()),
            )
            .unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo("192.0.2.10:40000".parse::<std::net::SocketAddr>().unwrap()));
        tokio::spawn(app.clone().oneshot(request))
    };
    // Wait until the stalled upload holds its room (a later upload then finds none).
    let busy = loop {
        let answer = upload(&app, &ada, &png(8, 8), None).await;
        if answer.status() == StatusCode::SERVICE_UNAVAILABLE {
            break answer;
        }
        assert_eq!(answer.status(), StatusCode::CREATED, "before the stalled upload took its room");
    };
    assert_eq!(body_json(busy).await["error"]["code"], "busy");
    stalled.abort();
    let _ = stalled.await;
    assert_eq!(upload(&app, &ada, &png(8, 8), None).await.status(), StatusCode::CREATED, "room again");
    let _ = std::fs::remove_dir_all(&objects);
}
