//! Scaled dot-product attention for the CPU backend, written for Stable Diffusion's shapes
//! (thousands of queries and keys, heads 8 to 160 wide).
//!
//! burn's CPU attention walks small head dimensions with scalar dot products and a scalar
//! `exp`, on heads that were first split out and permuted (copies). Here queries go in blocks:
//! a block's scores against every key are one matrix product (`gemm`, AVX2/AVX-512 at run time,
//! reading each head's queries and keys in place through strides), softmaxed row by row with the
//! vectorised polynomial `exp`, and multiplied by the values in a second product written
//! straight into the heads-side-by-side output. Blocks run in parallel; their scores stay in cache.
//! Same math as the reference: the parity tests hold it to diffusers within 1e-4.

use rayon::prelude::*;

use super::gemm::{Mat, MatMut, matmul};
use super::math::{exp, vectorized};

/// Queries per block: their scores (block × keys floats, 512 KiB for 4096 keys) stay in L2.
const BLOCK: usize = 32;

/// Shapes of one attention call over heads laid side by side, as linear layers produce them:
/// queries [batch, n, heads · d], keys and values [batch, m, heads · d], row-major.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Batch items.
    pub batch: usize,
    /// Heads per item.
    pub heads: usize,
    /// Queries per item.
    pub n: usize,
    /// Keys (and values) per item.
    pub m: usize,
    /// Head width.
    pub d: usize,
}

/// `softmax(q kᵀ · scale [+ causal mask]) v` per head; the output is [batch, n, heads · d], the
/// heads side by side again. Heads are read and written in place through strides, so nothing
/// is split, permuted or merged.
#[must_use]
pub fn attention(q: &[f32], k: &[f32], v: &[f32], shape: Shape, scale: f32, causal: bool) -> Vec<f32> {
    let Shape { batch, heads, n, m, d } = shape;
    let width = heads * d;
    assert!(
        q.len() == batch * n * width && k.len() == batch * m * width && v.len() == batch * m * width,
        "attention: inputs do not match the shape"
    );
    let mut out = vec![0.0_f32; batch * n * width];
    if n == 0 || width == 0 {
        return out;
    }
    out.par_chunks_mut(n * width).enumerate().for_each(|(item, out)| {
        let (q, k, v) = (&q[item * n * width..], &k[item * m * width..], &v[item * m * width..]);
        out.par_chunks_mut(BLOCK * width).enumerate().for_each(|(block, out)| {
            let first = block * BLOCK;
            let rows = out.len() / width;
            let mut scores = vec![0.0_f32; rows * m];
            for head in 0..heads {
                // Each head is a column range of width d in rows `width` apart.
                let q = Mat::row_major(&q[first * width + head * d..], rows, d).with_row_stride(width);
                let k = Mat::row_major(&k[head * d..], m, d).with_row_stride(width);
                let v = Mat::row_major(&v[head * d..], m, d).with_row_stride(width);
                let dst = MatMut::rows(&mut out[head * d..], rows, d, width);
                block_kernel(Block { q, k, v, first, rows, n, m, scale, causal }, &mut scores, dst);
            }
        });
    });
    out
}

/// One block of `rows` queries starting at query `first`, against one head's keys and values.
struct Block<'a> {
    q: Mat<'a>,
    k: Mat<'a>,
    v: Mat<'a>,
    first: usize,
    rows: usize,
    n: usize,
    m: usize,
    scale: f32,
    causal: bool,
}

fn block_kernel(block: Block<'_>, scores: &mut [f32], out: MatMut<'_>) {
    let Block { q, k, v, first, rows, n, m, scale, causal } = block;
    // scores = scale · q kᵀ (the keys read in place, transposed by their strides)
    matmul(MatMut::rows(scores, rows, m, m), q, k.t(), scale, false);
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
    matmul(out, Mat::row_major(scores, rows, m), v, 1.0, false);
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

    /// Plain f64 attention per (item, head), the definition.
    fn reference(q: &[f32], k: &[f32], v: &[f32], s: Shape, scale: f64, causal: bool) -> Vec<f64> {
        let w = s.heads * s.d;
        let mut out = vec![0.0; s.batch * s.n * w];
        for b in 0..s.batch {
            for h in 0..s.heads {
                let at = |x: &[f32], row: usize, t: usize| f64::from(x[row * w + h * s.d + t]);
                for i in 0..s.n {
                    let visible = if causal { (i + 1 + s.m - s.n).min(s.m) } else { s.m };
                    let scores: Vec<f64> = (0..visible)
                        .map(|j| {
                            (0..s.d).map(|t| at(q, b * s.n + i, t) * at(k, b * s.m + j, t)).sum::<f64>()
                                * scale
                        })
                        .collect();
                    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let weights: Vec<f64> = scores.iter().map(|x| (x - max).exp()).collect();
                    let total: f64 = weights.iter().sum();
                    for t in 0..s.d {
                        out[(b * s.n + i) * w + h * s.d + t] =
                            (0..visible).map(|j| weights[j] * at(v, b * s.m + j, t)).sum::<f64>() / total;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn matches_the_definition_per_head_with_and_without_a_causal_mask_over_several_blocks() {
        let values = |count: usize, seed: u32| -> Vec<f32> {
            (0..count).map(|i| ((i as f32 + 1.0) * (seed as f32) * 0.618).sin() * 2.0).collect()
        };
        for shape in [
            Shape { batch: 3, heads: 1, n: 5, m: 7, d: 4 },
            Shape { batch: 2, heads: 3, n: 70, m: 70, d: 8 },
            Shape { batch: 1, heads: 2, n: 40, m: 90, d: 3 },
        ] {
            let Shape { batch, heads, n, m, d } = shape;
            let (q, k, v) = (
                values(batch * n * heads * d, 1),
                values(batch * m * heads * d, 2),
                values(batch * m * heads * d, 3),
            );
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
