//! Scaled dot-product attention for the CPU backend, written for Stable Diffusion's shapes
//! (thousands of queries and keys, heads 8 to 160 wide).
//!
//! burn's CPU attention walks small head dimensions with scalar dot products and a scalar
//! `exp`, on heads that were first split out and permuted (copies). Here queries go in blocks
//! and keys in tiles, as flash attention does: a block's scores against one tile of keys are one
//! matrix product (`gemm`, AVX2/AVX-512 at run time, reading each head's queries and keys in
//! place through strides), small enough to stay in the core's L2 cache while they are
//! exponentiated (a vectorised polynomial `exp` with fused multiply-adds) and multiplied by the
//! tile's values into the output, which is rescaled whenever a later tile raises a row's maximum
//! (the online softmax) and divided by the row's sum at the end. Blocks run in parallel.
//! Same math as the reference: the parity tests hold it to diffusers within 1e-4.

use pulp::{Simd, WithSimd};
use rayon::prelude::*;

use super::gemm::{Mat, MatMut, matmul};
use super::math::{exp, exp_lanes};

/// Queries per block. More queries per block means the keys are packed for the product fewer
/// times; `BLOCK × TILE` scores (128 KiB) stay in L2 with room for the keys and values.
const BLOCK: usize = 64;
/// Keys per tile.
const TILE: usize = 512;

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
            let mut scratch = Scratch::new(rows, m.min(TILE));
            for head in 0..heads {
                // Each head is a column range of width d in rows `width` apart.
                let q = Mat::row_major(&q[first * width + head * d..], rows, d).with_row_stride(width);
                let k = Mat::row_major(&k[head * d..], m, d).with_row_stride(width);
                let v = Mat::row_major(&v[head * d..], m, d).with_row_stride(width);
                let block = Block { q, k, v, first, rows, n, m, scale, causal };
                block_kernel(&block, &mut scratch, &mut out[head * d..], width);
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

impl Block<'_> {
    /// How many of the keys `start..start + len` query row `r` of the block sees: all, or under
    /// a causal mask keys 0..=i for the query at position i (offset when n ≠ m, as burn and
    /// torch do).
    fn visible(&self, r: usize, start: usize, len: usize) -> usize {
        if !self.causal {
            return len;
        }
        let seen = (self.first + r + 1 + self.m).saturating_sub(self.n).min(self.m);
        seen.saturating_sub(start).min(len)
    }
}

/// A block's working memory, reused across heads: one tile of scores and each row's running
/// maximum, running sum and the factor its output was last rescaled by.
struct Scratch {
    scores: Vec<f32>,
    max: Vec<f32>,
    sum: Vec<f32>,
    rescale: Vec<f32>,
}

impl Scratch {
    fn new(rows: usize, tile: usize) -> Self {
        Self {
            scores: vec![0.0; rows * tile],
            max: vec![0.0; rows],
            sum: vec![0.0; rows],
            rescale: vec![0.0; rows],
        }
    }
}

/// Writes the block's output for this head into `out`'s first d columns, rows `row_stride` apart.
fn block_kernel(block: &Block<'_>, scratch: &mut Scratch, out: &mut [f32], row_stride: usize) {
    let (rows, m, d) = (block.rows, block.m, block.v.cols());
    scratch.max.fill(f32::NEG_INFINITY);
    scratch.sum.fill(0.0);
    for start in (0..m).step_by(TILE) {
        let len = TILE.min(m - start);
        let scores = &mut scratch.scores[..rows * len];
        let keys = block.k.row_range(start, len);
        // scores = scale · q kᵀ (the keys read in place, transposed by their strides)
        matmul(MatMut::rows(scores, rows, len, len), block.q, keys.t(), block.scale, false);
        let update = OnlineSoftmax {
            block,
            start,
            len,
            scores,
            max: &mut scratch.max,
            sum: &mut scratch.sum,
            rescale: &mut scratch.rescale,
        };
        pulp::Arch::new().dispatch(update);
        let later = start > 0;
        if later {
            scale_rows(out, row_stride, d, &scratch.rescale);
        }
        // out (+)= e^(scores - max) v
        let values = block.v.row_range(start, len);
        let weights = Mat::row_major(&scratch.scores[..rows * len], rows, len);
        matmul(MatMut::rows(out, rows, d, row_stride), weights, values, 1.0, later);
    }
    // Divide by the sums: d divisions per row instead of one per key. A row that sees no key
    // (causal, more queries than keys) stays zero.
    for (factor, &sum) in scratch.rescale.iter_mut().zip(&scratch.sum) {
        *factor = if sum > 0.0 { 1.0 / sum } else { 0.0 };
    }
    scale_rows(out, row_stride, d, &scratch.rescale);
}

/// Multiplies the first `d` values of each row `r` (rows `row_stride` apart) by `factors[r]`.
fn scale_rows(out: &mut [f32], row_stride: usize, d: usize, factors: &[f32]) {
    for (r, &factor) in factors.iter().enumerate() {
        for x in &mut out[r * row_stride..r * row_stride + d] {
            *x *= factor;
        }
    }
}

/// The online-softmax step for one tile of scores: each row's visible scores become
/// `e^(x - max)` with `max` the row's running maximum including this tile (masked keys become
/// zero), the running sum is rescaled and grows by the tile's sum, and `rescale[r]` says how
/// much the row's output so far must shrink for the new maximum. One pass for the tile's
/// maximum, one for the exponentials and their sum.
struct OnlineSoftmax<'a> {
    block: &'a Block<'a>,
    start: usize,
    len: usize,
    scores: &'a mut [f32],
    max: &'a mut [f32],
    sum: &'a mut [f32],
    rescale: &'a mut [f32],
}

impl WithSimd for OnlineSoftmax<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Self { block, start, len, scores, max, sum, rescale } = self;
        for (r, row) in scores.chunks_exact_mut(len).enumerate() {
            let (seen, masked) = row.split_at_mut(block.visible(r, start, len));
            masked.fill(0.0);
            let (body, tail) = S::as_mut_simd_f32s(seen);
            let mut lanes = simd.splat_f32s(f32::NEG_INFINITY);
            for &x in body.iter() {
                lanes = simd.max_f32s(lanes, x);
            }
            // `if` rather than f32::max: no NaN rule to honour.
            let tile_max = tail.iter().fold(simd.reduce_max_f32s(lanes), |a, &b| if a > b { a } else { b });
            let new_max = if tile_max > max[r] { tile_max } else { max[r] };
            if new_max == f32::NEG_INFINITY {
                // Nothing visible yet: the row's output and sum stay zero.
                rescale[r] = 1.0;
                continue;
            }
            let shift = simd.splat_f32s(new_max);
            let mut total = simd.splat_f32s(0.0);
            for x in body.iter_mut() {
                *x = exp_lanes(simd, simd.sub_f32s(*x, shift));
                total = simd.add_f32s(total, *x);
            }
            let mut total = simd.reduce_sum_f32s(total);
            if !tail.is_empty() {
                let x = simd.partial_load_f32s(tail);
                let e = exp_lanes(simd, simd.sub_f32s(x, shift));
                simd.partial_store_f32s(tail, e);
                total += tail.iter().sum::<f32>();
            }
            let factor = exp(max[r] - new_max);
            rescale[r] = factor;
            sum[r] = sum[r] * factor + total;
            max[r] = new_max;
        }
    }
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
    fn matches_the_definition_per_head_with_and_without_a_causal_mask_over_several_blocks_and_tiles() {
        let values = |count: usize, seed: u32| -> Vec<f32> {
            (0..count).map(|i| ((i as f32 + 1.0) * (seed as f32) * 0.618).sin() * 2.0).collect()
        };
        for shape in [
            Shape { batch: 3, heads: 1, n: 5, m: 7, d: 4 },
            Shape { batch: 2, heads: 3, n: 70, m: 70, d: 8 },
            Shape { batch: 1, heads: 2, n: 40, m: 90, d: 3 },
            // Several key tiles, the last one partial; under the causal mask the first tiles
            // are all some queries see.
            Shape { batch: 1, heads: 2, n: 70, m: 2 * TILE + 77, d: 5 },
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
