//! The pure 8-bit image operations image-to-image and inpainting need around the model, written
//! to give Pillow's numbers where diffusers' `VaeImageProcessor` calls Pillow: grey conversion
//! (`convert("L")`), the mask blur (`ImageFilter.GaussianBlur`), the crop box of
//! `padding_mask_crop` (`get_crop_region`), Lanczos resizing (`Image.resize`) and pasting the
//! generated crop back over the original (`apply_overlay`); plus the infill that prepares an
//! outpainting canvas. Images are row-major, interleaved, `u8`; no model, no device.

/// A rectangle of an image: columns `x1..x2`, rows `y1..y2` (diffusers' `crops_coords`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropBox {
    /// First column.
    pub x1: usize,
    /// First row.
    pub y1: usize,
    /// One past the last column.
    pub x2: usize,
    /// One past the last row.
    pub y2: usize,
}

impl CropBox {
    /// Width in pixels.
    #[must_use]
    pub const fn width(&self) -> usize {
        self.x2 - self.x1
    }

    /// Height in pixels.
    #[must_use]
    pub const fn height(&self) -> usize {
        self.y2 - self.y1
    }
}

/// RGB → grey as Pillow's `convert("L")`: ITU-R 601 weights in 16-bit fixed point, rounded.
#[must_use]
pub fn luma(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .map(|p| {
            let l = u32::from(p[0]) * 19595 + u32::from(p[1]) * 38470 + u32::from(p[2]) * 7471 + 0x8000;
            #[allow(clippy::cast_possible_truncation)]
            let l = (l >> 16) as u8;
            l
        })
        .collect()
}

/// Pillow's `ImageFilter.GaussianBlur(radius)` on a grey image (what diffusers'
/// `mask_processor.blur(mask, blur_factor)` does): three box blurs per direction whose
/// (fractional) box radius matches the Gaussian's variance (Gwosdek et al. 2011), in Pillow's
/// fixed point, rows first, each pass rounded to 8 bits. A radius of 0 (or below) is a copy.
#[must_use]
pub fn gaussian_blur(gray: &[u8], width: usize, height: usize, radius: f32) -> Vec<u8> {
    const PASSES: usize = 3;
    assert_eq!(gray.len(), width * height, "image size");
    if radius <= 0.0 || width == 0 || height == 0 {
        return gray.to_vec();
    }
    let box_radius = box_radius(radius, PASSES);
    let mut image = gray.to_vec();
    let mut line = vec![0_u8; width.max(height)];
    for _ in 0..PASSES {
        for row in image.chunks_exact_mut(width) {
            box_blur_line(row, &mut line[..width], box_radius);
            row.copy_from_slice(&line[..width]);
        }
    }
    let mut column = vec![0_u8; height];
    for x in 0..width {
        for (y, c) in column.iter_mut().enumerate() {
            *c = image[y * width + x];
        }
        for _ in 0..PASSES {
            box_blur_line(&column, &mut line[..height], box_radius);
            column.copy_from_slice(&line[..height]);
        }
        for (y, &c) in column.iter().enumerate() {
            image[y * width + x] = c;
        }
    }
    image
}

/// Pillow's `_gaussian_blur_radius`, in its single precision.
fn box_radius(radius: f32, passes: usize) -> f32 {
    #[allow(clippy::cast_precision_loss)]
    let sigma2 = radius * radius / passes as f32;
    #[allow(clippy::cast_possible_truncation)]
    let big_l = (12.0 * f64::from(sigma2) + 1.0).sqrt() as f32;
    #[allow(clippy::cast_possible_truncation)]
    let l = ((f64::from(big_l) - 1.0) / 2.0).floor() as f32;
    let mut a = 2.0f32.mul_add(l, 1.0) * l.mul_add(l + 1.0, -3.0 * sigma2);
    a /= 6.0 * (sigma2 - (l + 1.0) * (l + 1.0));
    l + a
}

/// One pass of Pillow's `ImagingLineBoxBlur8` (edges extended), `input` → `output`.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_possible_wrap)]
fn box_blur_line(input: &[u8], output: &mut [u8], float_radius: f32) {
    let n = input.len();
    let radius = float_radius as usize;
    let ww = (16_777_216.0_f32 / float_radius.mul_add(2.0, 1.0)) as u32;
    let fw = (16_777_216_u32 - (radius as u32 * 2 + 1) * ww) / 2;
    let edge_a = (radius + 1).min(n);
    let edge_b = n.saturating_sub(radius + 1);
    let last = n - 1;
    let at = |i: usize| u32::from(input[i]);
    let mut acc = at(0) * (radius as u32 + 1);
    for x in 0..edge_a.saturating_sub(1) {
        acc += at(x);
    }
    acc = acc.wrapping_add(at(last).wrapping_mul((radius as u32 + 1).wrapping_sub(edge_a as u32)));
    let mut save = |x: usize, acc: u32, left: usize, right: usize| {
        let bulk = acc.wrapping_mul(ww).wrapping_add((at(left) + at(right)).wrapping_mul(fw));
        output[x] = (bulk.wrapping_add(1 << 23) >> 24) as u8;
    };
    let step = |acc: &mut u32, sub: usize, add: usize| *acc = acc.wrapping_add(at(add)).wrapping_sub(at(sub));
    if edge_a <= edge_b {
        for x in 0..edge_a {
            step(&mut acc, 0, x + radius);
            save(x, acc, 0, x + radius + 1);
        }
        for x in edge_a..edge_b {
            step(&mut acc, x - radius - 1, x + radius);
            save(x, acc, x - radius - 1, x + radius + 1);
        }
        for x in edge_b..=last {
            step(&mut acc, x - radius - 1, last);
            save(x, acc, x - radius - 1, last);
        }
    } else {
        for x in 0..edge_b {
            step(&mut acc, 0, x + radius);
            save(x, acc, 0, x + radius + 1);
        }
        for x in edge_b..edge_a {
            step(&mut acc, 0, last);
            save(x, acc, 0, last);
        }
        for x in edge_a..=last {
            step(&mut acc, x - radius - 1, last);
            save(x, acc, x - radius - 1, last);
        }
    }
}

/// diffusers' `VaeImageProcessor.get_crop_region`: the smallest box holding every non-zero mask
/// pixel, grown by `pad` on each side (within the image), then widened or heightened about its
/// centre to the aspect ratio of the `target_width × target_height` generation (shifted back
/// inside the image where it sticks out). `None` when the mask is all zero (nothing to crop to).
#[must_use]
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]
pub fn crop_region(
    mask: &[u8],
    width: usize,
    height: usize,
    pad: usize,
    (target_width, target_height): (usize, usize),
) -> Option<CropBox> {
    assert_eq!(mask.len(), width * height, "mask size");
    let column_set = |x: usize| (0..height).any(|y| mask[y * width + x] != 0);
    let row_set = |y: usize| mask[y * width..(y + 1) * width].iter().any(|&m| m != 0);
    let left = (0..width).find(|&x| column_set(x))?;
    let right = (0..width).rev().find(|&x| column_set(x))? + 1;
    let top = (0..height).find(|&y| row_set(y))?;
    let bottom = (0..height).rev().find(|&y| row_set(y))? + 1;
    let (w, h) = (width as i64, height as i64);
    let pad = pad as i64;
    let (mut x1, mut y1) = ((left as i64 - pad).max(0), (top as i64 - pad).max(0));
    let (mut x2, mut y2) = ((right as i64 + pad).min(w), (bottom as i64 + pad).min(h));
    let ratio_crop = (x2 - x1) as f64 / (y2 - y1) as f64;
    let ratio_target = target_width as f64 / target_height as f64;
    if ratio_crop > ratio_target {
        let desired = (x2 - x1) as f64 / ratio_target;
        (y1, y2) = widen((y1, y2), (desired - (y2 - y1) as f64) as i64, h);
    } else {
        let desired = (y2 - y1) as f64 * ratio_target;
        (x1, x2) = widen((x1, x2), (desired - (x2 - x1) as f64) as i64, w);
    }
    Some(CropBox { x1: x1 as usize, y1: y1 as usize, x2: x2 as usize, y2: y2 as usize })
}

/// `[lo, hi)` grown by `diff` (half before, the rest after), then shifted back inside
/// `[0, limit)` and clipped to it, as `get_crop_region` does on either axis.
const fn widen((lo, hi): (i64, i64), diff: i64, limit: i64) -> (i64, i64) {
    let (mut lo, mut hi) = (lo - diff.div_euclid(2), hi + diff - diff.div_euclid(2));
    if hi >= limit {
        let over = hi - limit;
        hi -= over;
        lo -= over;
    }
    if lo < 0 {
        hi -= lo;
        lo = 0;
    }
    (lo, if hi < limit { hi } else { limit })
}

/// The pixels of `area` of an image `width` wide with `channels` per pixel.
#[must_use]
pub fn crop(pixels: &[u8], width: usize, channels: usize, area: CropBox) -> Vec<u8> {
    (area.y1..area.y2)
        .flat_map(|y| {
            let row = (y * width + area.x1) * channels;
            pixels[row..row + area.width() * channels].iter().copied()
        })
        .collect()
}

/// Pillow's `Image.resize(..., Image.LANCZOS)` for 8-bit images: Lanczos-3 (support widened by
/// the scale when shrinking), rows first then columns, coefficients in Pillow's 22-bit fixed
/// point, each pass rounded and clipped to 8 bits. Same size: a copy.
#[must_use]
pub fn resize_lanczos(
    pixels: &[u8],
    (width, height): (usize, usize),
    channels: usize,
    (new_width, new_height): (usize, usize),
) -> Vec<u8> {
    assert_eq!(pixels.len(), width * height * channels, "image size");
    let mut image = pixels.to_vec();
    if new_width != width {
        let (bounds, kernel, size) = lanczos_coefficients(width, new_width);
        let mut out = vec![0_u8; new_width * height * channels];
        for y in 0..height {
            for x in 0..new_width {
                let (start, len) = bounds[x];
                let k = &kernel[x * size..x * size + len];
                for c in 0..channels {
                    let sum = k.iter().enumerate().fold(1_i64 << (PRECISION_BITS - 1), |s, (i, &w)| {
                        s + i64::from(image[(y * width + start + i) * channels + c]) * i64::from(w)
                    });
                    out[(y * new_width + x) * channels + c] = clip8(sum);
                }
            }
        }
        image = out;
    }
    if new_height != height {
        let (bounds, kernel, size) = lanczos_coefficients(height, new_height);
        let mut out = vec![0_u8; new_width * new_height * channels];
        for y in 0..new_height {
            let (start, len) = bounds[y];
            let k = &kernel[y * size..y * size + len];
            for x in 0..new_width {
                for c in 0..channels {
                    let sum = k.iter().enumerate().fold(1_i64 << (PRECISION_BITS - 1), |s, (i, &w)| {
                        s + i64::from(image[((start + i) * new_width + x) * channels + c]) * i64::from(w)
                    });
                    out[(y * new_width + x) * channels + c] = clip8(sum);
                }
            }
        }
        image = out;
    }
    image
}

const PRECISION_BITS: u32 = 32 - 8 - 2;

fn clip8(sum: i64) -> u8 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let value = (sum >> PRECISION_BITS).clamp(0, 255) as u8;
    value
}

/// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for a Lanczos-3 filter: per output
/// pixel, its first input pixel and tap count, and the fixed-point taps (`size` per pixel).
#[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn lanczos_coefficients(in_size: usize, out_size: usize) -> (Vec<(usize, usize)>, Vec<i32>, usize) {
    fn sinc(x: f64) -> f64 {
        if x == 0.0 {
            1.0
        } else {
            let x = x * std::f64::consts::PI;
            x.sin() / x
        }
    }
    let lanczos = |x: f64| if (-3.0..3.0).contains(&x) { sinc(x) * sinc(x / 3.0) } else { 0.0 };
    let scale = in_size as f64 / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = 3.0 * filter_scale;
    let size = support.ceil() as usize * 2 + 1;
    let mut bounds = Vec::with_capacity(out_size);
    let mut kernel = vec![0_i32; out_size * size];
    for xx in 0..out_size {
        let center = (xx as f64 + 0.5) * scale;
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize - xmin;
        let weights: Vec<f64> =
            (0..xmax).map(|x| lanczos(((x + xmin) as f64 - center + 0.5) / filter_scale)).collect();
        let total: f64 = weights.iter().sum();
        for (x, w) in weights.iter().enumerate() {
            let w = if total == 0.0 { *w } else { w / total };
            let fixed = w * f64::from(1_u32 << PRECISION_BITS);
            kernel[xx * size + x] = (if w < 0.0 { fixed - 0.5 } else { fixed + 0.5 }) as i32;
        }
        bounds.push((xmin, xmax));
    }
    (bounds, kernel, size)
}

/// diffusers' `VaeImageProcessor.apply_overlay` with Pillow's arithmetic: the generated image
/// (resized to the crop box and placed there when `area` is given, else the whole image) shows
/// where the grey `mask` is white; the `original` shows through where it is black, blended in
/// between (a blurred mask feathers the seam). All images `width × height` except `generated`.
/// Outside the crop box the result is the original's pixels (over black where the mask is set).
#[must_use]
pub fn apply_overlay(
    mask: &[u8],
    original: &[u8],
    (width, height): (usize, usize),
    generated: &[u8],
    generated_size: (usize, usize),
    area: Option<CropBox>,
) -> Vec<u8> {
    assert_eq!(mask.len(), width * height, "mask size");
    assert_eq!(original.len(), width * height * 3, "image size");
    // The generated layer on the full canvas, opaque inside the crop box.
    // (Outside the box it is black: diffusers pastes into a blank RGBA image, then drops alpha.)
    let mut base = vec![[0_u8, 0, 0, 255]; width * height];
    match area {
        Some(area) => {
            let fitted = resize_to_cover(generated, generated_size, (area.width(), area.height()));
            for y in 0..area.height() {
                for x in 0..area.width() {
                    let p = &fitted[(y * area.width() + x) * 3..][..3];
                    base[(area.y1 + y) * width + area.x1 + x] = [p[0], p[1], p[2], 255];
                }
            }
        }
        None => {
            assert_eq!(generated_size, (width, height), "generated size");
            for (b, p) in base.iter_mut().zip(generated.chunks_exact(3)) {
                *b = [p[0], p[1], p[2], 255];
            }
        }
    }
    base.iter()
        .zip(original.chunks_exact(3))
        .zip(mask)
        .flat_map(|((&dst, src), &m)| {
            // The original, premultiplied by the inverted mask (paste into "RGBa" with a mask),
            // back to straight alpha ("RGBa" → "RGBA").
            let keep = 255 - u32::from(m);
            let premultiplied = [src[0], src[1], src[2]].map(|c| div255(u32::from(c) * keep));
            let alpha = div255(255 * keep);
            let straight = premultiplied
                .map(|c| if alpha == 0 || alpha == 255 { c } else { (255 * c / alpha).min(255) });
            // image.alpha_composite(original): the original over the generated layer.
            let [r, g, b] = alpha_composite([dst[0], dst[1], dst[2]], dst[3], straight, alpha);
            [r, g, b]
        })
        .collect()
}

/// diffusers' `resize(..., resize_mode="crop")`: scaled (Lanczos) to cover `target`, centred,
/// the overhang cut off.
fn resize_to_cover(image: &[u8], (width, height): (usize, usize), (tw, th): (usize, usize)) -> Vec<u8> {
    if (width, height) == (tw, th) {
        return image.to_vec();
    }
    #[allow(clippy::cast_precision_loss)]
    let (ratio, src_ratio) = (tw as f64 / th as f64, width as f64 / height as f64);
    let sw = if ratio > src_ratio { tw } else { width * th / height };
    let sh = if ratio <= src_ratio { th } else { height * tw / width };
    let resized = resize_lanczos(image, (width, height), 3, (sw, sh));
    let (left, top) = ((sw / 2).saturating_sub(tw / 2), (sh / 2).saturating_sub(th / 2));
    crop(&resized, sw, 3, CropBox { x1: left, y1: top, x2: left + tw, y2: top + th })
}

/// `a / 255` rounded as Pillow's `DIV255`.
const fn div255(a: u32) -> u32 {
    let t = a + 128;
    ((t >> 8) + t) >> 8
}

/// Pillow's `ImagingAlphaComposite` of `src` (straight alpha `src_a`) over an opaque-or-not `dst`,
/// its 7-bit fixed point.
#[allow(clippy::cast_possible_truncation)]
fn alpha_composite(dst: [u8; 3], dst_a: u8, src: [u32; 3], src_a: u32) -> [u8; 3] {
    const BITS: u32 = 7;
    let shift = |a: u32| ((a >> 8) + a) >> 8;
    let blend = u32::from(dst_a) * (255 - src_a);
    let outa255 = src_a * 255 + blend;
    if outa255 == 0 {
        return [0; 3];
    }
    let coef1 = src_a * 255 * 255 * (1 << BITS) / outa255;
    let coef2 = 255 * (1 << BITS) - coef1;
    let mut out = [0_u8; 3];
    for c in 0..3 {
        let tmp = src[c] * coef1 + u32::from(dst[c]) * coef2;
        out[c] = (shift(tmp + (0x80 << BITS)) >> BITS) as u8;
    }
    out
}

/// Prepares an outpainting canvas: every unknown pixel (alpha below 128 in the RGBA `canvas`)
/// takes the colour of the nearest known pixel (Manhattan distance, found breadth-first from
/// all known pixels at once, ties to the first reached), then only the filled area is softened
/// with a Gaussian blur of `blur` pixels so that the streaks of edge colours become a smooth
/// wash. Diffusion then sees plausible colours and brightness at the seam instead of black or
/// grey, which would bleed into the new area; edge extension is used rather than tiling or
/// mirroring because it invents no structure (no duplicated objects) for the model to copy.
/// Returns the RGB canvas and the inpainting mask (255 where the pixel was unknown). An
/// all-unknown canvas becomes mid-grey.
#[must_use]
pub fn infill(canvas: &[u8], width: usize, height: usize, blur: f32) -> (Vec<u8>, Vec<u8>) {
    assert_eq!(canvas.len(), width * height * 4, "canvas size");
    let known: Vec<bool> = canvas.chunks_exact(4).map(|p| p[3] >= 128).collect();
    let mask: Vec<u8> = known.iter().map(|&k| if k { 0 } else { 255 }).collect();
    let mut rgb: Vec<u8> = canvas.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    let mut filled = known.clone();
    let mut queue: std::collections::VecDeque<usize> = (0..known.len()).filter(|&i| known[i]).collect();
    if queue.is_empty() {
        return (vec![128; width * height * 3], mask);
    }
    while let Some(i) = queue.pop_front() {
        let (x, y) = (i % width, i / width);
        let neighbours = [
            (x > 0).then(|| i - 1),
            (x + 1 < width).then(|| i + 1),
            (y > 0).then(|| i - width),
            (y + 1 < height).then(|| i + width),
        ];
        for j in neighbours.into_iter().flatten() {
            if !filled[j] {
                filled[j] = true;
                rgb.copy_within(i * 3..i * 3 + 3, j * 3);
                queue.push_back(j);
            }
        }
    }
    if blur > 0.0 {
        for c in 0..3 {
            let channel: Vec<u8> = rgb.iter().skip(c).step_by(3).copied().collect();
            let blurred = gaussian_blur(&channel, width, height, blur);
            for (i, &k) in known.iter().enumerate() {
                if !k {
                    rgb[i * 3 + c] = blurred[i];
                }
            }
        }
    }
    (rgb, mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luma_uses_pillows_weights() {
        assert_eq!(
            luma(&[255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]),
            vec![255, 0, 76, 150, 29]
        );
    }

    #[test]
    fn blur_keeps_flat_images_and_mass_and_spreads_an_edge() {
        let flat = vec![200_u8; 12 * 9];
        assert_eq!(gaussian_blur(&flat, 12, 9, 3.0), flat);
        assert_eq!(gaussian_blur(&flat, 12, 9, 0.0), flat);
        // A white square in the middle: blurred it is symmetric, smooth and keeps its mass.
        let (w, h) = (32, 32);
        let square: Vec<u8> = (0..w * h)
            .map(|i| if (12..20).contains(&(i % w)) && (12..20).contains(&(i / w)) { 255 } else { 0 })
            .collect();
        let blurred = gaussian_blur(&square, w, h, 2.0);
        let mass = |v: &[u8]| v.iter().map(|&x| u64::from(x)).sum::<u64>();
        let (before, after) = (mass(&square), mass(&blurred));
        assert!(before.abs_diff(after) * 100 < before, "{before} vs {after}");
        assert!(blurred[16 * w + 9] > 0 && blurred[16 * w + 9] < 255, "the edge is soft");
        assert_eq!(blurred[0], 0, "far corners stay black");
        for y in 0..h {
            for x in 0..w {
                // Symmetric up to the 8-bit rounding between passes (rows are blurred first).
                assert!(blurred[y * w + x].abs_diff(blurred[x * w + y]) <= 1, "symmetric at {x},{y}");
            }
        }
        // A radius beyond the image does not read out of bounds.
        let small = gaussian_blur(&square[..8 * 4], 8, 4, 50.0);
        assert_eq!(small.len(), 32);
    }

    #[test]
    fn the_crop_region_pads_and_matches_the_aspect_ratio() {
        let (w, h) = (64, 48);
        let mut mask = vec![0_u8; w * h];
        for y in 20..24 {
            for x in 30..40 {
                mask[y * w + x] = 255;
            }
        }
        // 10×4 grown by 4: 18×12, then to 1:1 → 18×18 around the same centre.
        let area = crop_region(&mask, w, h, 4, (32, 32)).unwrap();
        assert_eq!(area, CropBox { x1: 26, y1: 13, x2: 44, y2: 31 });
        // Near the border the box is shifted back inside.
        let area = crop_region(&mask, w, h, 30, (64, 16)).unwrap();
        assert_eq!((area.x1, area.x2), (0, 64));
        assert!(area.y2 <= h);
        assert_eq!(crop_region(&vec![0; w * h], w, h, 4, (8, 8)), None);
    }

    #[test]
    fn crop_and_resize() {
        let (w, h) = (4, 3);
        let image: Vec<u8> = (0..(w * h * 3) as u8).collect();
        let part = crop(&image, w, 3, CropBox { x1: 1, y1: 1, x2: 3, y2: 3 });
        assert_eq!(part, [15, 16, 17, 18, 19, 20, 27, 28, 29, 30, 31, 32]);
        assert_eq!(resize_lanczos(&image, (w, h), 3, (w, h)), image);
        let flat = vec![77_u8; 10 * 6];
        assert_eq!(resize_lanczos(&flat, (10, 6), 1, (4, 15)), vec![77; 60]);
        // Downscaling a two-tone image by 2 keeps the tones apart and in range.
        let stripes: Vec<u8> = (0..16 * 16).map(|i| if i % 16 < 8 { 0 } else { 255 }).collect();
        let small = resize_lanczos(&stripes, (16, 16), 1, (8, 8));
        assert_eq!(small[0], 0);
        assert_eq!(small[7], 255);
    }

    #[test]
    fn the_overlay_keeps_the_original_where_the_mask_is_black() {
        let (w, h) = (4, 2);
        let original = vec![10_u8; w * h * 3];
        let generated = vec![200_u8; w * h * 3];
        let mask = [0, 255, 128, 0, 255, 255, 0, 0];
        let out = apply_overlay(&mask, &original, (w, h), &generated, (w, h), None);
        assert_eq!(&out[0..3], &[10, 10, 10]);
        assert_eq!(&out[3..6], &[200, 200, 200]);
        let mid = out[6];
        assert!(mid > 10 && mid < 200, "half mask blends: {mid}");
        // With a crop box the generated crop lands inside it only.
        let small = vec![250_u8; 2 * 2 * 3];
        let area = CropBox { x1: 1, y1: 0, x2: 3, y2: 2 };
        let out = apply_overlay(&[255; 8], &original, (w, h), &small, (2, 2), Some(area));
        assert_eq!(out[3], 250);
        assert_eq!(out[0], 0, "outside the box, under a set mask: black");
    }

    #[test]
    fn infill_extends_edge_colours_into_the_unknown_area() {
        let (w, h) = (6, 2);
        let mut canvas = vec![0_u8; w * h * 4];
        for y in 0..h {
            // Left two columns known: red on row 0, blue on row 1.
            for x in 0..2 {
                let p = &mut canvas[(y * w + x) * 4..][..4];
                p.copy_from_slice(if y == 0 { &[255, 0, 0, 255] } else { &[0, 0, 255, 255] });
            }
        }
        let (rgb, mask) = infill(&canvas, w, h, 0.0);
        assert_eq!(mask, [0, 0, 255, 255, 255, 255, 0, 0, 255, 255, 255, 255]);
        assert_eq!(&rgb[5 * 3..6 * 3], &[255, 0, 0]);
        assert_eq!(&rgb[11 * 3..12 * 3], &[0, 0, 255]);
        let (blurred, _) = infill(&canvas, w, h, 1.0);
        assert_eq!(&blurred[..6], &rgb[..6], "known pixels untouched");
        assert!(blurred[5 * 3 + 2] > 0, "the blur mixes the rows in the filled area");
        let (grey, all) = infill(&[0; 16], 2, 2, 1.0);
        assert_eq!((grey, all), (vec![128; 12], vec![255; 4]));
    }
}
