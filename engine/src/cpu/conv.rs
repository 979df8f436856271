//! 2-D convolutions (groups 1, dilation 1) for the CPU backend as matrix products over the
//! weights in place: for each tile of output pixels, the patches under the kernel are gathered
//! once (im2col, zero padding included) and multiplied by the [out, in·kh·kw] weight matrix —
//! which is exactly how the weights are stored, so nothing is packed or transposed per call, and
//! NCHW stays NCHW. The bias, and a residual where the caller has one, start the accumulator, so
//! `conv(x) + bias + residual` is one pass over the output. 1×1 convolutions skip the gather.

use rayon::prelude::*;

use super::gemm::{Mat, MatMut, matmul_parallel};

/// Bytes of gathered patches per tile of output pixels: bounds the gather's memory (a VAE
/// decoder layer at 512 px would otherwise gather 1.2 GB) while keeping products large.
const TILE_BYTES: usize = 8 << 20;

/// The geometry of a convolution.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    /// Batch, input channels, input height and width.
    pub input: [usize; 4],
    /// Output channels.
    pub channels_out: usize,
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Vertical and horizontal stride.
    pub stride: [usize; 2],
    /// Zero padding: top, left, bottom, right.
    pub padding: [usize; 4],
}

impl Geometry {
    /// Output height and width.
    #[must_use]
    pub const fn output(&self) -> [usize; 2] {
        let [_, _, h, w] = self.input;
        let [top, left, bottom, right] = self.padding;
        [
            (h + top + bottom - self.kernel[0]) / self.stride[0] + 1,
            (w + left + right - self.kernel[1]) / self.stride[1] + 1,
        ]
    }
}

/// `conv(x, weight) + bias + residual` with `x` [B, Ci, H, W], `weight` [Co, Ci, kh, kw],
/// `bias` [Co] and `residual` [B, Co, Ho, Wo], all row-major.
///
/// # Panics
/// Buffers whose lengths do not match the geometry, or a kernel larger than the padded input.
#[must_use]
pub fn conv2d(
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    residual: Option<Vec<f32>>,
    g: Geometry,
) -> Vec<f32> {
    let k = g.input[1] * g.kernel[0] * g.kernel[1];
    conv2d_in_tiles(x, weight, bias, residual, g, (TILE_BYTES / (4 * k.max(1))).max(64))
}

/// [`conv2d`] gathering at most `tile` output pixels' patches at a time.
fn conv2d_in_tiles(
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    residual: Option<Vec<f32>>,
    g: Geometry,
    tile: usize,
) -> Vec<f32> {
    let [batch, ci, h, w] = g.input;
    let [kh, kw] = g.kernel;
    let co = g.channels_out;
    assert!(
        h + g.padding[0] + g.padding[2] >= kh && w + g.padding[1] + g.padding[3] >= kw,
        "conv2d: kernel larger than the input"
    );
    let [ho, wo] = g.output();
    let (k, pixels) = (ci * kh * kw, ho * wo);
    assert!(
        x.len() == batch * ci * h * w && weight.len() == co * k,
        "conv2d: buffers do not match the geometry"
    );
    assert!(bias.is_none_or(|b| b.len() == co), "conv2d: bias of the wrong length");
    // The accumulator starts as residual + bias (or bias, or zero).
    let mut out = residual.unwrap_or_else(|| vec![0.0; batch * co * pixels]);
    assert!(out.len() == batch * co * pixels, "conv2d: residual does not match the output");
    if let Some(bias) = bias {
        out.par_chunks_mut(pixels).enumerate().for_each(|(channel, values)| {
            let b = bias[channel % co];
            values.iter_mut().for_each(|v| *v += b);
        });
    }
    let weights = Mat::row_major(weight, co, k);
    let pointwise = kh == 1 && kw == 1 && g.stride == [1, 1] && g.padding == [0; 4];
    let tile = if pointwise { pixels.max(1) } else { tile.clamp(1, pixels.max(1)) };
    for (b, image) in out.chunks_exact_mut(co * pixels).enumerate() {
        let x = &x[b * ci * h * w..(b + 1) * ci * h * w];
        for p0 in (0..pixels).step_by(tile) {
            let n = tile.min(pixels - p0);
            // This tile's columns of every output channel: rows `pixels` apart.
            let dst = MatMut::rows(&mut image[p0..], co, n, pixels);
            if pointwise {
                // x itself is the [Ci, H·W] right-hand side.
                matmul_parallel(
                    dst,
                    weights,
                    Mat::row_major(&x[p0..], ci, n).with_row_stride(h * w),
                    1.0,
                    true,
                );
            } else {
                let patches = gather(x, g, p0, p0 + n);
                matmul_parallel(dst, weights, Mat::row_major(&patches, k, n), 1.0, true);
            }
        }
    }
    out
}

/// The [Ci·kh·kw, p1 − p0] patch matrix of output pixels p0..p1 (im2col), zeros where the kernel
/// overhangs the input. Each patch row is filled output row by output row: the in-bounds columns
/// of an output row form one run of the input row (contiguous at stride 1), found once per row.
fn gather(x: &[f32], g: Geometry, p0: usize, p1: usize) -> Vec<f32> {
    let [_, ci, h, w] = g.input;
    let [kh, kw] = g.kernel;
    let [sy, sx] = g.stride;
    let [top, left, ..] = g.padding;
    let [_, wo] = g.output();
    let n = p1 - p0;
    let mut patches = vec![0.0_f32; ci * kh * kw * n];
    patches.par_chunks_mut(n).enumerate().for_each(|(row, out)| {
        let (c, ky, kx) = (row / (kh * kw), row / kw % kh, row % kw);
        let plane = &x[c * h * w..(c + 1) * h * w];
        // Output columns whose input column (ox·sx + kx − left) lies in 0..w.
        let first_ox = left.saturating_sub(kx).div_ceil(sx);
        let end_ox = if w + left > kx { ((w + left - kx - 1) / sx + 1).min(wo) } else { 0 };
        let mut p = p0;
        while p < p1 {
            let (oy, ox0) = (p / wo, p % wo);
            let row_end = ((oy + 1) * wo).min(p1); // this output row's pixels in the tile
            let iy = oy * sy + ky;
            if iy >= top && iy - top < h {
                let input_row = &plane[(iy - top) * w..(iy - top + 1) * w];
                let (from, to) = (first_ox.max(ox0), end_ox.min(ox0 + row_end - p));
                if from < to {
                    let dst = &mut out[p - p0 + (from - ox0)..p - p0 + (to - ox0)];
                    let ix0 = from * sx + kx - left;
                    if sx == 1 {
                        dst.copy_from_slice(&input_row[ix0..ix0 + dst.len()]);
                    } else {
                        for (k, value) in dst.iter_mut().enumerate() {
                            *value = input_row[ix0 + k * sx];
                        }
                    }
                }
            }
            p = row_end;
        }
    });
    patches
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition.
    fn reference(x: &[f32], weight: &[f32], bias: &[f32], g: Geometry) -> Vec<f64> {
        let [batch, ci, h, w] = g.input;
        let [kh, kw] = g.kernel;
        let [ho, wo] = g.output();
        let mut out = vec![0.0; batch * g.channels_out * ho * wo];
        for b in 0..batch {
            for o in 0..g.channels_out {
                for oy in 0..ho {
                    for ox in 0..wo {
                        let mut acc = f64::from(bias[o]);
                        for c in 0..ci {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let iy = (oy * g.stride[0] + ky) as isize - g.padding[0] as isize;
                                    let ix = (ox * g.stride[1] + kx) as isize - g.padding[1] as isize;
                                    if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                                        acc +=
                                            f64::from(x[((b * ci + c) * h + iy as usize) * w + ix as usize])
                                                * f64::from(weight[((o * ci + c) * kh + ky) * kw + kx]);
                                    }
                                }
                            }
                        }
                        out[((b * g.channels_out + o) * ho + oy) * wo + ox] = acc;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn matches_the_definition_for_the_shapes_the_models_use() {
        let values = |count: usize, seed: f32| -> Vec<f32> {
            (0..count).map(|i| ((i as f32 + 1.0) * seed).sin()).collect()
        };
        for (kernel, stride, padding) in [
            ([3, 3], [1, 1], [1, 1, 1, 1]),
            ([1, 1], [1, 1], [0; 4]),
            ([3, 3], [2, 2], [1, 1, 1, 1]),
            ([3, 3], [2, 2], [0, 0, 1, 1]),
        ] {
            let g = Geometry { input: [2, 3, 7, 9], channels_out: 4, kernel, stride, padding };
            let x = values(2 * 3 * 7 * 9, 0.37);
            let weight = values(4 * 3 * kernel[0] * kernel[1], 0.11);
            let bias = values(4, 1.7);
            let [ho, wo] = g.output();
            let residual = values(2 * 4 * ho * wo, 0.23);
            let theirs = reference(&x, &weight, &bias, g);
            // Whole images, and tiles that end mid-row (1, 5 and 13 of an output row's pixels).
            for tile in [usize::MAX, 1, 5, 13] {
                let ours = conv2d_in_tiles(&x, &weight, Some(&bias), Some(residual.clone()), g, tile);
                for ((a, b), r) in ours.iter().zip(&theirs).zip(&residual) {
                    assert!(
                        (f64::from(*a) - b - f64::from(*r)).abs() < 1e-5,
                        "{kernel:?} {stride:?} {padding:?} tile {tile}: {a} vs {b} + {r}"
                    );
                }
            }
            assert_eq!(conv2d(&x, &weight, Some(&bias), None, g).len(), theirs.len());
        }
    }
}
