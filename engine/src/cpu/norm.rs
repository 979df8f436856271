//! Group normalisation, optionally followed by SiLU, in one statistics pass and one apply pass
//! (burn composes it from about nine tensor operations, each a pass over memory with its own
//! allocation). Statistics are accumulated in f64, as diffusers' f32 GroupNorm effectively is
//! (PyTorch's CPU kernel accumulates in double), so the parity tests keep their 1e-4.

use rayon::prelude::*;

use super::math::{silu, vectorized};

/// The layout of a group-norm input: [batch, channels, spatial…] row-major, with `channels`
/// split into `groups` consecutive groups.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Channels.
    pub channels: usize,
    /// Elements per channel (height × width).
    pub spatial: usize,
    /// Groups of channels normalised together.
    pub groups: usize,
}

/// Normalises `x` in place, then scales by `gamma` and shifts by `beta` per channel, then
/// applies SiLU when `then_silu`.
///
/// # Panics
/// A buffer that is not a whole number of [batch] items, channels that do not split into the
/// groups, or `gamma`/`beta` of the wrong length.
pub fn group_norm(x: &mut [f32], shape: Shape, gamma: &[f32], beta: &[f32], eps: f64, then_silu: bool) {
    let Shape { channels, spatial, groups } = shape;
    assert!(
        groups > 0 && channels.is_multiple_of(groups),
        "group_norm: {channels} channels in {groups} groups"
    );
    assert!(
        gamma.len() == channels && beta.len() == channels,
        "group_norm: affine parameters of the wrong length"
    );
    let per_group = channels / groups * spatial;
    assert!(
        per_group > 0 && x.len().is_multiple_of(channels * spatial),
        "group_norm: input does not match the shape"
    );
    x.par_chunks_mut(per_group).enumerate().for_each(|(index, values)| {
        let first_channel = (index % groups) * (channels / groups);
        vectorized(
            #[inline(always)]
            || {
                let (mean, rstd) = statistics(values, eps);
                for (c, channel) in values.chunks_exact_mut(spatial).enumerate() {
                    let (g, b) = (gamma[first_channel + c], beta[first_channel + c]);
                    #[allow(clippy::cast_possible_truncation)]
                    let scale = (rstd * f64::from(g)) as f32;
                    #[allow(clippy::cast_possible_truncation)]
                    let shift = (f64::from(b) - mean * rstd * f64::from(g)) as f32;
                    if then_silu {
                        for v in channel.iter_mut() {
                            *v = silu(*v * scale + shift);
                        }
                    } else {
                        for v in channel.iter_mut() {
                            *v = *v * scale + shift;
                        }
                    }
                }
            },
        );
    });
}

/// Mean and 1/√(variance + eps) of `values` (biased variance, as PyTorch normalises).
#[inline(always)]
fn statistics(values: &[f32], eps: f64) -> (f64, f64) {
    // Eight f64 lanes of sums and sums of squares: vectorised, and exact enough that the
    // one-pass variance formula loses nothing that matters for f32 inputs.
    let (mut sum, mut squares) = ([0.0_f64; 8], [0.0_f64; 8]);
    let chunks = values.chunks_exact(8);
    let (mut rest_sum, mut rest_squares) = (0.0_f64, 0.0_f64);
    for &v in chunks.remainder() {
        rest_sum += f64::from(v);
        rest_squares += f64::from(v) * f64::from(v);
    }
    for chunk in chunks {
        for ((s, q), &v) in sum.iter_mut().zip(squares.iter_mut()).zip(chunk) {
            let v = f64::from(v);
            *s += v;
            *q += v * v;
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let n = values.len() as f64;
    let mean = (sum.iter().sum::<f64>() + rest_sum) / n;
    let variance = ((squares.iter().sum::<f64>() + rest_squares) / n - mean * mean).max(0.0);
    (mean, 1.0 / (variance + eps).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, in f64, two passes.
    fn reference(
        x: &[f32],
        shape: Shape,
        gamma: &[f32],
        beta: &[f32],
        eps: f64,
        then_silu: bool,
    ) -> Vec<f64> {
        let per_group = shape.channels / shape.groups * shape.spatial;
        let mut out = Vec::new();
        for (index, group) in x.chunks(per_group).enumerate() {
            let n = group.len() as f64;
            let mean = group.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
            let var = group.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
            for (k, &v) in group.iter().enumerate() {
                let c = (index % shape.groups) * (shape.channels / shape.groups) + k / shape.spatial;
                let y = (f64::from(v) - mean) / (var + eps).sqrt() * f64::from(gamma[c]) + f64::from(beta[c]);
                out.push(if then_silu { y / (1.0 + (-y).exp()) } else { y });
            }
        }
        out
    }

    #[test]
    fn matches_the_definition_with_and_without_silu() {
        let shape = Shape { channels: 6, spatial: 13, groups: 3 };
        let x: Vec<f32> = (0..2 * 6 * 13).map(|i| ((i as f32) * 0.37).sin() * 3.0 + 5.0).collect();
        let gamma: Vec<f32> = (0..6).map(|c| 0.5 + c as f32 * 0.25).collect();
        let beta: Vec<f32> = (0..6).map(|c| c as f32 * 0.1 - 0.2).collect();
        for then_silu in [false, true] {
            let mut ours = x.clone();
            group_norm(&mut ours, shape, &gamma, &beta, 1e-5, then_silu);
            for (a, b) in ours.iter().zip(reference(&x, shape, &gamma, &beta, 1e-5, then_silu)) {
                assert!((f64::from(*a) - b).abs() < 2e-6, "silu {then_silu}: {a} vs {b}");
            }
        }
    }
}
