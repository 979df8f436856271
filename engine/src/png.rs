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

/// Reads any 8- or 16-bit PNG (grey, grey + alpha, RGB, RGBA, palette) as 8-bit RGBA: what an
/// init image or a mask may come as.
///
/// # Errors
/// Not a readable PNG.
pub fn decode_png_rgba(bytes: &[u8]) -> Result<(usize, usize, Vec<u8>), EngineError> {
    let fail = |e: &dyn std::fmt::Display| EngineError::Request(format!("not a readable PNG: {e}"));
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| fail(&e))?;
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader.next_frame(&mut buf).map_err(|e| fail(&e))?;
    buf.truncate(info.buffer_size());
    let rgba: Vec<u8> = match info.color_type {
        png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g, 255]).collect(),
        png::ColorType::GrayscaleAlpha => {
            buf.chunks_exact(2).flat_map(|p| [p[0], p[0], p[0], p[1]]).collect()
        }
        png::ColorType::Rgb => buf.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
        png::ColorType::Rgba => buf,
        png::ColorType::Indexed => return Err(EngineError::Request("palette PNG not expanded".into())),
    };
    Ok((info.width as usize, info.height as usize, rgba))
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
    fn any_png_reads_as_rgba() {
        let rgb = [10_u8, 20, 30, 40, 50, 60];
        let mut file = Vec::new();
        encode_png(&mut file, 2, 1, &rgb, &[]).ok();
        let (w, h, rgba) = decode_png_rgba(&file).ok().unwrap_or_default();
        assert_eq!((w, h, rgba), (2, 1, vec![10, 20, 30, 255, 40, 50, 60, 255]));
        let mut grey = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut grey, 2, 1);
            encoder.set_color(png::ColorType::GrayscaleAlpha);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().ok().unwrap_or_else(|| unreachable!());
            writer.write_image_data(&[7, 0, 9, 255]).ok();
        }
        let (_, _, rgba) = decode_png_rgba(&grey).ok().unwrap_or_default();
        assert_eq!(rgba, vec![7, 7, 7, 0, 9, 9, 9, 255]);
        assert!(decode_png_rgba(b"not a png").is_err());
    }

    #[test]
    fn a_wrong_pixel_count_is_refused() {
        let err = encode_png(Vec::new(), 3, 2, &[0; 5], &[]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("not a 3×2 RGB image"), "{err}");
    }
}
