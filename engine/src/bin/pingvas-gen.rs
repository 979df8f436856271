//! `pingvas-gen`: text-to-image from the command line with a diffusers model directory.
//!
//! ```text
//! pingvas-gen --model DIR --prompt "a penguin" --out penguin.png [--negative TEXT] [--seed N]
//!             [--steps N] [--cfg F] [--scheduler ddim|euler|euler_a|dpmpp_2m|dpmpp_2m_karras]
//!             [--width PX] [--height PX] [--batch N] [--device cpu|wgpu|wgpu:cpu|cuda[:N]]
//! ```
//! Progress and timings go to standard error; batches write FILE-1.png, FILE-2.png, ….

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use engine::StableDiffusion;
use engine::device::DeviceChoice;
use engine::pipeline::{GenerateRequest, Progress, RunOptions};
use engine::png::encode_png;

const USAGE: &str = "usage: pingvas-gen --model DIR --prompt TEXT --out FILE.png [--negative TEXT] [--seed N] \
[--steps N] [--cfg F] [--scheduler ddim|euler|euler_a|dpmpp_2m|dpmpp_2m_karras] [--width PX] [--height PX] \
[--batch N] [--device cpu|wgpu|wgpu:cpu|cuda[:N]]";

struct Args {
    model: PathBuf,
    out: PathBuf,
    device: DeviceChoice,
    request: GenerateRequest,
    size_given: (bool, bool),
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut model, mut out, mut prompt) = (None, None, None);
    let mut device = DeviceChoice::Cpu;
    let mut request = GenerateRequest { seed: random_seed(), ..GenerateRequest::default() };
    let mut size_given = (false, false);
    while let Some(flag) = argv.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        let value = argv.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = |what: &str| {
            value.parse::<usize>().map_err(|_| format!("{what} must be a whole number, not {value:?}"))
        };
        match flag.as_str() {
            "--model" => model = Some(PathBuf::from(&value)),
            "--out" => out = Some(PathBuf::from(&value)),
            "--prompt" => prompt = Some(value.clone()),
            "--negative" => request.negative_prompt = value.clone(),
            "--seed" => {
                request.seed =
                    value.parse().map_err(|_| format!("--seed must be a whole number, not {value:?}"))?
            }
            "--steps" => request.steps = number("--steps")?,
            "--cfg" => {
                request.guidance_scale =
                    value.parse().map_err(|_| format!("--cfg must be a number, not {value:?}"))?
            }
            "--scheduler" => {
                request.scheduler =
                    value.parse().map_err(|e: engine::schedulers::SchedulerError| e.to_string())?
            }
            "--width" => (request.width, size_given.0) = (number("--width")?, true),
            "--height" => (request.height, size_given.1) = (number("--height")?, true),
            "--batch" => request.batch = number("--batch")?,
            "--device" => device = value.parse().map_err(|e: engine::EngineError| e.to_string())?,
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    let missing = |name: &str| format!("{name} is required\n{USAGE}");
    request.prompt = prompt.ok_or_else(|| missing("--prompt"))?;
    Ok(Args {
        model: model.ok_or_else(|| missing("--model"))?,
        out: out.ok_or_else(|| missing("--out"))?,
        device,
        request,
        size_given,
    })
}

/// A seed from the clock, printed so the image can be made again.
fn random_seed() -> u64 {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    u64::try_from(nanos % u128::from(u32::MAX)).unwrap_or(0)
}

fn output_path(out: &Path, index: usize, batch: usize) -> PathBuf {
    if batch == 1 {
        return out.to_path_buf();
    }
    let stem = out.file_stem().map_or_else(|| "image".into(), |s| s.to_string_lossy().into_owned());
    out.with_file_name(format!("{stem}-{}.png", index + 1))
}

fn run(args: Args) -> Result<(), String> {
    let mut err = std::io::stderr();
    let started = Instant::now();
    let device = args.device.device().map_err(|e| e.to_string())?;
    let precision = args.device.precision(&device);
    let model = StableDiffusion::load_with(&args.model, &device, precision).map_err(|e| e.to_string())?;
    let load = started.elapsed();
    let mut request = args.request;
    // Unset sizes default to the model's native size, as in diffusers.
    let native = model.unet_config.sample_size * model.vae_config.scale_factor();
    if !args.size_given.0 {
        request.width = native;
    }
    if !args.size_given.1 {
        request.height = native;
    }
    let _ = writeln!(
        err,
        "{} on {} ({precision:?}): {}×{}, {} steps of {}, cfg {}, seed {}, batch {}",
        args.model.display(),
        args.device,
        request.width,
        request.height,
        request.steps,
        request.scheduler,
        request.guidance_scale,
        request.seed,
        request.batch
    );
    let mut last = Instant::now();
    let mut report = |p: &Progress| {
        let _ = writeln!(
            std::io::stderr(),
            "step {}/{} ({:.3} s)",
            p.step,
            p.total,
            last.elapsed().as_secs_f64()
        );
        last = Instant::now();
    };
    let generation = model
        .generate(&request, RunOptions { on_progress: Some(&mut report), ..RunOptions::default() })
        .map_err(|e| e.to_string())?;
    for (i, image) in generation.images.iter().enumerate() {
        let path = output_path(&args.out, i, request.batch);
        let parameters = serde_json::json!({
            "prompt": request.prompt, "negative_prompt": request.negative_prompt, "seed": image.seed,
            "steps": request.steps, "cfg": request.guidance_scale, "scheduler": request.scheduler.name(),
            "width": image.width, "height": image.height, "model": args.model.display().to_string(),
        })
        .to_string();
        let file =
            std::fs::File::create(&path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        encode_png(
            std::io::BufWriter::new(file),
            image.width,
            image.height,
            &image.rgb,
            &[("parameters", &parameters)],
        )
        .map_err(|e| e.to_string())?;
        let _ = writeln!(err, "wrote {} (seed {})", path.display(), image.seed);
    }
    let t = generation.timings;
    #[allow(clippy::cast_precision_loss)]
    let steps_per_second = request.steps as f64 / t.denoise.as_secs_f64().max(1e-9);
    let _ = writeln!(
        err,
        "timings: load {:.3} s, text {:.3} s, denoise {:.3} s ({steps_per_second:.2} steps/s), decode {:.3} s, total {:.3} s",
        load.as_secs_f64(),
        t.text.as_secs_f64(),
        t.denoise.as_secs_f64(),
        t.decode.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> ExitCode {
    match parse(std::env::args().skip(1)).and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "pingvas-gen: {message}");
            ExitCode::FAILURE
        }
    }
}
