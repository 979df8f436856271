//! Scaled dot-product attention for the CPU backend, written for Stable Diffusion's shapes.
//!
//! burn's CPU attention walks small head dimensions (8 to 160) with scalar dot products and a
//! scalar `exp`, which made attention over half of a step's time. Here each query row is scored
//! against a transposed key block (loops run along the key axis, so they vectorise), softmaxed
//! with a branch-free polynomial `exp` (relative error < 3e-7, two f32 ulps), and weighted
//! against transposed values; (batch × head) slices run in parallel. Same math, same order of magnitude of rounding
//! as the reference: the parity tests hold it to diffusers within 1e-4.

use rayon::prelude::*;

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
    out.par_chunks_mut(n * d).enumerate().for_each(|(slice, out)| {
        let (k, v) = (&k[slice * m * d..(slice + 1) * m * d], &v[slice * m * d..(slice + 1) * m * d]);
        let (kt, vt) = (transpose(k, m, d), transpose(v, m, d));
        let q = &q[slice * n * d..(slice + 1) * n * d];
        let slice = Slice { q, kt: &kt, vt: &vt, shape, scale, causal };
        slice_kernel(&slice, out);
    });
    out
}

/// One (batch × head) slice: queries, transposed keys and values.
struct Slice<'a> {
    q: &'a [f32],
    kt: &'a [f32],
    vt: &'a [f32],
    shape: Shape,
    scale: f32,
    causal: bool,
}

fn slice_kernel(slice: &Slice<'_>, out: &mut [f32]) {
    let Slice { q, kt, vt, shape: Shape { n, m, d, .. }, scale, causal } = *slice;
    let mut scores = vec![0.0_f32; m];
    for (i, (q_row, out_row)) in q.chunks_exact(d).zip(out.chunks_exact_mut(d)).enumerate() {
        // A query at position i sees keys 0..=i (offset when n ≠ m, as burn and torch do).
        let visible = if causal { (i + 1 + m).saturating_sub(n).min(m) } else { m };
        let scores = &mut scores[..visible];
        scores.fill(0.0);
        // Every loop below is element-wise along keys or features, so it vectorises;
        // reductions go through eight lanes for the same reason.
        for (t, &qt) in q_row.iter().enumerate() {
            let qt = qt * scale;
            for (s, &kv) in scores.iter_mut().zip(&kt[t * m..t * m + visible]) {
                *s += qt * kv;
            }
        }
        // `if` rather than f32::max: no NaN rule, so it compiles to a vector max.
        let max = lanes(scores, f32::NEG_INFINITY, |a, b| if a > b { a } else { b });
        for s in scores.iter_mut() {
            *s = exp(*s - max);
        }
        let inv = 1.0 / lanes(scores, 0.0, |a, b| a + b);
        for (t, o) in out_row.iter_mut().enumerate() {
            *o = dot(scores, &vt[t * m..t * m + visible]) * inv;
        }
    }
}

/// Σ a·b in eight independent lanes (a single running sum would not vectorise).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0_f32; 8];
    let (chunks_a, chunks_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let rest: f32 = chunks_a.remainder().iter().zip(chunks_b.remainder()).map(|(x, y)| x * y).sum();
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for ((acc, x), y) in acc.iter_mut().zip(ca).zip(cb) {
            *acc += x * y;
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// Folds `values` with `op` in eight independent lanes, then folds the lanes.
#[inline(always)]
fn lanes(values: &[f32], init: f32, op: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [init; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder().iter().fold(init, |a, &b| op(a, b));
    for chunk in chunks {
        for (a, &b) in acc.iter_mut().zip(chunk) {
            *a = op(*a, b);
        }
    }
    acc.iter().fold(rest, |a, &b| op(a, b))
}

/// [rows, cols] → [cols, rows].
fn transpose(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0_f32; data.len()];
    for (r, row) in data.chunks_exact(cols).enumerate() {
        for (c, &x) in row.iter().enumerate() {
            out[c * rows + r] = x;
        }
    }
    out
}

/// `e^x` for x ≤ 0 (softmax arguments), branch-free so loops over it vectorise: x = k·ln2 + r
/// with |r| ≤ ln2/2, a degree-6 polynomial for e^r, and 2^k built in the exponent bits.
#[inline(always)]
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::unreadable_literal)]
fn exp(x: f32) -> f32 {
    // Plain multiplies and adds only: without FMA in the target, `mul_add` and `round` become
    // library calls and nothing vectorises.
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2^23: adding and subtracting it rounds to an integer
    let x = x.max(-87.0);
    let k = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    // ln 2 in two parts, so k · ln2 is exact enough.
    let r = x - k * 0.693_145_75;
    let r = r - k * 1.428_606_8e-6;
    let p = 1.0 / 720.0_f32;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    let bits = ((k as i32 + 127) as u32) << 23;
    p * f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_polynomial_exp_is_accurate_over_the_softmax_range() {
        let mut worst = 0.0_f64;
        for i in 0..=87_000 {
            #[allow(clippy::cast_possible_truncation)]
            let x = (-f64::from(i) / 1000.0) as f32;
            let (ours, exact) = (f64::from(exp(x)), f64::from(x).exp());
            worst = worst.max((ours - exact).abs() / exact);
        }
        assert!(worst < 3e-7, "relative error {worst:e}");
        assert_eq!(exp(-1000.0), exp(-87.0));
    }

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
    fn matches_the_definition_with_and_without_a_causal_mask() {
        let shape = Shape { bh: 3, n: 5, m: 7, d: 4 };
        let values = |count: usize, seed: u32| -> Vec<f32> {
            (0..count).map(|i| ((i as f32 + 1.0) * (seed as f32) * 0.618).sin() * 2.0).collect()
        };
        let (q, k, v) = (values(3 * 5 * 4, 1), values(3 * 7 * 4, 2), values(3 * 7 * 4, 3));
        for causal in [false, true] {
            let ours = attention(&q, &k, &v, shape, 0.5, causal);
            let theirs = reference(&q, &k, &v, shape, 0.5, causal);
            for (a, b) in ours.iter().zip(&theirs) {
                assert!((f64::from(*a) - b).abs() < 1e-5, "causal {causal}: {a} vs {b}");
            }
        }
    }
}
