//! The engine's integration tests, in one binary: each module below was once a test target of
//! its own, and one link of the release test binary (burn and all) instead of eight saves CI minutes.

// Tests fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod edit;
mod loading;
mod parity;
mod pipeline;
mod random_weights;
mod schedulers;
mod starter;
mod tokenizer;
mod wgpu;
