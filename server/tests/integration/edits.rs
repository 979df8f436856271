//! Image-to-image, inpainting and outpainting over REST with the starter model, end to end: the
//! request names images of the caller's (gallery images or assets), a real worker runs the job on
//! the CPU, and the result's pixels are checked against the init image. Another user's image is
//! not found and costs nothing; staged results stay out of the gallery until accepted.

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use axum::{Router, http::StatusCode};
use common::{
    SignedIn, TestDatabase, app_with_config, body_json, config, generate, get_as, post_as, quota_row,
    register_verified, upload, upload_with,
};
use http_body_util::BodyExt;
use pingvas_core::generation::worker::Worker;
use serde_json::{Value, json};

struct Studio {
    app: Router,
    pool: sqlx::PgPool,
    worker: Worker,
    _db: TestDatabase,
}

async fn studio() -> Studio {
    let db = TestDatabase::migrated().await;
    let objects = std::env::temp_dir().join(format!("pingvas-edits-{}", uuid::Uuid::new_v4().simple()));
    let app = app_with_config(db.pool.clone(), config(&[("OBJECT_STORE_URL", objects.to_str().unwrap())]));
    let worker = common::cpu_worker(&db.pool, &objects);
    Studio { app, pool: db.pool.clone(), worker, _db: db }
}

impl Studio {
    /// Queues `body` as `user`, runs it to the end and returns the finished job.
    async fn make(&mut self, user: &SignedIn, body: Value) -> Value {
        let response = generate(&self.app, user, body.clone()).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{body}");
        let job = body_json(response).await["job"]["job_id"].as_str().unwrap().to_owned();
        while self.worker.run_next().await.unwrap() {}
        let job = body_json(get_as(&self.app, &format!("/api/v1/jobs/{job}"), &user.bearer()).await).await;
        assert_eq!(job["status"], "completed", "{job}");
        job
    }

    /// The first image of `job`, decoded.
    async fn picture(&self, user: &SignedIn, job: &Value) -> engine::png::DecodedPng {
        let id = job["image_ids"][0].as_str().unwrap();
        let response = get_as(&self.app, &format!("/api/v1/images/{id}/file"), &user.bearer()).await;
        assert_eq!(response.status(), StatusCode::OK);
        engine::png::decode_png(&response.into_body().collect().await.unwrap().to_bytes()).unwrap()
    }

    /// Uploads `png` as `user`'s asset and returns its id.
    async fn asset(&self, user: &SignedIn, png: &[u8]) -> String {
        let response = upload_with(&self.app, user, png, &[("purpose", "asset")]).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        body_json(response).await["image_id"].as_str().unwrap().to_owned()
    }

    async fn gallery_ids(&self, user: &SignedIn) -> Vec<String> {
        let page = body_json(get_as(&self.app, "/api/v1/images", &user.bearer()).await).await;
        page["items"].as_array().unwrap().iter().map(|i| i["image_id"].as_str().unwrap().to_owned()).collect()
    }
}

/// A PNG of `width × height` RGBA pixels given by `pixel(x, y)`.
fn rgba_png(width: u32, height: u32, pixel: impl Fn(u32, u32) -> [u8; 4]) -> Vec<u8> {
    use image::ImageEncoder;
    let pixel = &pixel;
    let pixels: Vec<u8> = (0..height).flat_map(|y| (0..width).flat_map(move |x| pixel(x, y))).collect();
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(&pixels, width, height, image::ExtendedColorType::Rgba8)
        .unwrap();
    out
}

/// Mean absolute difference of two RGB images' pixels selected by `keep(x, y)`, in 8-bit levels.
fn mean_difference(
    a: &engine::png::DecodedPng,
    b: &engine::png::DecodedPng,
    keep: impl Fn(usize, usize) -> bool,
) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    let (mut sum, mut count) = (0.0, 0_usize);
    for y in 0..a.height {
        for x in (0..a.width).filter(|&x| keep(x, y)) {
            for c in 0..3 {
                let k = (y * a.width + x) * 3 + c;
                sum += (f64::from(a.rgb[k]) - f64::from(b.rgb[k])).abs();
                count += 1;
            }
        }
    }
    sum / count as f64
}

/// Whether `(x, y)` of a 64×64 image lies in the centred 32×32 square the inpainting mask paints.
fn in_square(x: usize, y: usize) -> bool {
    (16..48).contains(&x) && (16..48).contains(&y)
}

#[tokio::test]
async fn naming_another_users_image_as_init_or_mask_is_not_found_and_charges_nothing() {
    let mut s = studio().await;
    let ada = register_verified(&s.app, &s.pool, "ada@example.com").await;
    let bob = register_verified(&s.app, &s.pool, "bob@example.com").await;
    let ada_image = s.asset(&ada, &rgba_png(64, 64, |_, _| [200, 30, 30, 255])).await;
    let bobs = body_json(upload(&s.app, &bob, &rgba_png(64, 64, |_, _| [0, 0, 0, 255]), None).await).await;
    let bobs = bobs["image_id"].as_str().unwrap();
    let unknown = uuid::Uuid::new_v4().to_string();

    let mut answers = Vec::new();
    for body in [
        json!({"prompt": "red heart", "init_image_id": bobs}),
        json!({"prompt": "red heart", "init_image_id": unknown}),
        json!({"prompt": "red heart", "init_image_id": ada_image, "mask_image_id": bobs}),
        json!({"prompt": "red heart", "init_image_id": ada_image, "mask_image_id": unknown}),
    ] {
        let response = generate(&s.app, &ada, body.clone()).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{body}");
        answers.push(body_json(response).await);
    }
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "another's image answers as an unknown one: {answers:?}"
    );
    assert_eq!(quota_row(&s.pool, &ada).await.1, 0, "nothing charged");
    let jobs = body_json(get_as(&s.app, "/api/v1/jobs", &ada.bearer()).await).await;
    assert_eq!(jobs["items"], json!([]), "nothing queued");

    // What is wrong with one's own images is said, naming the field.
    let small_mask = s.asset(&ada, &rgba_png(32, 32, |_, _| [255, 255, 255, 255])).await;
    for (body, field) in [
        (json!({"prompt": "x", "init_image_id": ada_image, "mask_image_id": small_mask}), "mask_image_id"),
        (
            json!({"prompt": "x", "init_image_id": ada_image, "region": {"x": 64, "y": 0, "width": 64, "height": 64}}),
            "region",
        ),
        (json!({"prompt": "x", "strength": 0.5}), "strength"),
        (json!({"prompt": "x", "init_image_id": ada_image, "strength": 2}), "strength"),
        (json!({"prompt": "x", "init_image_id": ada_image, "width": 1024}), "width"),
    ] {
        let response = generate(&s.app, &ada, body.clone()).await;
        let status = response.status();
        let answer = body_json(response).await;
        assert!(matches!(status.as_u16(), 403 | 422), "{body}: {status}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    assert_eq!(quota_row(&s.pool, &ada).await.1, 0);

    // Assets are the caller's images but not among their pictures.
    assert_eq!(
        get_as(&s.app, &format!("/api/v1/images/{ada_image}"), &ada.bearer()).await.status(),
        StatusCode::OK
    );
    assert!(s.gallery_ids(&ada).await.is_empty(), "assets stay out of the gallery");
    let job =
        s.make(&ada, json!({"prompt": "red heart", "seed": 3, "steps": 8, "init_image_id": ada_image})).await;
    assert_eq!(quota_row(&s.pool, &ada).await.1, 1, "an edit is charged as any image");
    assert_eq!(s.gallery_ids(&ada).await, vec![job["image_ids"][0].as_str().unwrap()]);
}

#[tokio::test]
async fn image_to_image_keeps_the_init_image_at_strength_0_and_draws_afresh_at_1() {
    let mut s = studio().await;
    let ada = register_verified(&s.app, &s.pool, "ada@example.com").await;
    let base = s.make(&ada, json!({"prompt": "red apple", "seed": 11, "steps": 12})).await;
    let init = s.picture(&ada, &base).await;
    let init_id = base["image_ids"][0].as_str().unwrap();

    let kept = s
        .make(
            &ada,
            json!({"prompt": "red apple", "seed": 5, "steps": 12, "init_image_id": init_id, "strength": 0.0}),
        )
        .await;
    let kept = s.picture(&ada, &kept).await;
    let round_trip = mean_difference(&kept, &init, |_, _| true);

    let other = s.make(&ada, json!({"prompt": "grinning face", "seed": 5, "steps": 12})).await;
    let other = s.picture(&ada, &other).await;
    let afresh = s.make(&ada, json!({"prompt": "grinning face", "seed": 5, "steps": 12, "init_image_id": init_id, "strength": 1.0})).await;
    let afresh_job = afresh.clone();
    let afresh = s.picture(&ada, &afresh).await;

    let apart = mean_difference(&other, &init, |_, _| true);
    eprintln!(
        "strength 0 vs init {round_trip:.2}; text-to-image vs init {apart:.2}; strength 1 vs init {:.2}, vs text-to-image {:.2}",
        mean_difference(&afresh, &init, |_, _| true),
        mean_difference(&afresh, &other, |_, _| true)
    );
    // At strength 0 the image only goes through the VAE and back.
    assert!(round_trip < 8.0, "strength 0 keeps the image: {round_trip:.2} levels apart");
    assert!(round_trip * 3.0 < apart, "{round_trip:.2} vs another picture's {apart:.2}");
    // At 1 the prompt decides: the result is nearer the text-to-image picture than the init image.
    assert!(
        mean_difference(&afresh, &other, |_, _| true) < mean_difference(&afresh, &init, |_, _| true),
        "strength 1 draws the prompt, not the init image"
    );
    // "Use these settings" gives the edit back.
    let (_, text) = afresh.texts.iter().find(|(k, _)| k == "parameters").unwrap();
    let stored: Value = serde_json::from_str(text).unwrap();
    assert_eq!(
        (stored["edit"]["init_image_id"].as_str(), stored["edit"]["strength"].as_f64()),
        (Some(init_id), Some(1.0))
    );
    assert_eq!(afresh_job["params"]["edit"], stored["edit"]);
}

#[tokio::test]
async fn inpainting_keeps_every_pixel_outside_the_mask_changes_the_inside_and_stages_until_accepted() {
    let mut s = studio().await;
    let ada = register_verified(&s.app, &s.pool, "ada@example.com").await;
    let base = s.make(&ada, json!({"prompt": "red apple", "seed": 11, "steps": 12})).await;
    let init = s.picture(&ada, &base).await;
    let init_id = base["image_ids"][0].as_str().unwrap();
    let mask = s
        .asset(
            &ada,
            &rgba_png(
                64,
                64,
                |x, y| if in_square(x as usize, y as usize) { [255; 4] } else { [0, 0, 0, 255] },
            ),
        )
        .await;

    let job = s
        .make(
            &ada,
            json!({"prompt": "blue heart", "seed": 2, "steps": 12, "init_image_id": init_id,
                   "mask_image_id": mask, "mask_blur": 0, "staged": true}),
        )
        .await;
    let painted = s.picture(&ada, &job).await;
    let outside = mean_difference(&painted, &init, |x, y| !in_square(x, y));
    let inside = mean_difference(&painted, &init, in_square);
    eprintln!("inpainting: outside the mask {outside:.2} levels from the init image, inside {inside:.2}");
    assert!(outside == 0.0, "outside the mask the init image's own pixels: {outside}");
    assert!(inside > 10.0, "inside the mask it is painted anew: {inside:.2}");

    // Staged: the caller's, out of the gallery until accepted.
    let staged = job["image_ids"][0].as_str().unwrap();
    assert!(!s.gallery_ids(&ada).await.contains(&staged.to_owned()));
    let accepted = post_as(&s.app, &format!("/api/v1/images/{staged}/accept"), &ada).await;
    assert_eq!(accepted.status(), StatusCode::OK);
    assert_eq!(body_json(accepted).await["origin"], "generated");
    assert_eq!(s.gallery_ids(&ada).await.first().map(String::as_str), Some(staged));
    let bob = register_verified(&s.app, &s.pool, "bob@example.com").await;
    assert_eq!(
        post_as(&s.app, &format!("/api/v1/images/{staged}/accept"), &bob).await.status(),
        StatusCode::NOT_FOUND
    );

    // With a blurred mask the seam is feathered: beyond the blur the init image is still untouched.
    let job = s
        .make(&ada, json!({"prompt": "blue heart", "seed": 2, "steps": 12, "init_image_id": init_id, "mask_image_id": mask, "mask_blur": 4}))
        .await;
    let feathered = s.picture(&ada, &job).await;
    let far = |x: usize, y: usize| !((4..60).contains(&x) && (4..60).contains(&y));
    assert_eq!(mean_difference(&feathered, &init, far), 0.0, "twelve pixels from the mask nothing moved");
}

#[tokio::test]
async fn a_region_past_the_right_edge_outpaints_and_keeps_the_image_it_overlaps() {
    let mut s = studio().await;
    let ada = register_verified(&s.app, &s.pool, "ada@example.com").await;
    let base = s.make(&ada, json!({"prompt": "red apple", "seed": 11, "steps": 12})).await;
    let init = s.picture(&ada, &base).await;
    let init_id = base["image_ids"][0].as_str().unwrap();

    let job = s
        .make(
            &ada,
            json!({"prompt": "red apple", "seed": 4, "steps": 12, "init_image_id": init_id,
                   "region": {"x": 32, "y": 0, "width": 64, "height": 64}, "mask_blur": 0}),
        )
        .await;
    assert_eq!(job["params"]["width"], 64, "sized by its region");
    let extended = s.picture(&ada, &job).await;
    for y in 0..64 {
        for x in 0..32 {
            let (k, source) = ((y * 64 + x) * 3, (y * 64 + x + 32) * 3);
            assert_eq!(
                extended.rgb[k..k + 3],
                init.rgb[source..source + 3],
                "({x}, {y}) is the init image's"
            );
        }
    }
    // The new half is painted, not left as the infill's smooth wash of edge colours.
    let right: Vec<u8> =
        (0..64).flat_map(|y| extended.rgb[(y * 64 + 32) * 3..(y * 64 + 64) * 3].to_vec()).collect();
    let distinct: std::collections::HashSet<&[u8]> = right.chunks(3).collect();
    assert!(distinct.len() > 64, "{} colours", distinct.len());
}
