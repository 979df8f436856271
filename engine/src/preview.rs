//! Cheap previews while denoising: a model's latent channels map to RGB almost linearly, so a
//! fixed projection (a palette) shows the image at latent resolution (an eighth of the final
//! size) without running the VAE.

use std::path::Path;

use serde::Deserialize;

use crate::error::EngineError;

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
const SD_FACTORS: [[f64; 3]; 4] = [
    [0.3512, 0.2297, 0.3227],
    [0.3250, 0.4974, 0.2350],
    [-0.2829, 0.1762, 0.2721],
    [-0.2120, -0.2616, -0.7177],
];

/// Where a model may ship its own palette (the starter model does: `engine/starter/fit_preview.py`).
const PALETTE_FILE: &str = "vae/latent_preview.json";

/// The linear map from latent channels to RGB in [-1, 1]: `rgb = bias + Σ latent[c] · factors[c]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LatentPalette {
    /// One row per latent channel: its contribution to R, G and B.
    factors: Vec<[f64; 3]>,
    /// The colour of all-zero latents.
    #[serde(default)]
    bias: [f64; 3],
}

impl LatentPalette {
    /// The palette for a model in `dir` with `channels` latent channels: its own
    /// `vae/latent_preview.json` if it ships one, else SD's for four channels, else a grey image
    /// of the first channel.
    ///
    /// # Errors
    /// The model's palette file is unreadable, not valid, or has a row count other than `channels`.
    pub fn for_model(dir: &Path, channels: usize) -> Result<Self, EngineError> {
        let path = dir.join(PALETTE_FILE);
        if path.is_file() {
            let text =
                std::fs::read_to_string(&path).map_err(|e| EngineError::invalid(&path, e.to_string()))?;
            let palette: Self =
                serde_json::from_str(&text).map_err(|e| EngineError::invalid(&path, e.to_string()))?;
            if palette.factors.len() != channels {
                return Err(EngineError::invalid(
                    &path,
                    format!("{} rows of factors for {channels} latent channels", palette.factors.len()),
                ));
            }
            return Ok(palette);
        }
        Ok(Self::fallback(channels))
    }

    /// SD's palette for four channels; otherwise the first channel as grey.
    #[must_use]
    pub fn fallback(channels: usize) -> Self {
        let factors = if channels == SD_FACTORS.len() {
            SD_FACTORS.to_vec()
        } else {
            (0..channels).map(|c| if c == 0 { [1.0; 3] } else { [0.0; 3] }).collect()
        };
        Self { factors, bias: [0.0; 3] }
    }

    /// A preview of one image's latents ([channels, h, w] flattened).
    #[must_use]
    pub fn preview(&self, latents: &[f64], height: usize, width: usize) -> Preview {
        let plane = height * width;
        let mut rgb = Vec::with_capacity(plane * 3);
        for p in 0..plane {
            let mut pixel = self.bias;
            for (c, weights) in self.factors.iter().enumerate() {
                for (out, w) in pixel.iter_mut().zip(weights) {
                    *out += latents[c * plane + p] * w;
                }
            }
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            rgb.extend(pixel.iter().map(|v| ((v + 1.0) * 127.5).clamp(0.0, 255.0).round() as u8));
        }
        Preview { width, height, rgb }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_latents_preview_as_mid_grey_at_latent_size() {
        let preview = LatentPalette::fallback(4).preview(&[0.0; 4 * 2 * 3], 2, 3);
        assert_eq!((preview.width, preview.height, preview.rgb.len()), (3, 2, 18));
        assert!(preview.rgb.iter().all(|&b| b == 128));
    }

    #[test]
    fn the_last_channel_darkens_and_the_first_warms() {
        let sd = LatentPalette::fallback(4);
        let dark = sd.preview(&[0.0, 0.0, 0.0, 2.0], 1, 1);
        assert!(dark.rgb.iter().all(|&b| b < 100), "{:?}", dark.rgb);
        let warm = sd.preview(&[2.0, 0.0, 0.0, 0.0], 1, 1);
        assert!(warm.rgb[0] > 180 && warm.rgb[0] >= warm.rgb[2], "{:?}", warm.rgb);
    }

    #[test]
    fn other_channel_counts_without_a_palette_show_the_first_channel_as_grey() {
        let grey = LatentPalette::fallback(8);
        let latents: Vec<f64> = [0.5].into_iter().chain(std::iter::repeat_n(9.0, 7)).collect();
        assert_eq!(grey.preview(&latents, 1, 1).rgb, vec![191; 3]);
    }

    #[test]
    fn a_shipped_palette_is_read_and_checked_against_the_channels() {
        let dir = std::env::temp_dir().join(format!("pingvas-palette-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("vae")).unwrap();
        std::fs::write(dir.join(PALETTE_FILE), r#"{"factors": [[1, 0, 0], [0, 0, 1]], "bias": [0, -1, 0]}"#)
            .unwrap();
        let palette = LatentPalette::for_model(&dir, 2).unwrap();
        // Channel 0 drives red, channel 1 blue; green sits at the bias.
        assert_eq!(palette.preview(&[1.0, -1.0], 1, 1).rgb, vec![255, 0, 0]);
        let err = LatentPalette::for_model(&dir, 4).unwrap_err().to_string();
        assert!(err.contains("2 rows of factors for 4 latent channels"), "{err}");
        std::fs::write(dir.join(PALETTE_FILE), "{").unwrap();
        assert!(LatentPalette::for_model(&dir, 2).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_starter_models_palette_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("starter/model");
        let palette = LatentPalette::for_model(&dir, 8).unwrap();
        assert_ne!(palette, LatentPalette::fallback(8));
    }
}
