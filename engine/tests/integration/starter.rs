//! The starter model draws what it is asked for: each of a handful of names, generated with a
//! fixed seed, lands nearer its own picture from the training set than any other's of the
//! handful (in `scripts/bench-starter`'s feature space: 16×16 RGB box means, Euclidean).

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use burn::tensor::Device;
use engine::StableDiffusion;
use engine::pipeline::{GenerateRequest, RunOptions};
use engine::png::decode_png;
use engine::schedulers::SchedulerKind;

/// Each name and its picture in `tests/fixtures/starter-refs` (Twemoji, CC-BY 4.0: see the
/// folder's README).
const NAMES: [(&str, &str); 6] = [
    ("a red apple", "red-apple"),
    ("penguin", "penguin"),
    ("rocket", "rocket"),
    ("grinning face", "grinning-face"),
    ("sunflower", "sunflower"),
    ("blue heart", "blue-heart"),
];

/// 64×64 RGB → 16×16 RGB box means in [0, 1]: `features` in engine/starter/evaluate.py, the one
/// definition scripts/bench-starter ranks by, repeated here so this test runs without Python.
fn features(rgb: &[u8]) -> Vec<f32> {
    assert_eq!(rgb.len(), 64 * 64 * 3);
    let mut out = vec![0.0_f32; 16 * 16 * 3];
    for y in 0..64 {
        for x in 0..64 {
            for c in 0..3 {
                out[((y / 4) * 16 + x / 4) * 3 + c] += f32::from(rgb[(y * 64 + x) * 3 + c]) / (16.0 * 255.0);
            }
        }
    }
    out
}

fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()
}

#[test]
fn each_name_lands_nearest_its_own_picture() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let model = StableDiffusion::load(&root.join("starter/model"), &Device::flex()).unwrap();
    let references: Vec<Vec<f32>> = NAMES
        .iter()
        .map(|(_, file)| {
            let path = root.join(format!("tests/fixtures/starter-refs/{file}.png"));
            features(&decode_png(&std::fs::read(path).unwrap()).unwrap().rgb)
        })
        .collect();
    let mut report = Vec::new();
    for (i, (prompt, _)) in NAMES.iter().enumerate() {
        let request = GenerateRequest {
            prompt: (*prompt).into(),
            seed: 1,
            steps: 20,
            guidance_scale: 5.0,
            scheduler: SchedulerKind::DpmPp2m,
            width: 64,
            height: 64,
            ..GenerateRequest::default()
        };
        let made = model.generate(&request, RunOptions::default()).unwrap();
        let made = features(&made.images[0].rgb);
        let distances: Vec<f32> = references.iter().map(|r| distance(&made, r)).collect();
        let nearest = (0..NAMES.len()).min_by(|&a, &b| distances[a].total_cmp(&distances[b])).unwrap();
        let verdict = if nearest == i { "ok" } else { "WRONG" };
        report.push((
            nearest == i,
            format!("{verdict}: {prompt:?} → nearest {:?} (distances {distances:.2?})", NAMES[nearest].0),
        ));
    }
    let lines: Vec<&str> = report.iter().map(|(_, line)| line.as_str()).collect();
    assert!(report.iter().all(|(right, _)| *right), "{}", lines.join("\n"));
}
