//! Pure image work for the gallery: thumbnails (WebP, made once when an image is stored), small
//! preview PNGs for live progress, and checking uploads (a real PNG, JPEG or WebP, within size).

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, RgbImage, imageops::FilterType};

/// Longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 256;
/// Largest upload, in bytes.
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;
/// Largest upload side, in pixels (a decompression bomb is refused before it is decoded).
pub const MAX_UPLOAD_SIDE: u32 = 8192;

/// Why an image could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum ImagingError {
    /// The bytes are not a PNG, JPEG or WebP image (415).
    #[error("This is not a PNG, JPEG or WebP image.")]
    NotAnImage,
    /// The image is larger than we accept (413).
    #[error("Images may be at most {MAX_UPLOAD_SIDE}×{MAX_UPLOAD_SIDE} pixels and 20 MB.")]
    TooLarge,
    /// Encoding failed (500).
    #[error("image encoding: {0}")]
    Encode(String),
}

/// An upload that was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedUpload {
    /// `image/png`, `image/jpeg` or `image/webp`.
    pub content_type: &'static str,
    /// File extension for its key.
    pub extension: &'static str,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Its thumbnail.
    pub thumbnail: Vec<u8>,
}

/// An RGB buffer as an image.
fn rgb_image(width: u32, height: u32, rgb: &[u8]) -> Result<RgbImage, ImagingError> {
    RgbImage::from_raw(width, height, rgb.to_vec())
        .ok_or_else(|| ImagingError::Encode(format!("{} bytes are not {width}×{height} RGB", rgb.len())))
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, ImagingError> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).map_err(|e| ImagingError::Encode(e.to_string()))?;
    Ok(out.into_inner())
}

/// A WebP thumbnail no larger than [`THUMBNAIL_SIDE`] (never enlarged), aspect ratio kept.
fn thumbnail_of(image: &DynamicImage) -> Result<Vec<u8>, ImagingError> {
    let small = if image.width().max(image.height()) > THUMBNAIL_SIDE {
        image.resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, FilterType::Triangle)
    } else {
        image.clone()
    };
    // The WebP encoder takes 8-bit RGB(A) only.
    encode(&DynamicImage::ImageRgb8(small.to_rgb8()), ImageFormat::WebP)
}

/// The thumbnail of an RGB image.
///
/// # Errors
/// The buffer does not match the size, or encoding failed.
pub fn thumbnail(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>, ImagingError> {
    thumbnail_of(&DynamicImage::ImageRgb8(rgb_image(width, height, rgb)?))
}

/// A PNG of an RGB image, for live previews.
///
/// # Errors
/// The buffer does not match the size, or encoding failed.
pub fn preview_png(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>, ImagingError> {
    encode(&DynamicImage::ImageRgb8(rgb_image(width, height, rgb)?), ImageFormat::Png)
}

/// Checks an uploaded file by its content (never its name or declared type) and makes its
/// thumbnail.
///
/// # Errors
/// [`ImagingError::NotAnImage`], [`ImagingError::TooLarge`].
pub fn check_upload(bytes: &[u8]) -> Result<CheckedUpload, ImagingError> {
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(ImagingError::TooLarge);
    }
    let format = image::guess_format(bytes).map_err(|_| ImagingError::NotAnImage)?;
    let (content_type, extension) = match format {
        ImageFormat::Png => ("image/png", "png"),
        ImageFormat::Jpeg => ("image/jpeg", "jpg"),
        ImageFormat::WebP => ("image/webp", "webp"),
        _ => return Err(ImagingError::NotAnImage),
    };
    let reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let (width, height) = reader.into_dimensions().map_err(|_| ImagingError::NotAnImage)?;
    if width == 0 || height == 0 {
        return Err(ImagingError::NotAnImage);
    }
    if width > MAX_UPLOAD_SIDE || height > MAX_UPLOAD_SIDE {
        return Err(ImagingError::TooLarge);
    }
    let decoded = image::load_from_memory_with_format(bytes, format).map_err(|_| ImagingError::NotAnImage)?;
    Ok(CheckedUpload { content_type, extension, width, height, thumbnail: thumbnail_of(&decoded)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(width: u32, height: u32) -> Vec<u8> {
        (0..width * height).flat_map(|i| [(i % 256) as u8, (i / 7 % 256) as u8, 128]).collect()
    }

    #[test]
    fn thumbnails_are_webp_no_larger_than_the_limit_and_keep_the_aspect_ratio() {
        let big = thumbnail(600, 300, &gradient(600, 300)).unwrap();
        let read = image::load_from_memory(&big).unwrap();
        assert_eq!(image::guess_format(&big).unwrap(), ImageFormat::WebP);
        assert_eq!((read.width(), read.height()), (256, 128));
        let small = image::load_from_memory(&thumbnail(64, 64, &gradient(64, 64)).unwrap()).unwrap();
        assert_eq!((small.width(), small.height()), (64, 64));
    }

    #[test]
    fn uploads_are_recognised_by_content_and_junk_is_refused() {
        let png = preview_png(40, 20, &gradient(40, 20)).unwrap();
        let checked = check_upload(&png).unwrap();
        assert_eq!((checked.content_type, checked.width, checked.height), ("image/png", 40, 20));
        assert!(matches!(check_upload(b"GIF89a not really"), Err(ImagingError::NotAnImage)));
        assert!(matches!(check_upload(b"hello"), Err(ImagingError::NotAnImage)));
        assert!(matches!(check_upload(&png[..30]), Err(ImagingError::NotAnImage)));
        assert!(thumbnail(10, 10, &[0; 5]).is_err());
    }
}
