//! Text-to-image as diffusers' `StableDiffusionPipeline` runs it: encode the prompt (and the
//! negative prompt for classifier-free guidance, batched with it), denoise from seeded noise with
//! the chosen scheduler, decode with the VAE. Per-step progress with optional cheap previews,
//! cancellation between steps, and the time each phase took.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use burn::tensor::{Tensor, TensorData};

use crate::error::EngineError;
use crate::model::StableDiffusion;
use crate::noise::{NoiseSource, SeededNoise};
use crate::preview::Preview;
use crate::schedulers::{Scheduler, SchedulerKind};

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateRequest {
    /// The prompt.
    pub prompt: String,
    /// What the image should not show ("" for none).
    pub negative_prompt: String,
    /// Seed of the first image; image `k` uses `seed + k`.
    pub seed: u64,
    /// Denoising steps.
    pub steps: usize,
    /// Classifier-free guidance scale; at or below 1 the unconditional pass is skipped.
    pub guidance_scale: f64,
    /// The scheduler.
    pub scheduler: SchedulerKind,
    /// Image width in pixels, a multiple of the VAE's scale factor.
    pub width: usize,
    /// Image height in pixels, a multiple of the VAE's scale factor.
    pub height: usize,
    /// Images to make at once.
    pub batch: usize,
}

impl Default for GenerateRequest {
    fn default() -> Self {
        Self {
            prompt: String::new(),
            negative_prompt: String::new(),
            seed: 0,
            steps: 25,
            guidance_scale: 7.5,
            scheduler: SchedulerKind::EulerAncestral,
            width: 512,
            height: 512,
            batch: 1,
        }
    }
}

/// How a run reports and can be stopped.
#[derive(Default)]
pub struct RunOptions<'a> {
    /// Called after every step.
    pub on_progress: Option<&'a mut dyn FnMut(&Progress)>,
    /// Whether [`Progress::preview`] is filled in (costs a small CPU pass per step).
    pub previews: bool,
    /// Set from anywhere to stop before the next step.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl std::fmt::Debug for RunOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("previews", &self.previews)
            .field("cancel", &self.cancel)
            .finish_non_exhaustive()
    }
}

/// One finished denoising step.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Steps done (1-based).
    pub step: usize,
    /// Steps in all.
    pub total: usize,
    /// The first image as it stands, at latent resolution, when previews were asked for.
    pub preview: Option<Preview>,
}

/// A generated image: 8-bit RGB, row-major, and the float pixels it was rounded from.
#[derive(Debug, Clone)]
pub struct GeneratedImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width × height × 3` bytes.
    pub rgb: Vec<u8>,
    /// The same pixels in [0, 1], height × width × channel, before rounding.
    pub pixels: Vec<f32>,
    /// The seed that reproduces this image alone.
    pub seed: u64,
}

/// How long each phase took.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// Tokenising and encoding the prompts.
    pub text: Duration,
    /// All denoising steps.
    pub denoise: Duration,
    /// Decoding the latents.
    pub decode: Duration,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct Generation {
    /// One per batch item.
    pub images: Vec<GeneratedImage>,
    /// Phase timings.
    pub timings: Timings,
    /// The final latents, [batch, channels, h, w] flattened (for tests and image-to-image).
    pub latents: Vec<f64>,
}

impl StableDiffusion {
    /// Generates `request.batch` images from seeded noise.
    ///
    /// # Errors
    /// An out-of-range request, cancellation, or a device failure.
    pub fn generate(
        &self,
        request: &GenerateRequest,
        options: RunOptions<'_>,
    ) -> Result<Generation, EngineError> {
        self.generate_with_noise(request, options, &mut SeededNoise::new(request.seed, request.batch))
    }

    /// Generates with noise from `noise` (the parity tests replay diffusers' noise this way).
    ///
    /// # Errors
    /// An out-of-range request, cancellation, or a device failure.
    pub fn generate_with_noise(
        &self,
        request: &GenerateRequest,
        mut options: RunOptions<'_>,
        noise: &mut dyn NoiseSource,
    ) -> Result<Generation, EngineError> {
        let (latent_h, latent_w) = self.check(request)?;
        let mut scheduler = Scheduler::new(request.scheduler, &self.scheduler_config, request.steps)
            .map_err(|e| EngineError::Request(e.to_string()))?;
        let cancelled = || options.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed));
        let (batch, channels) = (request.batch, self.unet_config.in_channels);
        let per_image = channels * latent_h * latent_w;

        let started = Instant::now();
        let guided = request.guidance_scale > 1.0;
        let context = self.encode_prompts(request, guided);
        let text = started.elapsed();

        let started = Instant::now();
        let init_sigma = scheduler.init_noise_sigma();
        let mut latents: Vec<f64> =
            (0..batch).flat_map(|k| noise.initial(k, per_image)).map(|x| x * init_sigma).collect();
        let timesteps = scheduler.timesteps();
        for (i, &t) in timesteps.iter().enumerate() {
            if cancelled() {
                return Err(EngineError::Cancelled);
            }
            let scale = scheduler.input_scale(i);
            let scaled: Vec<f32> = latents.iter().map(|&x| to_f32(x * scale)).collect();
            let copies = if guided { 2 } else { 1 };
            let input: Vec<f32> = std::iter::repeat_n(scaled, copies).flatten().collect();
            let input = Tensor::<4>::from_data(
                TensorData::new(input, [copies * batch, channels, latent_h, latent_w]),
                &self.device,
            );
            let out = read(self.unet.forward(input, t, &context))?;
            let prediction: Vec<f64> = if guided {
                let (uncond, cond) = out.split_at(out.len() / 2);
                let g = request.guidance_scale;
                uncond
                    .iter()
                    .zip(cond)
                    .map(|(&u, &c)| f64::from(u) + g * (f64::from(c) - f64::from(u)))
                    .collect()
            } else {
                out.iter().map(|&x| f64::from(x)).collect()
            };
            let step_noise: Option<Vec<f64>> = scheduler
                .needs_noise()
                .then(|| (0..batch).flat_map(|k| noise.step(k, i, per_image)).collect());
            latents = scheduler.step(i, &prediction, &latents, step_noise.as_deref());
            if let Some(report) = options.on_progress.as_mut() {
                let preview =
                    options.previews.then(|| self.palette.preview(&latents[..per_image], latent_h, latent_w));
                report(&Progress { step: i + 1, total: timesteps.len(), preview });
            }
        }
        let denoise = started.elapsed();

        let started = Instant::now();
        let images = (0..batch)
            .map(|k| {
                self.decode(
                    &latents[k * per_image..(k + 1) * per_image],
                    [latent_h, latent_w],
                    request.seed.wrapping_add(k as u64),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let decode = started.elapsed();
        Ok(Generation { images, timings: Timings { text, denoise, decode }, latents })
    }

    /// Checks the request against the model; the latent height and width.
    fn check(&self, request: &GenerateRequest) -> Result<(usize, usize), EngineError> {
        let factor = self.vae_config.scale_factor();
        for (name, value) in [("width", request.width), ("height", request.height)] {
            if value == 0 || value % factor != 0 {
                return Err(EngineError::Request(format!(
                    "{name} {value} must be a positive multiple of {factor}"
                )));
            }
        }
        if request.batch == 0 {
            return Err(EngineError::Request("batch must be at least 1".into()));
        }
        if !request.guidance_scale.is_finite() || request.guidance_scale < 0.0 {
            return Err(EngineError::Request(format!(
                "guidance scale {} must be a finite number ≥ 0",
                request.guidance_scale
            )));
        }
        Ok((request.height / factor, request.width / factor))
    }

    /// The text embeddings the UNet is conditioned on: [negative × batch, prompt × batch] when
    /// guided (one batched UNet call does both), else the prompt's alone.
    fn encode_prompts(&self, request: &GenerateRequest, guided: bool) -> Tensor<3> {
        let mut ids = Vec::new();
        if guided {
            ids.extend(std::iter::repeat_n(self.tokenizer.encode(&request.negative_prompt), request.batch));
        }
        ids.extend(std::iter::repeat_n(self.tokenizer.encode(&request.prompt), request.batch));
        self.text_encoder.forward(&ids, &self.device)
    }

    /// Decodes one image's latents into pixels, as diffusers' postprocessing does:
    /// `(x / 2 + 0.5).clamp(0, 1)`, then `round(255 x)`.
    fn decode(&self, latents: &[f64], [h, w]: [usize; 2], seed: u64) -> Result<GeneratedImage, EngineError> {
        #[allow(clippy::cast_possible_truncation)]
        let inv_scale = (1.0 / self.vae_config.scaling_factor) as f32;
        let z: Vec<f32> = latents.iter().map(|&x| to_f32(x) * inv_scale).collect();
        let channels = latents.len() / (h * w);
        let z = Tensor::<4>::from_data(TensorData::new(z, [1, channels, h, w]), &self.device);
        let decoded = self.vae.decode(z);
        let [_, c, height, width] = decoded.dims();
        // CHW → HWC
        let chw = read(decoded)?;
        let mut pixels = vec![0.0_f32; height * width * c];
        for (k, value) in chw.iter().enumerate() {
            let (ch, rest) = (k / (height * width), k % (height * width));
            pixels[rest * c + ch] = (value / 2.0 + 0.5).clamp(0.0, 1.0);
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let rgb = pixels.iter().map(|&p| (p * 255.0).round() as u8).collect();
        Ok(GeneratedImage { width, height, rgb, pixels, seed })
    }
}

/// Reads a tensor back to the host as `f32`.
fn read<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, EngineError> {
    tensor
        .try_into_vec_as::<f32>()
        .map_err(|e| EngineError::Device(format!("cannot read a result back: {e:?}")))
}

#[allow(clippy::cast_possible_truncation)]
const fn to_f32(x: f64) -> f32 {
    x as f32
}
