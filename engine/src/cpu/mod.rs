//! Kernels for burn's CPU backend (flex) in f32, where its general-purpose operations leave
//! most of the time on the table for Stable Diffusion's shapes: attention, group norm (+ SiLU),
//! the gated GELU, convolutions and linear layers with their bias and residual folded in, and the
//! matrix products behind them. Everything here is plain safe Rust over slices except the one call into
//! `gemm` ([`gemm::matmul`] checks every bound first) and one allocator setting ([`memory`]); loops are written to vectorise and run
//! under [`math::vectorized`], which picks AVX-512 or AVX2 at run time.

pub mod activation;
pub mod attention;
pub mod conv;
pub mod flex;
pub mod gemm;
pub mod linear;
pub mod math;
pub mod memory;
pub mod norm;
