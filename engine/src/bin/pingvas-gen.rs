//! `pingvas-gen`: text-to-image from the command line with a diffusers model directory.
//!
//! ```text
//! pingvas-gen --model DIR (--prompt "a penguin" | --prompts FILE) --out penguin.png [--negative TEXT] [--seed N]
//!             [--steps N] [--cfg F] [--scheduler ddim|euler|euler_a|dpmpp_2m|dpmpp_2m_karras]
//!             [--width PX] [--height PX] [--batch N] [--device cpu|wgpu|wgpu:cpu|cuda[:N]]
//!             [--random-weights SEED] [--noise FILE] [--save-latents FILE] [--runs N]
//!             [--init-image PNG [--strength S] [--mask PNG [--mask-blur PX] [--padding-mask-crop PX]] [--infill]]
//! ```
//! `--init-image PNG` runs image-to-image from that image (`--strength`, default 0.8 as
//! diffusers); with `--mask PNG` (white = repaint, read as grey) it inpaints instead (`--strength`
//! default 1), with the mask blurred by `--mask-blur` pixels and, with `--padding-mask-crop`,
//! generated in the crop around the mask. `--infill` outpaints: the init image's transparent
//! pixels are filled with their nearest edge colours (blurred) and become the mask. Images are
//! taken at their own size, which must be a multiple of 8 and is the default output size; the
//! engine does not resize them.
//! Progress and timings go to standard error; batches write FILE-1.png, FILE-2.png, ….
//! `--prompts FILE` generates one image for each non-empty line of FILE with the model loaded
//! once (line i gets seed N + i and is written to FILE-i.png, i from 1), as benchmarks over many
//! prompts need (`scripts/bench-starter`).
//!
//! For benchmarks and parity checks of full-size architectures without their weights:
//! `--random-weights SEED` builds the model from `DIR`'s configs and tokenizer alone (e.g.
//! `engine/configs/sd-1.5`) with seeded random weights; `--noise FILE` starts from the standard
//! normals in FILE (little-endian f32, batch × channels × h × w, as numpy's `tofile` writes them)
//! instead of the seeded noise, so that another implementation can start from the same latents;
//! `--save-latents FILE` writes the final latents the same way; `--runs N` repeats the
//! generation (the first run warms up caches and autotuning) and prints one JSON summary line
//! per run on standard output.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use engine::StableDiffusion;
use engine::device::DeviceChoice;
use engine::noise::{Encoded, NoiseSource, SeededNoise};
use engine::pipeline::{GenerateRequest, ImageToImage, Inpaint, Mode, Progress, RgbImage, RunOptions};
use engine::png::encode_png;

const USAGE: &str = "usage: pingvas-gen --model DIR (--prompt TEXT | --prompts FILE) --out FILE.png [--negative TEXT] [--seed N] \
[--steps N] [--cfg F] [--scheduler ddim|euler|euler_a|dpmpp_2m|dpmpp_2m_karras] [--width PX] [--height PX] \
[--batch N] [--device cpu|wgpu|wgpu:cpu|cuda[:N]] [--random-weights SEED] [--noise FILE] \
[--save-latents FILE] [--runs N] [--init-image PNG [--strength S] [--mask PNG [--mask-blur PX] \
[--padding-mask-crop PX]] [--infill]]";

struct Args {
    model: PathBuf,
    out: PathBuf,
    device: DeviceChoice,
    request: GenerateRequest,
    /// `--prompts`: one prompt per line, each its own generation.
    prompts_file: Option<PathBuf>,
    size_given: (bool, bool),
    random_weights: Option<u64>,
    noise: Option<PathBuf>,
    save_latents: Option<PathBuf>,
    runs: usize,
    edit: EditArgs,
}

/// Image-to-image and inpainting options.
#[derive(Default)]
struct EditArgs {
    init_image: Option<PathBuf>,
    strength: Option<f64>,
    mask: Option<PathBuf>,
    mask_blur: f32,
    padding_mask_crop: Option<usize>,
    infill: bool,
}

impl EditArgs {
    /// The run's mode and the image's size (`None` for text-to-image).
    fn mode(&self) -> Result<(Mode, Option<(usize, usize)>), String> {
        let Some(path) = &self.init_image else {
            if self.mask.is_some() || self.strength.is_some() || self.infill {
                return Err("--mask, --strength and --infill need --init-image".into());
            }
            return Ok((Mode::TextToImage, None));
        };
        let (width, height, rgba) = read_png(path)?;
        let image =
            RgbImage { width, height, rgb: rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect() };
        let inpaint = |image, mask| {
            Mode::Inpaint(Inpaint {
                image,
                mask,
                strength: self.strength.unwrap_or(1.0),
                mask_blur: self.mask_blur,
                padding_mask_crop: self.padding_mask_crop,
            })
        };
        let mode = match (&self.mask, self.infill) {
            (Some(_), true) => return Err("give --mask or --infill, not both".into()),
            (Some(mask_path), false) => {
                let (mw, mh, mask) = read_png(mask_path)?;
                if (mw, mh) != (width, height) {
                    return Err(format!("the mask is {mw}×{mh}, the init image {width}×{height}"));
                }
                let rgb: Vec<u8> = mask.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
                inpaint(image, engine::imageops::luma(&rgb))
            }
            (None, true) => {
                let (rgb, mask) = engine::imageops::infill(&rgba, width, height, 8.0);
                inpaint(RgbImage { width, height, rgb }, mask)
            }
            (None, false) => {
                Mode::ImageToImage(ImageToImage { image, strength: self.strength.unwrap_or(0.8) })
            }
        };
        Ok((mode, Some((width, height))))
    }
}

fn read_png(path: &Path) -> Result<(usize, usize, Vec<u8>), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    engine::png::decode_png_rgba(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut model, mut out, mut prompt, mut prompts_file) = (None, None, None, None);
    let mut device = DeviceChoice::Cpu;
    let mut request = GenerateRequest { seed: random_seed(), ..GenerateRequest::default() };
    let mut size_given = (false, false);
    let (mut random_weights, mut noise, mut save_latents, mut runs) = (None, None, None, 1);
    let mut edit = EditArgs::default();
    while let Some(flag) = argv.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        if flag == "--infill" {
            // The one switch: it takes no value.
            edit.infill = true;
            continue;
        }
        let value = argv.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = |what: &str| {
            value.parse::<usize>().map_err(|_| format!("{what} must be a whole number, not {value:?}"))
        };
        match flag.as_str() {
            "--model" => model = Some(PathBuf::from(&value)),
            "--out" => out = Some(PathBuf::from(&value)),
            "--prompt" => prompt = Some(value.clone()),
            "--prompts" => prompts_file = Some(PathBuf::from(&value)),
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
            "--random-weights" => {
                random_weights = Some(
                    value
                        .parse()
                        .map_err(|_| format!("--random-weights must be a whole number, not {value:?}"))?,
                );
            }
            "--noise" => noise = Some(PathBuf::from(&value)),
            "--save-latents" => save_latents = Some(PathBuf::from(&value)),
            "--runs" => runs = number("--runs")?.max(1),
            "--init-image" => edit.init_image = Some(PathBuf::from(&value)),
            "--strength" => {
                edit.strength =
                    Some(value.parse().map_err(|_| format!("--strength must be a number, not {value:?}"))?);
            }
            "--mask" => edit.mask = Some(PathBuf::from(&value)),
            "--mask-blur" => {
                edit.mask_blur =
                    value.parse().map_err(|_| format!("--mask-blur must be a number, not {value:?}"))?;
            }
            "--padding-mask-crop" => edit.padding_mask_crop = Some(number("--padding-mask-crop")?),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    let missing = |name: &str| format!("{name} is required\n{USAGE}");
    match (prompt, &prompts_file) {
        (Some(_), Some(_)) => return Err(format!("give --prompt or --prompts, not both\n{USAGE}")),
        (None, None) => return Err(missing("--prompt (or --prompts)")),
        (Some(prompt), None) => request.prompt = prompt,
        (None, Some(_)) if request.batch != 1 || noise.is_some() || save_latents.is_some() => {
            return Err(
                "--prompts makes one image per line: it does not take --batch, --noise or --save-latents"
                    .into(),
            );
        }
        (None, Some(_)) => {}
    }
    Ok(Args {
        model: model.ok_or_else(|| missing("--model"))?,
        out: out.ok_or_else(|| missing("--out"))?,
        device,
        request,
        prompts_file,
        size_given,
        random_weights,
        noise,
        save_latents,
        runs,
        edit,
    })
}

/// Little-endian f32 values from `path`, `len` of them.
fn read_f32s(path: &Path, len: usize) -> Result<Vec<f64>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() != len * 4 {
        return Err(format!(
            "{} holds {} bytes; this request needs {len} f32 values ({} bytes)",
            path.display(),
            bytes.len(),
            len * 4
        ));
    }
    Ok(bytes.chunks_exact(4).map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))).collect())
}

/// Writes `values` to `path` as little-endian f32.
fn write_f32s(path: &Path, values: &[f64]) -> Result<(), String> {
    #[allow(clippy::cast_possible_truncation)]
    let bytes: Vec<u8> = values.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect();
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Starting latents from a file; step noise (ancestral schedulers) still seeded.
struct FileNoise {
    initial: Vec<f64>,
    seeded: SeededNoise,
}

impl NoiseSource for FileNoise {
    fn encoded(&mut self, image: usize, which: Encoded, len: usize) -> Vec<f64> {
        self.seeded.encoded(image, which, len)
    }

    fn initial(&mut self, image: usize, len: usize) -> Vec<f64> {
        self.initial[image * len..(image + 1) * len].to_vec()
    }

    fn step(&mut self, image: usize, step: usize, len: usize) -> Vec<f64> {
        self.seeded.step(image, step, len)
    }
}

/// The peak resident memory of this process so far, in MiB (Linux; `None` elsewhere).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// A seed from the clock, printed so the image can be made again.
fn random_seed() -> u64 {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    u64::try_from(nanos % u128::from(u32::MAX)).unwrap_or(0)
}

/// `out` with the image's number (from 1) before the extension: FILE-1.png, FILE-2.png, ….
fn numbered_path(out: &Path, index: usize) -> PathBuf {
    let stem = out.file_stem().map_or_else(|| "image".into(), |s| s.to_string_lossy().into_owned());
    out.with_file_name(format!("{stem}-{}.png", index + 1))
}

/// The requests to run: the one from the command line, or one per line of `--prompts` (seed
/// N + i for line i).
fn requests(args: &Args) -> Result<Vec<GenerateRequest>, String> {
    let Some(path) = &args.prompts_file else {
        return Ok(vec![args.request.clone()]);
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let requests: Vec<GenerateRequest> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .zip(0_u64..)
        .map(|(prompt, i)| GenerateRequest {
            prompt: prompt.to_owned(),
            seed: args.request.seed.wrapping_add(i),
            ..args.request.clone()
        })
        .collect();
    if requests.is_empty() {
        return Err(format!("{} holds no prompts", path.display()));
    }
    Ok(requests)
}

/// Runs `request` `runs` times (the first warms caches and autotuning), printing one JSON
/// summary line per run on standard output; the last run's result.
fn generate(
    model: &StableDiffusion,
    args: &Args,
    request: &GenerateRequest,
    (index, mode): (usize, &Mode),
    initial: Option<&[f64]>,
) -> Result<engine::pipeline::Generation, String> {
    let precision = model.precision;
    let mut generation = None;
    for run in 0..args.runs {
        let started_run = Instant::now();
        // Each step's time (the first also holds the prompt encoding).
        let mut step_seconds: Vec<f64> = Vec::new();
        let mut last = Instant::now();
        let mut report = |p: &Progress| {
            let seconds = last.elapsed().as_secs_f64();
            let _ = writeln!(std::io::stderr(), "step {}/{} ({seconds:.3} s)", p.step, p.total);
            step_seconds.push(seconds);
            last = Instant::now();
        };
        let options = RunOptions { on_progress: Some(&mut report), ..RunOptions::default() };
        let result = match initial {
            Some(initial) => model.run_with_noise(
                request,
                mode,
                options,
                &mut FileNoise {
                    initial: initial.to_vec(),
                    seeded: SeededNoise::new(request.seed, request.batch),
                },
            ),
            None => model.run(request, mode, options),
        }
        .map_err(|e| e.to_string())?;
        let t = result.timings;
        let seconds = started_run.elapsed().as_secs_f64();
        #[allow(clippy::cast_precision_loss)]
        let summary = serde_json::json!({
            "engine": "burn", "device": args.device.to_string(), "precision": format!("{precision:?}"),
            "prompt_index": index, "run": run, "batch": request.batch, "width": request.width,
            "height": request.height, "steps": request.steps, "seconds": seconds,
            "seconds_per_image": seconds / request.batch as f64,
            "steps_per_second": request.steps as f64 / t.denoise.as_secs_f64().max(1e-9),
            "text_s": t.text.as_secs_f64(), "denoise_s": t.denoise.as_secs_f64(), "decode_s": t.decode.as_secs_f64(),
            "peak_rss_mib": peak_rss_mib(), "step_s": step_seconds,
        });
        #[allow(clippy::print_stdout)]
        {
            println!("{summary}");
        }
        generation = Some(result);
    }
    generation.ok_or_else(|| "no run".into())
}

/// Writes each image of `generation` as a PNG carrying its parameters; `numbered` puts the
/// image's number (from `first`) in the file name.
fn write_images(
    args: &Args,
    request: &GenerateRequest,
    generation: &engine::pipeline::Generation,
    first: usize,
    numbered: bool,
) -> Result<(), String> {
    for (i, image) in generation.images.iter().enumerate() {
        let path = if numbered { numbered_path(&args.out, first + i) } else { args.out.clone() };
        let mut parameters = serde_json::json!({
            "prompt": request.prompt, "negative_prompt": request.negative_prompt, "seed": image.seed,
            "steps": request.steps, "cfg": request.guidance_scale, "scheduler": request.scheduler.name(),
            "width": image.width, "height": image.height, "model": args.model.display().to_string(),
        });
        if let Some(init) = &args.edit.init_image {
            let edit = &args.edit;
            let mode = if edit.mask.is_some() || edit.infill { "inpaint" } else { "img2img" };
            let default_strength = if mode == "inpaint" { 1.0 } else { 0.8 };
            parameters["mode"] = mode.into();
            parameters["init_image"] = init.display().to_string().into();
            parameters["strength"] = edit.strength.unwrap_or(default_strength).into();
            if mode == "inpaint" {
                parameters["mask"] =
                    edit.mask.as_ref().map_or("infill".into(), |m| m.display().to_string()).into();
                parameters["mask_blur"] = edit.mask_blur.into();
                parameters["padding_mask_crop"] = edit.padding_mask_crop.into();
            }
        }
        let parameters = parameters.to_string();
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
        let _ = writeln!(std::io::stderr(), "wrote {} (seed {})", path.display(), image.seed);
    }
    Ok(())
}

fn run(args: Args) -> Result<(), String> {
    let mut err = std::io::stderr();
    let started = Instant::now();
    let device = args.device.device().map_err(|e| e.to_string())?;
    let precision = args.device.precision(&device);
    let model = match args.random_weights {
        Some(seed) => StableDiffusion::random(&args.model, &device, precision, seed),
        None => StableDiffusion::load_with(&args.model, &device, precision),
    }
    .map_err(|e| e.to_string())?;
    let load = started.elapsed();
    let mut requests = requests(&args)?;
    let (mode, image_size) = args.edit.mode()?;
    // Unset sizes default to the init image's size, else the model's native size (diffusers).
    let native = model.unet_config.sample_size * model.vae_config.scale_factor();
    let (default_width, default_height) = image_size.unwrap_or((native, native));
    for request in &mut requests {
        if !args.size_given.0 {
            request.width = default_width;
        }
        if !args.size_given.1 {
            request.height = default_height;
        }
    }
    let first = &requests[0];
    let _ = writeln!(
        err,
        "{} on {} ({precision:?}): {}×{}, {} steps of {}, cfg {}, seed {}, batch {}, {} prompt(s)",
        args.model.display(),
        args.device,
        first.width,
        first.height,
        first.steps,
        first.scheduler,
        first.guidance_scale,
        first.seed,
        first.batch,
        requests.len()
    );
    let per_image = model.vae_config.latent_channels
        * (first.height / model.vae_config.scale_factor())
        * (first.width / model.vae_config.scale_factor());
    let initial = match &args.noise {
        Some(path) => Some(read_f32s(path, first.batch * per_image)?),
        None => None,
    };
    let numbered = args.prompts_file.is_some() || first.batch > 1;
    let mut totals = engine::pipeline::Timings::default();
    for (index, request) in requests.iter().enumerate() {
        let generation = generate(&model, &args, request, (index, &mode), initial.as_deref())?;
        if let Some(path) = &args.save_latents {
            write_f32s(path, &generation.latents)?;
        }
        write_images(&args, request, &generation, index * request.batch, numbered)?;
        totals.text += generation.timings.text;
        totals.denoise += generation.timings.denoise;
        totals.decode += generation.timings.decode;
    }
    #[allow(clippy::cast_precision_loss)]
    let steps_per_second = (first.steps * requests.len()) as f64 / totals.denoise.as_secs_f64().max(1e-9);
    let _ = writeln!(
        err,
        "timings: load {:.3} s, text {:.3} s, denoise {:.3} s ({steps_per_second:.2} steps/s), decode {:.3} s, total {:.3} s, peak RSS {:.0} MiB",
        load.as_secs_f64(),
        totals.text.as_secs_f64(),
        totals.denoise.as_secs_f64(),
        totals.decode.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    Ok(())
}

fn main() -> ExitCode {
    engine::cpu::memory::keep_freed_memory_for_reuse();
    match parse(std::env::args().skip(1)).and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "pingvas-gen: {message}");
            ExitCode::FAILURE
        }
    }
}
