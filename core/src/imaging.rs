//! Pure image work for the gallery: thumbnails (WebP, made once when an image is stored), small
//! preview PNGs for live progress, and checking uploads (a real PNG, JPEG or WebP, within size).
//!
//! An upload is judged from its header before anything is decoded (SECURITY.md 36): too many
//! pixels or more than 8 bits a channel is refused there, and the decode itself runs under an
//! allocation limit, so a 260 KB file declaring 8192×8192 pixels costs a header read, not 256 MB.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, RgbImage, imageops::FilterType};

/// Longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 256;
/// Largest upload, in bytes.
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;
/// Working room a decoder may allocate beyond the decoded pixels (row buffers, tables).
const DECODER_SLACK_BYTES: u64 = 16 * 1024 * 1024;

/// What an upload may decode to (`UPLOAD_MAX_PIXELS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// The most pixels, width × height.
    pub max_pixels: u64,
}

impl UploadLimits {
    /// What one decode may allocate: the largest allowed image as 8-bit RGBA, plus working room.
    #[must_use]
    pub fn max_decode_bytes(self) -> u64 {
        self.max_pixels.saturating_mul(4).saturating_add(DECODER_SLACK_BYTES)
    }
}

/// Why an image could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum ImagingError {
    /// The bytes are not a PNG, JPEG or WebP image (415).
    #[error("This is not a PNG, JPEG or WebP image.")]
    NotAnImage,
    /// The file is larger than we accept (413).
    #[error("Images may be at most 20 MB.")]
    TooLarge,
    /// The image declares more pixels than we decode (413).
    #[error("This image is {width}×{height} pixels; uploads may have at most {} megapixels.", .max_pixels / 1_000_000)]
    TooManyPixels {
        /// Its declared width.
        width: u32,
        /// Its declared height.
        height: u32,
        /// The budget.
        max_pixels: u64,
    },
    /// 16-bit or floating-point channels (422): we store and show 8-bit images.
    #[error(
        "Images with more than 8 bits per channel are not supported; save it as an 8-bit PNG, JPEG or WebP."
    )]
    DeepColour,
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

/// An image file we stored (an upload, already checked, or a generated PNG) as 8-bit RGBA:
/// width, height and pixels, for an edit to start from.
///
/// # Errors
/// [`ImagingError::NotAnImage`] when it does not decode.
pub fn decode_rgba(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), ImagingError> {
    let image = image::load_from_memory(bytes).map_err(|_| ImagingError::NotAnImage)?.to_rgba8();
    Ok((image.width(), image.height(), image.into_raw()))
}

/// Checks an uploaded file by its content (never its name or declared type) and makes its
/// thumbnail. The header is read first and the image decoded only if it fits `limits`.
///
/// # Errors
/// [`ImagingError::NotAnImage`], [`ImagingError::TooLarge`], [`ImagingError::TooManyPixels`],
/// [`ImagingError::DeepColour`].
pub fn check_upload(bytes: &[u8], limits: UploadLimits) -> Result<CheckedUpload, ImagingError> {
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
    let mut decoder = image::ImageReader::with_format(Cursor::new(bytes), format)
        .into_decoder()
        .map_err(|_| ImagingError::NotAnImage)?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(ImagingError::NotAnImage);
    }
    let too_many = ImagingError::TooManyPixels { width, height, max_pixels: limits.max_pixels };
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(too_many);
    }
    let colour = decoder.color_type();
    if colour.bytes_per_pixel() > colour.channel_count() {
        return Err(ImagingError::DeepColour);
    }
    let mut decode_limits = image::Limits::default();
    decode_limits.max_alloc = Some(limits.max_decode_bytes());
    // `from_decoder` does not charge the decoded buffer against `max_alloc` (only `ImageReader`'s
    // own decode does): reserve it here, so the limit bounds the largest allocation too.
    let mut buffer = decode_limits.clone();
    buffer.reserve(decoder.total_bytes()).map_err(|_| ImagingError::TooManyPixels {
        width,
        height,
        max_pixels: limits.max_pixels,
    })?;
    decoder.set_limits(decode_limits).map_err(|_| too_many)?;
    let decoded = DynamicImage::from_decoder(decoder).map_err(|e| match e {
        ImageError::Limits(_) => ImagingError::TooManyPixels { width, height, max_pixels: limits.max_pixels },
        _ => ImagingError::NotAnImage,
    })?;
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

    const LIMITS: UploadLimits = UploadLimits { max_pixels: 40_000_000 };

    #[test]
    fn uploads_are_recognised_by_content_and_junk_is_refused() {
        let png = preview_png(40, 20, &gradient(40, 20)).unwrap();
        let checked = check_upload(&png, LIMITS).unwrap();
        assert_eq!((checked.content_type, checked.width, checked.height), ("image/png", 40, 20));
        assert!(matches!(check_upload(b"GIF89a not really", LIMITS), Err(ImagingError::NotAnImage)));
        assert!(matches!(check_upload(b"hello", LIMITS), Err(ImagingError::NotAnImage)));
        assert!(matches!(check_upload(&png[..30], LIMITS), Err(ImagingError::NotAnImage)));
        assert!(thumbnail(10, 10, &[0; 5]).is_err());
    }

    /// A PNG of `width`×`height` pixels of zeros, as a bomb is made: it compresses to almost
    /// nothing however many pixels it declares.
    fn zeros_png(width: u32, height: u32, colour: image::ExtendedColorType) -> Vec<u8> {
        use image::ImageEncoder;
        let bytes_per_pixel = usize::from(colour.bits_per_pixel() / 8);
        let pixels = vec![0_u8; width as usize * height as usize * bytes_per_pixel];
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new_with_quality(
            &mut out,
            image::codecs::png::CompressionType::Best,
            image::codecs::png::FilterType::NoFilter,
        )
        .write_image(&pixels, width, height, colour)
        .unwrap();
        out
    }

    #[test]
    fn too_many_pixels_is_refused_from_the_header_and_deep_colour_is_refused() {
        let budget = UploadLimits { max_pixels: 1_000_000 };
        let bomb = zeros_png(2000, 2000, image::ExtendedColorType::Rgba8);
        match check_upload(&bomb, budget) {
            Err(e @ ImagingError::TooManyPixels { width: 2000, height: 2000, .. }) => {
                assert_eq!(
                    e.to_string(),
                    "This image is 2000×2000 pixels; uploads may have at most 1 megapixels."
                );
            }
            other => panic!("expected TooManyPixels, got {other:?}"),
        }
        // The budget is on pixels, not sides: a long thin image within it passes.
        assert!(check_upload(&zeros_png(8000, 2, image::ExtendedColorType::Rgb8), budget).is_ok());
        let tight = UploadLimits { max_pixels: 15_999 };
        assert!(matches!(
            check_upload(&zeros_png(8000, 2, image::ExtendedColorType::Rgb8), tight),
            Err(ImagingError::TooManyPixels { .. })
        ));
        let deep = zeros_png(16, 16, image::ExtendedColorType::Rgb16);
        assert!(matches!(check_upload(&deep, LIMITS), Err(ImagingError::DeepColour)));
    }
}
