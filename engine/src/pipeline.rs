//! Text-to-image as diffusers' `StableDiffusionPipeline` runs it: encode the prompt (and the
//! negative prompt for classifier-free guidance, batched with it), denoise from seeded noise with
//! the chosen scheduler, decode with the VAE. Per-step progress with optional cheap previews,
//! cancellation between steps, and the time each phase took.
//!
//! Image-to-image and inpainting ([`Mode`]) follow diffusers 0.31's
//! `StableDiffusionImg2ImgPipeline` and `StableDiffusionInpaintPipeline` step for step (the
//! parity tests replay diffusers' noise and match its latents to ~1e-6). Where we differ, on
//! purpose: images are never resized (diffusers resizes to the requested size; that is the
//! caller's choice here); image-to-image with no step left returns the VAE round trip instead of
//! failing; a 4-channel inpainting run does not encode the masked image (diffusers encodes it and
//! throws it away, which only moves its random stream on); seeded noise is ours, not torch's.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use burn::tensor::{Tensor, TensorData};

use crate::error::EngineError;
use crate::imageops::{self, CropBox};
use crate::model::StableDiffusion;
use crate::noise::{Encoded, NoiseSource, SeededNoise};
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

/// An 8-bit RGB image given to a run (row-major, interleaved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width × height × 3` bytes.
    pub rgb: Vec<u8>,
}

impl RgbImage {
    fn check(&self, what: &str) -> Result<(), EngineError> {
        if self.width == 0 || self.height == 0 || self.rgb.len() != self.width * self.height * 3 {
            return Err(EngineError::Request(format!(
                "the {what} has {} bytes for {}×{} RGB pixels (expected {})",
                self.rgb.len(),
                self.width,
                self.height,
                self.width * self.height * 3
            )));
        }
        Ok(())
    }
}

/// What a run starts from besides the prompt: diffusers' `StableDiffusionPipeline`,
/// `StableDiffusionImg2ImgPipeline` or `StableDiffusionInpaintPipeline` (0.31).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Mode {
    /// From noise alone.
    #[default]
    TextToImage,
    /// From an init image, part way through the schedule.
    ImageToImage(ImageToImage),
    /// Repaint the masked part of an image.
    Inpaint(Inpaint),
}

/// Image-to-image: the init image is encoded (its latent distribution sampled), noised to the
/// level of the first step run, and denoised from there.
///
/// The image must already be the request's `width × height` (resizing is the caller's job,
/// like choosing how: crop, pad or stretch). It is read as diffusers' `VaeImageProcessor`
/// does, `x / 255 · 2 − 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageToImage {
    /// The init image.
    pub image: RgbImage,
    /// How much to change it, in [0, 1]: the run takes the last `⌊steps × strength⌋` of the
    /// request's steps. At 1 the image only sets the starting point's content under full noise;
    /// where no step is left (strength 0 or below `1/steps`) the result is the image's VAE round
    /// trip (its sampled latents decoded; diffusers would run zero steps and fail).
    pub strength: f64,
}

/// Inpainting, with an ordinary (4-channel) or an inpainting (9-channel) UNet.
///
/// The mask is grey, one byte per pixel of `image`: where it is white (≥ 128 after the blur)
/// the model repaints, where black the image is kept. As diffusers: the mask is binarized at 0.5,
/// the masked image is `image × (mask < 0.5)`, the latent mask is the mask's nearest sample at
/// latent resolution. A 4-channel UNet denoises the whole latent and at every step the known
/// region is replaced by the init image's latents noised to the next step's level; a 9-channel
/// UNet is given `[latents, mask, masked image latents]` and paints the hole itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Inpaint {
    /// The image, the request's `width × height`.
    pub image: RgbImage,
    /// `image.width × image.height` grey values, white = repaint.
    pub mask: Vec<u8>,
    /// As [`ImageToImage::strength`]; 1 starts from pure noise in the masked area. There must
    /// be at least one step to run.
    pub strength: f64,
    /// Radius of Pillow's Gaussian blur applied to the mask first (diffusers'
    /// `mask_processor.blur(mask, blur_factor)`); 0 for none. It rounds the mask's corners and,
    /// with `padding_mask_crop`, feathers the seam where the result is pasted back.
    pub mask_blur: f32,
    /// diffusers' `padding_mask_crop`: generate only in the box around the mask grown by this
    /// many pixels (and widened to the request's aspect ratio), scaled up to the request's size
    /// (Lanczos) for detail, then scaled back and pasted over the image with the (blurred) mask,
    /// as diffusers' `apply_overlay` does. (Where the box's aspect ratio is off the request's by
    /// integer rounding, diffusers pads the scaled crop with stretched edge rows; we stretch.)
    /// The image's `pixels` are then the pasted 8-bit values / 255, as diffusers' are.
    pub padding_mask_crop: Option<usize>,
}

/// The widest mask blur taken, in pixels.
pub const MAX_MASK_BLUR: f32 = 256.0;

/// A mode's images, checked and preprocessed.
struct Inputs {
    /// The init image, [3, H, W] in [-1, 1].
    image: Vec<f32>,
    strength: f64,
    /// Inpainting: the binarized mask, [H, W].
    mask: Option<Vec<f64>>,
    /// Inpainting: the masked image, [3, H, W].
    masked_image: Option<Vec<f32>>,
    /// Inpainting with `padding_mask_crop`: how to paste the result back.
    overlay: Option<Overlay>,
}

/// Pastes a crop's result back over the original image (`apply_overlay`).
struct Overlay {
    mask: Vec<u8>,
    original: RgbImage,
    area: CropBox,
}

impl Overlay {
    fn apply(&self, image: &mut GeneratedImage) {
        let (w, h) = (self.original.width, self.original.height);
        let rgb = imageops::apply_overlay(
            &self.mask,
            &self.original.rgb,
            (w, h),
            &image.rgb,
            (image.width, image.height),
            Some(self.area),
        );
        image.pixels = rgb.iter().map(|&v| f32::from(v) / 255.0).collect();
        (image.width, image.height, image.rgb) = (w, h, rgb);
    }
}

fn check_strength(strength: f64) -> Result<(), EngineError> {
    if strength.is_finite() && (0.0..=1.0).contains(&strength) {
        Ok(())
    } else {
        Err(EngineError::Request(format!("strength {strength} must be between 0 and 1")))
    }
}

/// RGB bytes (HWC) → [3, H, W] in [-1, 1], as `VaeImageProcessor`: `x / 255`, then `2x − 1`.
fn normalize(rgb: &[u8]) -> Vec<f32> {
    let plane = rgb.len() / 3;
    let mut out = vec![0.0_f32; rgb.len()];
    for (k, &v) in rgb.iter().enumerate() {
        out[(k % 3) * plane + k / 3] = 2.0 * (f32::from(v) / 255.0) - 1.0;
    }
    out
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
        options: RunOptions<'_>,
        noise: &mut dyn NoiseSource,
    ) -> Result<Generation, EngineError> {
        self.run_with_noise(request, &Mode::TextToImage, options, noise)
    }

    /// Runs `request` in `mode` (text-to-image, image-to-image or inpainting) from seeded
    /// noise: image `k` of a batch draws everything (VAE sampling, starting noise, step noise)
    /// from the stream of `seed + k`.
    ///
    /// # Errors
    /// An out-of-range request or input image, cancellation, or a device failure.
    pub fn run(
        &self,
        request: &GenerateRequest,
        mode: &Mode,
        options: RunOptions<'_>,
    ) -> Result<Generation, EngineError> {
        self.run_with_noise(request, mode, options, &mut SeededNoise::new(request.seed, request.batch))
    }

    /// [`Self::run`] with noise from `noise`.
    ///
    /// # Errors
    /// An out-of-range request or input image, cancellation, or a device failure.
    pub fn run_with_noise(
        &self,
        request: &GenerateRequest,
        mode: &Mode,
        mut options: RunOptions<'_>,
        noise: &mut dyn NoiseSource,
    ) -> Result<Generation, EngineError> {
        let (latent_h, latent_w) = self.check(request)?;
        let inputs = self.prepare_inputs(request, mode)?;
        let mut scheduler = Scheduler::new(request.scheduler, &self.scheduler_config, request.steps)
            .map_err(|e| EngineError::Request(e.to_string()))?;
        let cancelled = || options.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed));
        let batch = request.batch;
        let (channels, unet_channels) = (self.vae_config.latent_channels, self.unet_config.in_channels);
        let plane = latent_h * latent_w;
        let per_image = channels * plane;

        let started = Instant::now();
        let guided = request.guidance_scale > 1.0;
        let context = self.encode_prompts(request, guided);
        let text = started.elapsed();

        let started = Instant::now();
        let timesteps = scheduler.timesteps();
        let first = inputs.as_ref().map_or(0, |i| scheduler.start_for_strength(i.strength));
        if first == timesteps.len() && inputs.as_ref().is_some_and(|i| i.mask.is_some()) {
            return Err(EngineError::Request(format!(
                "strength {} leaves no denoising step of {} (at least 1/{} is needed to inpaint)",
                inputs.as_ref().map_or(0.0, |i| i.strength),
                request.steps,
                request.steps
            )));
        }
        // diffusers' order of draws: the init image's latent sample (image-to-image; inpainting
        // with a 4-channel UNet or below full strength), the starting noise, the masked image's
        // latent sample (9-channel inpainting).
        // Inpainting at full strength starts from pure noise (diffusers' `is_strength_max`).
        let from_noise = inputs.as_ref().is_none_or(|i| i.mask.is_some() && i.strength >= 1.0);
        let mut init_latents = None;
        if let Some(inputs) = &inputs
            && (unet_channels == channels || !from_noise)
        {
            init_latents = Some(self.sample_latents(
                &inputs.image,
                [request.height, request.width],
                batch,
                Encoded::Image,
                noise,
            )?);
        }
        let start_noise: Vec<f64> = (0..batch).flat_map(|k| noise.initial(k, per_image)).collect();
        let mut latents: Vec<f64> = match &init_latents {
            Some(init) if !from_noise && first < timesteps.len() => {
                scheduler.add_noise(init, &start_noise, first)
            }
            // Image-to-image with no step left: the init image's latents as they are.
            Some(init) if !from_noise => init.clone(),
            _ => start_noise.iter().map(|x| x * scheduler.init_noise_sigma()).collect(),
        };
        // Inpainting: the mask at latent resolution and, for 9-channel UNets, the masked image's
        // latents, both concatenated to the UNet's input.
        let mut conditioning: Option<(Vec<f64>, Vec<f64>)> = None;
        let mut latent_mask: Option<Vec<f64>> = None;
        if let Some(Inputs { mask: Some(mask), masked_image: Some(masked), .. }) = &inputs {
            let factor = self.vae_config.scale_factor();
            let width = request.width;
            let small: Vec<f64> = (0..latent_h)
                .flat_map(|y| (0..latent_w).map(move |x| mask[y * factor * width + x * factor]))
                .collect();
            if unet_channels != channels {
                conditioning = Some((
                    small.clone(),
                    self.sample_latents(
                        masked,
                        [request.height, request.width],
                        batch,
                        Encoded::MaskedImage,
                        noise,
                    )?,
                ));
            }
            latent_mask = Some(small);
        }

        let copies = if guided { 2 } else { 1 };
        let total = timesteps.len() - first;
        for (done, i) in (first..timesteps.len()).enumerate() {
            if cancelled() {
                return Err(EngineError::Cancelled);
            }
            let t = timesteps[i];
            let scale = scheduler.input_scale(i);
            let mut input: Vec<f32> = Vec::with_capacity(copies * batch * unet_channels * plane);
            for _ in 0..copies {
                for k in 0..batch {
                    input.extend(
                        latents[k * per_image..(k + 1) * per_image].iter().map(|&x| to_f32(x * scale)),
                    );
                    if let Some((mask, masked)) = &conditioning {
                        input.extend(mask.iter().map(|&x| to_f32(x)));
                        input.extend(masked[k * per_image..(k + 1) * per_image].iter().map(|&x| to_f32(x)));
                    }
                }
            }
            let input = Tensor::<4>::from_data(
                TensorData::new(input, [copies * batch, unet_channels, latent_h, latent_w]),
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
            // 4-channel inpainting: the known region is the init image's latents, noised to the
            // next step's level (clean after the last step), blended in with the latent mask.
            if let (Some(mask), Some(init), None) = (&latent_mask, &init_latents, &conditioning) {
                let known = if i + 1 < timesteps.len() {
                    scheduler.add_noise(init, &start_noise, i + 1)
                } else {
                    init.clone()
                };
                for (k, (x, proper)) in latents.iter_mut().zip(&known).enumerate() {
                    let m = mask[k % plane];
                    *x = (1.0 - m) * proper + m * *x;
                }
            }
            if let Some(report) = options.on_progress.as_mut() {
                let preview =
                    options.previews.then(|| self.palette.preview(&latents[..per_image], latent_h, latent_w));
                report(&Progress { step: done + 1, total, preview });
            }
        }
        let denoise = started.elapsed();

        let started = Instant::now();
        let mut images = (0..batch)
            .map(|k| {
                self.decode(
                    &latents[k * per_image..(k + 1) * per_image],
                    [latent_h, latent_w],
                    request.seed.wrapping_add(k as u64),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(Inputs { overlay: Some(overlay), .. }) = &inputs {
            for image in &mut images {
                overlay.apply(image);
            }
        }
        let decode = started.elapsed();
        Ok(Generation { images, timings: Timings { text, denoise, decode }, latents })
    }

    /// Checks and preprocesses the images of `mode` as diffusers' `VaeImageProcessor` does.
    /// `None` for text-to-image.
    fn prepare_inputs(&self, request: &GenerateRequest, mode: &Mode) -> Result<Option<Inputs>, EngineError> {
        let inpainting_model = self.unet_config.in_channels != self.vae_config.latent_channels;
        let (width, height) = (request.width, request.height);
        match mode {
            Mode::TextToImage | Mode::ImageToImage(_) if inpainting_model => Err(EngineError::Request(
                "this is an inpainting model (9 input channels): give an image and a mask".into(),
            )),
            Mode::TextToImage => Ok(None),
            Mode::ImageToImage(ImageToImage { image, strength }) => {
                check_strength(*strength)?;
                image.check("init image")?;
                if (image.width, image.height) != (width, height) {
                    return Err(EngineError::Request(format!(
                        "the init image is {}×{}, the request {width}×{height}: resize it first",
                        image.width, image.height
                    )));
                }
                Ok(Some(Inputs {
                    image: normalize(&image.rgb),
                    strength: *strength,
                    mask: None,
                    masked_image: None,
                    overlay: None,
                }))
            }
            Mode::Inpaint(inpaint) => self.prepare_inpaint(inpaint, (width, height)).map(Some),
        }
    }

    fn prepare_inpaint(
        &self,
        inpaint: &Inpaint,
        (width, height): (usize, usize),
    ) -> Result<Inputs, EngineError> {
        let Inpaint { image, mask, strength, mask_blur, padding_mask_crop } = inpaint;
        check_strength(*strength)?;
        image.check("init image")?;
        if mask.len() != image.width * image.height {
            return Err(EngineError::Request(format!(
                "the mask has {} pixels, the {}×{} image {}: give one grey byte per pixel",
                mask.len(),
                image.width,
                image.height,
                image.width * image.height
            )));
        }
        if !mask_blur.is_finite() || !(0.0..=MAX_MASK_BLUR).contains(mask_blur) {
            return Err(EngineError::Request(format!(
                "mask blur {mask_blur} must be between 0 and {MAX_MASK_BLUR}"
            )));
        }
        if (image.width, image.height) != (width, height) {
            return Err(EngineError::Request(format!(
                "the init image is {}×{}, the request {width}×{height}: resize it first",
                image.width, image.height
            )));
        }
        let blurred = imageops::gaussian_blur(mask, width, height, *mask_blur);
        let (pixels, mask_pixels, overlay) = match padding_mask_crop {
            None => (image.rgb.clone(), blurred, None),
            Some(pad) => {
                let area = imageops::crop_region(&blurred, width, height, *pad, (width, height))
                    .ok_or_else(|| EngineError::Request("the mask is empty: nothing to inpaint".into()))?;
                let size = (area.width(), area.height());
                let rgb = imageops::crop(&image.rgb, width, 3, area);
                let grey = imageops::crop(&blurred, width, 1, area);
                let overlay = Overlay { mask: blurred, original: image.clone(), area };
                (
                    imageops::resize_lanczos(&rgb, size, 3, (width, height)),
                    imageops::resize_lanczos(&grey, size, 1, (width, height)),
                    Some(overlay),
                )
            }
        };
        let image = normalize(&pixels);
        // Binarized at 0.5, as diffusers' mask processor does.
        let mask: Vec<f64> =
            mask_pixels.iter().map(|&m| if f32::from(m) / 255.0 < 0.5 { 0.0 } else { 1.0 }).collect();
        let masked_image = image
            .iter()
            .enumerate()
            .map(|(k, &x)| if mask[k % (width * height)] < 0.5 { x } else { 0.0 })
            .collect();
        Ok(Inputs { image, strength: *strength, mask: Some(mask), masked_image: Some(masked_image), overlay })
    }

    /// The VAE's latents of `image` ([3, H, W] in [-1, 1]), sampled for each of `batch` images
    /// with `noise` and scaled: `(mean + exp(logvar / 2) · n) × scaling_factor`.
    fn sample_latents(
        &self,
        image: &[f32],
        [h, w]: [usize; 2],
        batch: usize,
        which: Encoded,
        noise: &mut dyn NoiseSource,
    ) -> Result<Vec<f64>, EngineError> {
        let x = Tensor::<4>::from_data(TensorData::new(image.to_vec(), [1, 3, h, w]), &self.device);
        let posterior = self.vae.encode(x);
        let (mean, logvar) = (read(posterior.mean)?, read(posterior.logvar)?);
        let scaling = self.vae_config.scaling_factor;
        Ok((0..batch)
            .flat_map(|k| {
                let n = noise.encoded(k, which, mean.len());
                mean.iter()
                    .zip(&logvar)
                    .zip(n)
                    .map(|((&m, &l), n)| (f64::from(m) + f64::from((0.5 * l).exp()) * n) * scaling)
                    .collect::<Vec<_>>()
            })
            .collect())
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
