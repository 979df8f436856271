//! Seconds per image and steps per second for the committed tiny models on the CPU (flex).
//! Not a test: run `cargo bench -p engine --bench tiny_cpu` (or `scripts/bench-engine`, which
//! also runs diffusers on the same models for a side-by-side ratio).
//!
//! Each case: one warm-up run, then `RUNS` timed runs; the median is printed as one JSON line
//! per case so the comparison script can read it. After text-to-image on both models, tiny-sd1
//! at 128 px runs image-to-image (strength 0.6) and inpainting (strength 1, a centred square
//! mask) on the same synthetic gradient image as `parity/bench_diffusers.py`.

use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::Device;
use engine::StableDiffusion;
use engine::pipeline::{GenerateRequest, ImageToImage, Inpaint, Mode, RgbImage, RunOptions};
use engine::schedulers::SchedulerKind;

const RUNS: usize = 3;

fn main() {
    // As the worker and pingvas-gen run.
    engine::cpu::memory::keep_freed_memory_for_reuse();
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let device = Device::flex();
    let steps: usize = std::env::var("BENCH_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    for variant in ["sd1", "sd2"] {
        let model = match StableDiffusion::load(&fixtures.join(format!("tiny-{variant}")), &device) {
            Ok(model) => model,
            Err(e) => {
                eprintln!("cannot load tiny-{variant}: {e}");
                std::process::exit(1);
            }
        };
        for size in [32, 128] {
            let request = GenerateRequest {
                prompt: "a penguin wearing a tuxedo, studio lighting".into(),
                negative_prompt: "blurry".into(),
                steps,
                guidance_scale: 7.5,
                scheduler: SchedulerKind::DpmPp2m,
                width: size,
                height: size,
                ..GenerateRequest::default()
            };
            let mut seconds = Vec::new();
            let mut denoise = Vec::new();
            for run in 0..=RUNS {
                let started = Instant::now();
                let generation = match model.generate(&request, RunOptions::default()) {
                    Ok(generation) => generation,
                    Err(e) => {
                        eprintln!("generation failed: {e}");
                        std::process::exit(1);
                    }
                };
                if run > 0 {
                    seconds.push(started.elapsed().as_secs_f64());
                    denoise.push(generation.timings.denoise.as_secs_f64());
                }
            }
            let (image, steps_time) = (median(&mut seconds), median(&mut denoise));
            #[allow(clippy::cast_precision_loss)]
            let steps_per_second = steps as f64 / steps_time;
            #[allow(clippy::print_stdout)]
            {
                println!(
                    "{{\"engine\":\"burn-flex\",\"model\":\"tiny-{variant}\",\"size\":{size},\"steps\":{steps},\"seconds_per_image\":{image:.4},\"steps_per_second\":{steps_per_second:.2}}}"
                );
            }
        }
    }
    edit_rows(&fixtures, &device, steps);
}

/// The bench's init image: a gradient, red left to right and green top to bottom.
fn gradient(size: usize) -> RgbImage {
    let rgb = (0..size * size)
        .flat_map(|i| {
            let (x, y) = (i % size, i / size);
            [x * 255 / (size - 1), y * 255 / (size - 1), 128].map(|v| u8::try_from(v).unwrap_or(255))
        })
        .collect();
    RgbImage { width: size, height: size, rgb }
}

/// Image-to-image and inpainting rows: tiny-sd1 at 128 px.
fn edit_rows(fixtures: &std::path::Path, device: &Device, steps: usize) {
    let size = 128;
    let Ok(model) = StableDiffusion::load(&fixtures.join("tiny-sd1"), device) else {
        eprintln!("cannot load tiny-sd1");
        std::process::exit(1);
    };
    let request = GenerateRequest {
        prompt: "a penguin wearing a tuxedo, studio lighting".into(),
        negative_prompt: "blurry".into(),
        steps,
        guidance_scale: 7.5,
        scheduler: SchedulerKind::DpmPp2m,
        width: size,
        height: size,
        ..GenerateRequest::default()
    };
    let image = gradient(size);
    let mask = (0..size * size)
        .map(|i| {
            if (size / 4..3 * size / 4).contains(&(i % size))
                && (size / 4..3 * size / 4).contains(&(i / size))
            {
                255
            } else {
                0
            }
        })
        .collect();
    let modes = [
        ("img2img", Mode::ImageToImage(ImageToImage { image: image.clone(), strength: 0.6 })),
        (
            "inpaint",
            Mode::Inpaint(Inpaint { image, mask, strength: 1.0, mask_blur: 0.0, padding_mask_crop: None }),
        ),
    ];
    for (name, mode) in modes {
        let mut seconds = Vec::new();
        for run in 0..=RUNS {
            let started = Instant::now();
            if let Err(e) = model.run(&request, &mode, RunOptions::default()) {
                eprintln!("{name} failed: {e}");
                std::process::exit(1);
            }
            if run > 0 {
                seconds.push(started.elapsed().as_secs_f64());
            }
        }
        let image = median(&mut seconds);
        #[allow(clippy::print_stdout)]
        {
            println!(
                "{{\"engine\":\"burn-flex\",\"model\":\"tiny-sd1 {name}\",\"size\":{size},\"steps\":{steps},\"seconds_per_image\":{image:.4}}}"
            );
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
