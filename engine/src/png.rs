//! PNG files for generated images, carrying their generation parameters as UTF-8 text chunks
//! (`iTXt`), so an image remembers how it was made.

use std::io::Write;

use crate::error::EngineError;

/// Encodes 8-bit RGB pixels (`width × height × 3`) as PNG with `(keyword, text)` chunks.
///
/// # Errors
/// Pixel data of the wrong length, an invalid keyword (1–79 Latin-1 characters), or a write error.
pub fn encode_png<W: Write>(
    out: W,
    width: usize,
    height: usize,
    rgb: &[u8],
    texts: &[(&str, &str)],
) -> Result<(), EngineError> {
    let fail = |e: &dyn std::fmt::Display| EngineError::Request(format!("cannot write the PNG: {e}"));
    if rgb.len() != width * height * 3 {
        return Err(EngineError::Request(format!(
            "{} bytes are not a {width}×{height} RGB image",
            rgb.len()
        )));
    }
    let (w, h) = (u32::try_from(width).map_err(|e| fail(&e))?, u32::try_from(height).map_err(|e| fail(&e))?);
    let mut encoder = png::Encoder::new(out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    for (keyword, text) in texts {
        encoder.add_itxt_chunk((*keyword).to_owned(), (*text).to_owned()).map_err(|e| fail(&e))?;
    }
    let mut writer = encoder.write_header().map_err(|e| fail(&e))?;
    writer.write_image_data(rgb).map_err(|e| fail(&e))?;
    writer.finish().map_err(|e| fail(&e))
}

/// A PNG read back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodedPng {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width × height × 3` bytes.
    pub rgb: Vec<u8>,
    /// Its UTF-8 text chunks, `(keyword, text)`.
    pub texts: Vec<(String, String)>,
}

/// Reads an 8-bit RGB PNG back with its UTF-8 text chunks.
///
/// # Errors
/// Not a PNG, or not 8-bit RGB.
pub fn decode_png(bytes: &[u8]) -> Result<DecodedPng, EngineError> {
    let fail = |e: &dyn std::fmt::Display| EngineError::Request(format!("not a readable PNG: {e}"));
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().map_err(|e| fail(&e))?;
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader.next_frame(&mut buf).map_err(|e| fail(&e))?;
    if info.color_type != png::ColorType::Rgb || info.bit_depth != png::BitDepth::Eight {
        return Err(EngineError::Request("only 8-bit RGB PNGs are read".into()));
    }
    buf.truncate(info.buffer_size());
    let texts = reader
        .info()
        .utf8_text
        .iter()
        .filter_map(|chunk| chunk.get_text().ok().map(|text| (chunk.keyword.clone(), text)))
        .collect();
    Ok(DecodedPng { width: info.width as usize, height: info.height as usize, rgb: buf, texts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_and_parameters_survive_a_round_trip() {
        let rgb: Vec<u8> = (0..2 * 3 * 3).map(|i| u8::try_from(i * 10).unwrap_or(0)).collect();
        let mut file = Vec::new();
        encode_png(&mut file, 3, 2, &rgb, &[("parameters", "prompt: a penguin ✓, seed: 7")]).ok();
        let back = decode_png(&file).ok().unwrap_or_default();
        assert_eq!((back.width, back.height, back.rgb), (3, 2, rgb));
        assert_eq!(back.texts, vec![("parameters".to_owned(), "prompt: a penguin ✓, seed: 7".to_owned())]);
    }

    #[test]
    fn a_wrong_pixel_count_is_refused() {
        let err = encode_png(Vec::new(), 3, 2, &[0; 5], &[]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("not a 3×2 RGB image"), "{err}");
    }
}
