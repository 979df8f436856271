//! The gated GELU of the transformer blocks' feed-forward (`hidden · gelu(gate)`, the two
//! halves of one projection) in one pass with a vectorised erf, where burn takes two narrows,
//! a scalar-erf GELU and a product.

use rayon::prelude::*;

use super::math::{gelu, vectorized};

/// Rows of `width` values → `hidden · gelu(gate)` with `hidden` the first `width / 2` values of
/// each row and `gate` the rest.
///
/// # Panics
/// An odd `width`, or a buffer that is not whole rows.
#[must_use]
pub fn geglu(x: &[f32], width: usize) -> Vec<f32> {
    assert!(
        width.is_multiple_of(2) && x.len().is_multiple_of(width),
        "geglu: rows of {width} values expected"
    );
    let half = width / 2;
    let mut out = vec![0.0_f32; x.len() / 2];
    // Enough rows per task to amortise the dispatch.
    let rows_per_task = (16_384 / width).max(1);
    out.par_chunks_mut(half * rows_per_task).zip(x.par_chunks(width * rows_per_task)).for_each(|(out, x)| {
        vectorized(
            #[inline(always)]
            || {
                for (out, row) in out.chunks_exact_mut(half).zip(x.chunks_exact(width)) {
                    let (hidden, gate) = row.split_at(half);
                    for ((o, &h), &g) in out.iter_mut().zip(hidden).zip(gate) {
                        *o = h * gelu(g);
                    }
                }
            },
        );
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiplies_the_first_half_by_the_gelu_of_the_second() {
        let x: Vec<f32> = (0..3 * 8).map(|i| (i as f32) * 0.3 - 3.0).collect();
        let out = geglu(&x, 8);
        for (r, row) in x.chunks(8).enumerate() {
            for j in 0..4 {
                let (h, g) = (f64::from(row[j]), f64::from(row[j + 4]));
                let exact = h * 0.5 * g * (1.0 + libm::erf(g / std::f64::consts::SQRT_2));
                assert!((f64::from(out[r * 4 + j]) - exact).abs() < 1e-5, "row {r} col {j}");
            }
        }
    }
}
