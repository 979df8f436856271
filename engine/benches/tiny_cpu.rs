//! Seconds per image and steps per second for the committed tiny models on the CPU (flex).
//! Not a test: run `cargo bench -p engine --bench tiny_cpu` (or `scripts/bench-engine`, which
//! also runs diffusers on the same models for a side-by-side ratio).
//!
//! Each case: one warm-up run, then `RUNS` timed runs; the median is printed as one JSON line
//! per case so the comparison script can read it.

use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::Device;
use engine::StableDiffusion;
use engine::pipeline::{GenerateRequest, RunOptions};
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
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
