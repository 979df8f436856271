//! The pipeline's behaviour beyond parity: seeded runs repeat exactly, image k of a batch is the
//! image of seed + k, progress reports every step, cancellation stops between steps, bad
//! requests are refused, and `pingvas-gen` writes a PNG that carries its parameters.

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::Device;
use engine::pipeline::{GenerateRequest, Progress, RunOptions};
use engine::schedulers::SchedulerKind;
use engine::{EngineError, StableDiffusion};

use crate::common;

fn tiny_model() -> PathBuf {
    common::fixtures().join("tiny-sd1")
}

fn request(seed: u64, batch: usize) -> GenerateRequest {
    GenerateRequest {
        prompt: "a penguin".into(),
        seed,
        steps: 4,
        scheduler: SchedulerKind::EulerAncestral,
        width: 32,
        height: 24,
        batch,
        ..GenerateRequest::default()
    }
}

#[test]
fn a_seed_repeats_exactly_and_image_k_of_a_batch_is_seed_plus_k() {
    let model = StableDiffusion::load(&tiny_model(), &Device::flex()).unwrap();
    let batch = model.generate(&request(10, 3), RunOptions::default()).unwrap();
    assert_eq!(
        batch.images.iter().map(|i| (i.seed, i.width, i.height)).collect::<Vec<_>>(),
        [(10, 32, 24), (11, 32, 24), (12, 32, 24)]
    );
    assert_ne!(batch.images[0].rgb, batch.images[1].rgb, "different seeds, different images");
    let again = model.generate(&request(10, 3), RunOptions::default()).unwrap();
    assert_eq!(batch.images[2].rgb, again.images[2].rgb);
    let alone = model.generate(&request(12, 1), RunOptions::default()).unwrap();
    let (ours, theirs) = (&batch.images[2].pixels, &alone.images[0].pixels);
    let worst = ours.iter().zip(theirs).fold(0.0_f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(worst < 1e-5, "batch item 2 differs from seed 12 alone by {worst}");
}

#[test]
fn progress_reports_every_step_and_cancelling_stops_before_the_next() {
    let model = StableDiffusion::load(&tiny_model(), &Device::flex()).unwrap();
    let cancel = Arc::new(AtomicBool::new(false));
    let mut seen = Vec::new();
    let flag = Arc::clone(&cancel);
    let mut on_progress = |p: &Progress| {
        seen.push((p.step, p.total, p.preview.as_ref().map(|v| (v.width, v.height))));
        if p.step == 2 {
            flag.store(true, Ordering::Relaxed);
        }
    };
    let options =
        RunOptions { on_progress: Some(&mut on_progress), previews: true, cancel: Some(Arc::clone(&cancel)) };
    let result = model.generate(&request(1, 1), options);
    assert!(matches!(result, Err(EngineError::Cancelled)), "{result:?}");
    assert_eq!(seen, [(1, 4, Some((16, 12))), (2, 4, Some((16, 12)))]);
}

#[test]
fn out_of_range_requests_are_refused_with_the_reason() {
    let model = StableDiffusion::load(&tiny_model(), &Device::flex()).unwrap();
    for (bad, expected) in [
        (GenerateRequest { width: 33, ..request(0, 1) }, "width 33 must be a positive multiple of 2"),
        (GenerateRequest { height: 0, ..request(0, 1) }, "height 0 must be a positive multiple of 2"),
        (GenerateRequest { batch: 0, ..request(0, 1) }, "batch must be at least 1"),
        (GenerateRequest { steps: 0, ..request(0, 1) }, "cannot take 0 steps"),
        (GenerateRequest { guidance_scale: f64::NAN, ..request(0, 1) }, "guidance scale NaN"),
    ] {
        let err = model.generate(&bad, RunOptions::default()).expect_err(expected).to_string();
        assert!(err.contains(expected), "{err}");
    }
}

#[test]
fn pingvas_gen_writes_a_png_with_its_parameters_and_reports_steps_and_timings() {
    let out = std::env::temp_dir().join(format!("pingvas-gen-test-{}.png", std::process::id()));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pingvas-gen"))
        .args(["--model", tiny_model().to_str().unwrap(), "--prompt", "a penguin", "--negative", "blurry"])
        .args([
            "--seed",
            "42",
            "--steps",
            "3",
            "--cfg",
            "5",
            "--scheduler",
            "dpmpp_2m_karras",
            "--width",
            "48",
        ])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    assert!(log.contains("step 3/3") && log.contains("timings: load") && log.contains("steps/s"), "{log}");
    let png = engine::png::decode_png(&std::fs::read(&out).unwrap()).unwrap();
    let _ = std::fs::remove_file(&out);
    assert_eq!((png.width, png.height), (48, 32), "the height defaults to the model's native size");
    let parameters: serde_json::Value = serde_json::from_str(&png.texts[0].1).unwrap();
    assert_eq!(parameters["seed"], 42);
    assert_eq!(parameters["scheduler"], "dpmpp_2m_karras");
    assert_eq!(parameters["negative_prompt"], "blurry");

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_pingvas-gen"))
        .args(["--model", "/nonexistent", "--prompt", "x", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim(),
        "pingvas-gen: model file missing: /nonexistent"
    );
}

#[test]
fn pingvas_gen_makes_one_image_per_line_of_a_prompts_file_with_consecutive_seeds() {
    let dir = std::env::temp_dir().join(format!("pingvas-gen-prompts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let prompts = dir.join("prompts.txt");
    std::fs::write(&prompts, "a penguin\n\n  a red apple  \n").unwrap();
    let out = dir.join("img.png");
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_pingvas-gen"))
            .args(["--model", tiny_model().to_str().unwrap(), "--prompts", prompts.to_str().unwrap()])
            .args(["--seed", "7", "--steps", "2", "--out", out.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap()
    };
    let output = run(&[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summaries = String::from_utf8_lossy(&output.stdout).lines().count();
    assert_eq!(summaries, 2, "one JSON summary per prompt; the blank line is skipped");
    for (file, prompt, seed) in [("img-1.png", "a penguin", 7), ("img-2.png", "a red apple", 8)] {
        let png = engine::png::decode_png(&std::fs::read(dir.join(file)).unwrap()).unwrap();
        let parameters: serde_json::Value = serde_json::from_str(&png.texts[0].1).unwrap();
        assert_eq!((parameters["prompt"].as_str(), parameters["seed"].as_u64()), (Some(prompt), Some(seed)));
    }
    let refused = run(&["--batch", "2"]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--prompts makes one image per line"));
}
