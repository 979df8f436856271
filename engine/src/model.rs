//! A Stable Diffusion model loaded from a diffusers directory: `model_index.json` names the
//! components, each folder's `config.json` shapes its module, and its safetensors fill it.

use std::path::{Path, PathBuf};

use burn::store::ModuleSnapshot;
use burn::tensor::{DType, Device};
use serde::de::DeserializeOwned;

use crate::clip::ClipTextModel;
use crate::error::EngineError;
use crate::preview::LatentPalette;
use crate::schedulers::SchedulerConfig;
use crate::tokenizer::ClipTokenizer;
use crate::unet::{UNet2DConditionModel, UNetConfig};
use crate::vae::{AutoencoderKL, VaeConfig};
use crate::weights::{load_into, weights_file};

/// Everything a text-to-image run needs, on one device.
#[derive(Debug)]
pub struct StableDiffusion {
    /// The model directory.
    pub dir: PathBuf,
    /// Splits prompts into token ids.
    pub tokenizer: ClipTokenizer,
    /// Prompt ids → embeddings.
    pub text_encoder: ClipTextModel,
    /// The denoiser.
    pub unet: UNet2DConditionModel,
    /// Latents ↔ images.
    pub vae: AutoencoderKL,
    /// The VAE's shape and latent scaling.
    pub vae_config: VaeConfig,
    /// The UNet's shape (latent channels).
    pub unet_config: UNetConfig,
    /// The training noise schedule every scheduler starts from.
    pub scheduler_config: SchedulerConfig,
    /// Where the modules live.
    pub device: Device,
    /// The text encoder's and UNet's float type (the VAE always computes in f32).
    pub precision: Precision,
    /// Latent channels → RGB, for previews while denoising.
    pub palette: LatentPalette,
}

/// The float type of the text encoder and UNet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Single precision everywhere (the CPU, and the parity tests).
    F32,
    /// Half precision for the text encoder and UNet: half the memory and much faster on GPUs.
    F16,
}

impl Precision {
    /// The burn dtype.
    #[must_use]
    pub const fn dtype(self) -> DType {
        match self {
            Self::F32 => DType::F32,
            Self::F16 => DType::F16,
        }
    }
}

impl StableDiffusion {
    /// Loads the model in `dir` onto `device` in single precision.
    ///
    /// # Errors
    /// A missing, unreadable, inconsistent or unsupported file, named, with what is wrong.
    pub fn load(dir: &Path, device: &Device) -> Result<Self, EngineError> {
        Self::load_with(dir, device, Precision::F32)
    }

    /// Loads the model in `dir` onto `device` with the text encoder and UNet in `precision`.
    ///
    /// # Errors
    /// A missing, unreadable, inconsistent or unsupported file, named, with what is wrong.
    pub fn load_with(dir: &Path, device: &Device, precision: Precision) -> Result<Self, EngineError> {
        Self::open(dir, device, precision, Weights::Files)
    }

    /// Builds the model that `dir`'s configs and tokenizer describe with seeded random weights
    /// instead of its weights files (which it need not have): the real architecture, for
    /// benchmarks and memory checks, anywhere ([`crate::random_weights`]).
    ///
    /// # Errors
    /// A missing, unreadable, inconsistent or unsupported config or tokenizer file.
    pub fn random(dir: &Path, device: &Device, precision: Precision, seed: u64) -> Result<Self, EngineError> {
        Self::open(dir, device, precision, Weights::Random(seed))
    }

    fn open(
        dir: &Path,
        device: &Device,
        precision: Precision,
        weights: Weights,
    ) -> Result<Self, EngineError> {
        if !dir.is_dir() {
            return Err(EngineError::Missing(dir.to_path_buf()));
        }
        check_index(dir)?;
        let tokenizer = ClipTokenizer::from_dir(&dir.join("tokenizer")).map_err(|e| match e {
            crate::tokenizer::TokenizerError::Read { path, .. } => EngineError::Missing(path),
            other => EngineError::invalid(dir.join("tokenizer"), other.to_string()),
        })?;

        let (clip_config, text_encoder) =
            load_component(dir, "text_encoder", "model", (precision.dtype(), weights), |c| {
                ClipTextModel::new(c, device)
            })?;
        let (unet_config, unet) =
            load_component(dir, "unet", "diffusion_pytorch_model", (precision.dtype(), weights), |c| {
                UNet2DConditionModel::new(c, device)
            })?;
        let (vae_config, vae) =
            load_component(dir, "vae", "diffusion_pytorch_model", (DType::F32, weights), |c| {
                AutoencoderKL::new(c, device)
            })?;

        let scheduler_path = dir.join("scheduler/scheduler_config.json");
        let scheduler_config = SchedulerConfig::from_json(&read_text(&scheduler_path)?)
            .map_err(|e| EngineError::invalid(&scheduler_path, e.to_string()))?;

        if clip_config.hidden_size != unet_config.cross_attention_dim {
            return Err(EngineError::invalid(
                dir.join("unet/config.json"),
                format!(
                    "cross_attention_dim {} does not match the text encoder's width {}",
                    unet_config.cross_attention_dim, clip_config.hidden_size
                ),
            ));
        }
        // An ordinary UNet takes and returns the latents; an inpainting UNet takes
        // [latents, mask, masked image latents] (2 × latent + 1 channels) and returns latents.
        let latent = vae_config.latent_channels;
        if unet_config.out_channels != latent
            || (unet_config.in_channels != latent && unet_config.in_channels != 2 * latent + 1)
        {
            return Err(EngineError::invalid(
                dir.join("unet/config.json"),
                format!(
                    "the UNet's channels ({} in, {} out) do not match the VAE's {latent} latent channels \
                     ({latent} in and out, or {} in for inpainting)",
                    unet_config.in_channels,
                    unet_config.out_channels,
                    2 * latent + 1
                ),
            ));
        }
        let palette = LatentPalette::for_model(dir, vae_config.latent_channels)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            tokenizer,
            text_encoder,
            unet,
            vae,
            vae_config,
            unet_config,
            scheduler_config,
            device: device.clone(),
            precision,
            palette,
        })
    }
}

/// Where a model's parameters come from.
#[derive(Debug, Clone, Copy)]
enum Weights {
    /// Each component's safetensors file.
    Files,
    /// Seeded random values (each component from its own seed).
    Random(u64),
}

/// One component folder: its `config.json` shapes the module `build` makes, and its weights
/// file (`stem`.safetensors) or seeded random values fill it with floats as `dtype`.
fn load_component<C: DeserializeOwned, M: ModuleSnapshot>(
    dir: &Path,
    folder: &str,
    stem: &str,
    (dtype, weights): (DType, Weights),
    build: impl FnOnce(&C) -> Result<M, String>,
) -> Result<(C, M), EngineError> {
    let config_path = dir.join(folder).join("config.json");
    let config: C = read_config(&config_path)?;
    let mut module = build(&config).map_err(|e| EngineError::invalid(&config_path, e))?;
    match weights {
        Weights::Files => load_into(&mut module, &weights_file(&dir.join(folder), stem)?, dtype)?,
        Weights::Random(seed) => {
            // Components differ in seed so that equal shapes (two VAE halves) differ in weights.
            let component = folder.bytes().fold(0_u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
            module = crate::random_weights::randomize(module, seed ^ component, dtype);
        }
    }
    Ok((config, module))
}

/// `model_index.json` must describe a Stable Diffusion pipeline with the components we load.
fn check_index(dir: &Path) -> Result<(), EngineError> {
    let path = dir.join("model_index.json");
    let index: serde_json::Value = read_config(&path)?;
    let class = index["_class_name"].as_str().unwrap_or_default();
    if !matches!(
        class,
        "StableDiffusionPipeline" | "StableDiffusionImg2ImgPipeline" | "StableDiffusionInpaintPipeline"
    ) {
        return Err(EngineError::invalid(
            path,
            format!("{class:?} is not a Stable Diffusion 1.x/2.x pipeline"),
        ));
    }
    for (component, expected) in [
        ("text_encoder", "CLIPTextModel"),
        ("tokenizer", "CLIPTokenizer"),
        ("unet", "UNet2DConditionModel"),
        ("vae", "AutoencoderKL"),
    ] {
        let found = index[component][1].as_str().unwrap_or_default();
        if found != expected && !(component == "tokenizer" && found == "CLIPTokenizerFast") {
            return Err(EngineError::invalid(
                &path,
                format!("{component} is {found:?}, expected {expected}"),
            ));
        }
    }
    Ok(())
}

fn read_text(path: &Path) -> Result<String, EngineError> {
    std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => EngineError::Missing(path.to_path_buf()),
        _ => EngineError::invalid(path, e.to_string()),
    })
}

fn read_config<T: DeserializeOwned>(path: &Path) -> Result<T, EngineError> {
    serde_json::from_str(&read_text(path)?)
        .map_err(|e| EngineError::invalid(path, format!("not a valid config: {e}")))
}
