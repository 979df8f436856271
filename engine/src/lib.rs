//! The PingvasAI image-generation engine.
//!
//! Stable Diffusion 1.x/2.x in `burn`, one module per diffusers/transformers module, with type,
//! field and weight names that mirror them so that standard model directories load by path, and
//! parity tests against their own numbers (`tests/`, fixtures made by `parity/make_fixtures.py`).
//!
//! - [`model::StableDiffusion::load`] reads a diffusers directory onto a [`device`];
//! - [`pipeline`] generates images from a [`pipeline::GenerateRequest`]: text-to-image, or
//!   image-to-image and inpainting through a [`pipeline::Mode`];
//! - [`imageops`] holds the pure 8-bit image operations around them (mask blur, crop, overlay,
//!   the outpainting infill);
//! - [`schedulers`] hold the sampling math in plain `f64`, the [`tokenizer`] CLIP's BPE.

pub mod clip;
pub mod cpu;
pub mod device;
pub mod error;
pub mod imageops;
pub mod model;
pub mod nn;
pub mod noise;
pub mod pipeline;
pub mod png;
pub mod preview;
pub mod random_weights;
pub mod schedulers;
pub mod tokenizer;
pub mod unet;
pub mod vae;
pub mod weights;

pub use error::EngineError;
pub use model::StableDiffusion;
pub use pipeline::{GenerateRequest, Generation, ImageToImage, Inpaint, Mode, RgbImage, RunOptions};
