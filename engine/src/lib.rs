//! The PingvasAI image-generation engine.
//!
//! This crate will hold the Stable Diffusion 1.x/2.x implementation in `burn`: the CLIP tokenizer
//! and text encoder, `UNet2DConditionModel`, `AutoencoderKL` and the schedulers, one module per
//! diffusers module, with type, field and weight names that mirror diffusers so that standard
//! model directories load without remapping.
//!
//! It is deliberately empty for now: the foundation only fixes its place in the workspace so the
//! server can depend on it without the web crates ever depending on `burn` themselves. The engine
//! issue fills it in, together with parity tests against diffusers' own numbers.
