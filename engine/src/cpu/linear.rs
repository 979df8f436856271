//! Linear layers for the CPU backend as one matrix product over the weights in place, with the
//! bias — and the residual the transformer blocks add right after — folded into the accumulator
//! (burn runs the product, then a bias pass, then the caller's residual pass).

use super::gemm::{Mat, MatMut, matmul_parallel};

/// `x · weight + bias + residual` for `x` [rows, in], `weight` [in, out] (burn's layout),
/// `bias` [out] and `residual` [rows, out], row-major.
///
/// # Panics
/// Buffers whose lengths do not match.
#[must_use]
pub fn linear(
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    residual: Option<Vec<f32>>,
    d_in: usize,
) -> Vec<f32> {
    assert!(
        d_in > 0 && x.len().is_multiple_of(d_in) && weight.len().is_multiple_of(d_in),
        "linear: shapes do not match"
    );
    let (rows, d_out) = (x.len() / d_in, weight.len() / d_in);
    let mut out = residual.unwrap_or_else(|| vec![0.0; rows * d_out]);
    assert!(out.len() == rows * d_out, "linear: residual does not match the output");
    if let Some(bias) = bias {
        assert!(bias.len() == d_out, "linear: bias of the wrong length");
        for row in out.chunks_exact_mut(d_out) {
            for (o, b) in row.iter_mut().zip(bias) {
                *o += b;
            }
        }
    }
    matmul_parallel(
        MatMut::rows(&mut out, rows, d_out, d_out),
        Mat::row_major(x, rows, d_in),
        Mat::row_major(weight, d_in, d_out),
        1.0,
        true,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_the_bias_and_the_residual_to_the_product() {
        let x: Vec<f32> = (0..6).map(|i| i as f32 - 2.0).collect(); // 2×3
        let w: Vec<f32> = (0..12).map(|i| (i as f32) * 0.25).collect(); // 3×4
        let bias = [1.0, -1.0, 0.5, 0.0];
        let residual: Vec<f32> = (0..8).map(|i| i as f32 * 10.0).collect();
        let out = linear(&x, &w, Some(&bias), Some(residual.clone()), 3);
        for r in 0..2 {
            for c in 0..4 {
                let exact: f32 =
                    (0..3).map(|t| x[r * 3 + t] * w[t * 4 + c]).sum::<f32>() + bias[c] + residual[r * 4 + c];
                assert!((out[r * 4 + c] - exact).abs() < 1e-5);
            }
        }
    }
}
