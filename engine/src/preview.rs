//! Cheap previews while denoising: Stable Diffusion's four latent channels map to RGB almost
//! linearly, so a fixed 4 × 3 projection shows the image at latent resolution (an eighth of the
//! final size) without running the VAE.

/// A small RGB image, row-major, 3 bytes a pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// Width in pixels (the latent width).
    pub width: usize,
    /// Height in pixels (the latent height).
    pub height: usize,
    /// `width × height × 3` bytes.
    pub rgb: Vec<u8>,
}

/// A linear approximation of SD 1.x/2.x latents to the RGB of their decoded images, of the kind
/// preview tools commonly use; each row is one latent channel's contribution to R, G and B.
/// Only a preview: the real image comes from the VAE.
const LATENT_RGB: [[f64; 3]; 4] = [
    [0.3512, 0.2297, 0.3227],
    [0.3250, 0.4974, 0.2350],
    [-0.2829, 0.1762, 0.2721],
    [-0.2120, -0.2616, -0.7177],
];

/// A preview of one image's latents ([channels, h, w] flattened). Models with other than four
/// latent channels get a grey image of the first channel.
#[must_use]
pub fn latent_preview(latents: &[f64], channels: usize, height: usize, width: usize) -> Preview {
    let plane = height * width;
    let mut rgb = Vec::with_capacity(plane * 3);
    for p in 0..plane {
        let mut pixel = [0.0_f64; 3];
        if channels == LATENT_RGB.len() {
            for (c, weights) in LATENT_RGB.iter().enumerate() {
                for (out, w) in pixel.iter_mut().zip(weights) {
                    *out += latents[c * plane + p] * w;
                }
            }
        } else {
            pixel = [latents[p]; 3];
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        rgb.extend(pixel.iter().map(|v| ((v + 1.0) * 127.5).clamp(0.0, 255.0).round() as u8));
    }
    Preview { width, height, rgb }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_latents_preview_as_mid_grey_at_latent_size() {
        let preview = latent_preview(&[0.0; 4 * 2 * 3], 4, 2, 3);
        assert_eq!((preview.width, preview.height, preview.rgb.len()), (3, 2, 18));
        assert!(preview.rgb.iter().all(|&b| b == 128));
    }

    #[test]
    fn the_last_channel_darkens_and_the_first_warms() {
        let (h, w) = (1, 1);
        let dark = latent_preview(&[0.0, 0.0, 0.0, 2.0], 4, h, w);
        assert!(dark.rgb.iter().all(|&b| b < 100), "{:?}", dark.rgb);
        let warm = latent_preview(&[2.0, 0.0, 0.0, 0.0], 4, h, w);
        assert!(warm.rgb[0] > 180 && warm.rgb[0] >= warm.rgb[2], "{:?}", warm.rgb);
    }
}
