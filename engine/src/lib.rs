//! The PingvasAI image-generation engine.
//!
//! Stable Diffusion 1.x/2.x in `burn`, one module per diffusers/transformers module, with type,
//! field and weight names that mirror them so that standard model directories load without
//! remapping, and parity tests against their own numbers (`tests/`, fixtures made by
//! `parity/make_fixtures.py`). So far: the CLIP tokenizer and the DDIM scheduler.

pub mod schedulers;
pub mod tokenizer;
