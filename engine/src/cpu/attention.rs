//! Scaled dot-product attention for the CPU backend, written for Stable Diffusion's shapes
//! (thousands of queries and keys, heads 8 to 160 wide).
//!
//! burn's CPU attention walks small head dimensions with scalar dot products and a scalar
//! `exp`. Here queries go in blocks: a block's scores against every key are one matrix product
//! (`gemm`, AVX2/AVX-512 at run time, reading the keys in place through strides), softmaxed row
//! by row with the vectorised polynomial `exp`, and multiplied by the values in a second
//! product. Blocks of all (batch × head) slices run in parallel; a block's scores stay in cache.
//! Same math as the reference: the parity tests hold it to diffusers within 1e-4.

use rayon::prelude::*;

use super::gemm::{Mat, MatMut, matmul};
use super::math::{exp, vectorized};

/// Queries per block: their scores (block × keys floats, 512 KiB for 4096 keys) stay in L2.
const BLOCK: usize = 32;

/// Shapes of one attention call: `bh` (batch × head) slices of `n` queries over `m` keys, each
/// `d` wide.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Batch × heads.
    pub bh: usize,
    /// Queries per slice.
    pub n: usize,
    /// Keys (and values) per slice.
    pub m: usize,
    /// Head width.
    pub d: usize,
}

/// `softmax(q kᵀ · scale [+ causal mask]) v` for row-major `q` [bh, n, d], `k` and `v` [bh, m, d].
#[must_use]
pub fn attention(q: &[f32], k: &[f32], v: &[f32], shape: Shape, scale: f32, causal: bool) -> Vec<f32> {
    let Shape { bh, n, m, d } = shape;
    assert!(
        q.len() == bh * n * d && k.len() == bh * m * d && v.len() == bh * m * d,
        "attention: inputs do not match the shape"
    );
    let mut out = vec![0.0_f32; bh * n * d];
    if n == 0 || d == 0 {
        return out;
    }
    out.par_chunks_mut(n * d).enumerate().for_each(|(slice, out)| {
        let (k, v) = (&k[slice * m * d..(slice + 1) * m * d], &v[slice * m * d..(slice + 1) * m * d]);
        let q = &q[slice * n * d..(slice + 1) * n * d];
        out.par_chunks_mut(BLOCK * d).enumerate().for_each(|(block, out)| {
            let first = block * BLOCK;
            let rows = out.len() / d;
            let q = &q[first * d..(first + rows) * d];
            block_kernel(Block { q, k, v, first, rows, shape, scale, causal }, out);
        });
    });
    out
}

/// One block of `rows` queries starting at query `first`, against a slice's keys and values.
struct Block<'a> {
    q: &'a [f32],
    k: &'a [f32],
    v: &'a [f32],
    first: usize,
    rows: usize,
    shape: Shape,
    scale: f32,
    causal: bool,
}

fn block_kernel(block: Block<'_>, out: &mut [f32]) {
    let Block { q, k, v, first, rows, shape: Shape { n, m, d, .. }, scale, causal } = block;
    let mut scores = vec![0.0_f32; rows * m];
    // scores = scale · q kᵀ (the keys read in place, transposed by their strides)
    matmul(MatMut::rows(&mut scores, rows, m, m), Mat::row_major(q, rows, d), Mat::row_major(k, m, d).t(), scale, false);
    vectorized(
        #[inline(always)]
        || {
            for (r, row) in scores.chunks_exact_mut(m).enumerate() {
                // A query at position i sees keys 0..=i (offset when n ≠ m, as burn and torch do).
                let visible = if causal { (first + r + 1 + m).saturating_sub(n).min(m) } else { m };
                softmax_row(row, visible);
            }
        },
    );
    // out = weights v
    matmul(MatMut::rows(out, rows, d, d), Mat::row_major(&scores, rows, m), Mat::row_major(v, m, d), 1.0, false);
}

/// Softmax of `row[..visible]` in place; the rest (masked keys) becomes zero.
#[inline(always)]
fn softmax_row(row: &mut [f32], visible: usize) {
    let (seen, masked) = row.split_at_mut(visible);
    masked.fill(0.0);
    // `if` rather than f32::max: no NaN rule, so it compiles to a vector max.
    let max = lanes(seen, f32::NEG_INFINITY, |a, b| if a > b { a } else { b });
    for s in seen.iter_mut() {
        *s = exp(*s - max);
    }
    let inv = 1.0 / lanes(seen, 0.0, |a, b| a + b);
    for s in seen.iter_mut() {
        *s *= inv;
    }
}

/// Folds `values` with `op` in sixteen independent lanes, then folds the lanes (a single running
/// value would not vectorise).
#[inline(always)]
fn lanes(values: &[f32], init: f32, op: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [init; 16];
    let chunks = values.chunks_exact(16);
    let rest = chunks.remainder().iter().fold(init, |a, &b| op(a, b));
    for chunk in chunks {
        for (a, &b) in acc.iter_mut().zip(chunk) {
            *a = op(*a, b);
        }
    }
    acc.iter().fold(rest, |a, &b| op(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain f64 attention, the definition.
    fn reference(q: &[f32], k: &[f32], v: &[f32], s: Shape, scale: f64, causal: bool) -> Vec<f64> {
        let mut out = vec![0.0; s.bh * s.n * s.d];
        for b in 0..s.bh {
            for i in 0..s.n {
                let visible = if causal { (i + 1 + s.m - s.n).min(s.m) } else { s.m };
                let scores: Vec<f64> = (0..visible)
                    .map(|j| {
                        (0..s.d)
                            .map(|t| {
                                f64::from(q[(b * s.n + i) * s.d + t]) * f64::from(k[(b * s.m + j) * s.d + t])
                            })
                            .sum::<f64>()
                            * scale
                    })
                    .collect();
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let weights: Vec<f64> = scores.iter().map(|x| (x - max).exp()).collect();
                let total: f64 = weights.iter().sum();
                for t in 0..s.d {
                    out[(b * s.n + i) * s.d + t] =
                        (0..visible).map(|j| weights[j] * f64::from(v[(b * s.m + j) * s.d + t])).sum::<f64>()
                            / total;
                }
            }
        }
        out
    }

    #[test]
    fn matches_the_definition_with_and_without_a_causal_mask_over_several_blocks() {
        let values = |count: usize, seed: u32| -> Vec<f32> {
            (0..count).map(|i| ((i as f32 + 1.0) * (seed as f32) * 0.618).sin() * 2.0).collect()
        };
        for shape in [Shape { bh: 3, n: 5, m: 7, d: 4 }, Shape { bh: 2, n: 70, m: 70, d: 8 }, Shape { bh: 1, n: 40, m: 90, d: 3 }] {
            let Shape { bh, n, m, d } = shape;
            let (q, k, v) = (values(bh * n * d, 1), values(bh * m * d, 2), values(bh * m * d, 3));
            for causal in [false, true] {
                let ours = attention(&q, &k, &v, shape, 0.5, causal);
                let theirs = reference(&q, &k, &v, shape, 0.5, causal);
                for (a, b) in ours.iter().zip(&theirs) {
                    assert!((f64::from(*a) - b).abs() < 1e-5, "{shape:?} causal {causal}: {a} vs {b}");
                }
            }
        }
    }
}
