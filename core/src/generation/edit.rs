//! Where an edit's images become the engine's input, and where its mask is applied to the
//! result: the region is cut from the init image (what lies outside the image, or is transparent
//! in it, is unknown: infilled, and painted whatever the mask says), scaled to the request's size,
//! and run as image-to-image or, with a mask or unknown pixels, inpainting; the result is then
//! pasted over the prepared image through the blurred mask, so that outside it the pixels are the
//! init image's own, not their trip through the VAE. Pure: [`super::sources`] fetches the files.

use contract::generation::{Edit, Region};
use engine::{
    imageops,
    pipeline::{GeneratedImage, ImageToImage, Inpaint, Mode, RgbImage},
};

/// Why an edit's source images cannot be used; the message is the job's failure as its owner
/// sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The init image or the mask was deleted between the request and its run.
    #[error("An image this edit starts from was deleted before it ran; nothing was made.")]
    Gone,
    /// A stored file is not an image (the upload check makes this a damaged file).
    #[error("An image this edit starts from cannot be read.")]
    Unreadable,
    /// Checked at the request already; checked again because the files are what counts.
    #[error("The mask is not the init image's size.")]
    MaskSize,
}

/// Blur of the infill's streaks of edge colours, in pixels (see [`imageops::infill`]).
const INFILL_BLUR: f32 = 8.0;

/// An image as 8-bit RGBA, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgba {
    /// Pixels.
    pub width: usize,
    /// Pixels.
    pub height: usize,
    /// `width × height × 4` bytes.
    pub rgba: Vec<u8>,
}

/// The engine's input for an edit, and how to finish its result.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// What the engine runs.
    pub mode: Mode,
    /// Inpainting: the prepared image and the blurred mask it is pasted back through.
    paste_back: Option<(RgbImage, Vec<u8>)>,
}

impl Prepared {
    /// Keeps the prepared image outside the mask: the generated pixels show where the blurred
    /// mask is white, the init image's where it is black, blended between (image-to-image
    /// results are left as they are).
    pub fn finish(&self, image: &mut GeneratedImage) {
        let Some((original, mask)) = &self.paste_back else { return };
        if (image.width, image.height) != (original.width, original.height) {
            return;
        }
        let size = (original.width, original.height);
        image.rgb = imageops::apply_overlay(mask, &original.rgb, size, &image.rgb, size, None);
        image.pixels = image.rgb.iter().map(|&v| f32::from(v) / 255.0).collect();
    }
}

/// The grey mask of a mask image: its brightness, where it is opaque (a transparent pixel keeps,
/// so a mask painted on a transparent layer works as well as black-and-white).
#[must_use]
fn mask_of(image: &Rgba) -> Vec<u8> {
    let rgb: Vec<u8> = image.rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    imageops::luma(&rgb)
        .into_iter()
        .zip(image.rgba.chunks_exact(4))
        .map(|(grey, p)| u8::try_from(u16::from(grey) * u16::from(p[3]) / 255).unwrap_or(u8::MAX))
        .collect()
}

/// The engine's input for `edit` from the encoded files of its init image and mask, generating
/// `size`.
///
/// # Errors
/// [`SourceError::Unreadable`] for a file that does not decode, [`SourceError::MaskSize`] for a
/// mask of another size than the init image.
pub fn prepare_files(
    edit: &Edit,
    init: &[u8],
    mask: Option<&[u8]>,
    size: (usize, usize),
) -> Result<Prepared, SourceError> {
    let decode = |bytes: &[u8]| {
        crate::imaging::decode_rgba(bytes)
            .map(|(w, h, rgba)| Rgba { width: w as usize, height: h as usize, rgba })
            .map_err(|_| SourceError::Unreadable)
    };
    let init = decode(init)?;
    let mask = mask.map(decode).transpose()?.map(|m| mask_of(&m));
    if mask.as_ref().is_some_and(|m| m.len() != init.width * init.height) {
        return Err(SourceError::MaskSize);
    }
    Ok(prepare(edit, &init, mask.as_deref(), size))
}

/// The engine's input for `edit` of `init` (with `mask`, grey and `init`'s size, if it has one),
/// generating `width × height`.
#[must_use]
pub fn prepare(edit: &Edit, init: &Rgba, mask: Option<&[u8]>, (width, height): (usize, usize)) -> Prepared {
    let whole = Region::whole(
        u32::try_from(init.width).unwrap_or(u32::MAX),
        u32::try_from(init.height).unwrap_or(u32::MAX),
    );
    let region = edit.region.unwrap_or(whole);
    let (canvas, painted, cut) = cut_region(init, mask, region);
    let unknown = canvas.chunks_exact(4).any(|p| p[3] < 128);
    let (rgb, mut grey) = if unknown {
        imageops::infill(&canvas, cut.0, cut.1, INFILL_BLUR)
    } else {
        (canvas.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect(), vec![0; cut.0 * cut.1])
    };
    for (g, p) in grey.iter_mut().zip(&painted) {
        *g = (*g).max(*p);
    }
    let size = (width, height);
    let image = RgbImage { width, height, rgb: imageops::resize_lanczos(&rgb, cut, 3, size) };
    if mask.is_none() && !unknown {
        return Prepared {
            mode: Mode::ImageToImage(ImageToImage { image, strength: edit.strength }),
            paste_back: None,
        };
    }
    let grey = imageops::resize_lanczos(&grey, cut, 1, size);
    #[allow(clippy::cast_precision_loss)] // at most 64
    let blur = edit.mask_blur as f32;
    let blurred = if blur > 0.0 { imageops::gaussian_blur(&grey, width, height, blur) } else { grey.clone() };
    Prepared {
        mode: Mode::Inpaint(Inpaint {
            image: image.clone(),
            mask: grey,
            strength: edit.strength,
            mask_blur: blur,
            padding_mask_crop: None,
        }),
        paste_back: Some((image, blurred)),
    }
}

/// `region` of `init` as RGBA (transparent where it lies outside the image) and of `mask` as grey
/// (0 outside), with the region's size.
#[allow(clippy::cast_possible_wrap, clippy::cast_sign_loss, clippy::cast_possible_truncation)]
fn cut_region(init: &Rgba, mask: Option<&[u8]>, region: Region) -> (Vec<u8>, Vec<u8>, (usize, usize)) {
    let (w, h) = (region.width.max(1) as usize, region.height.max(1) as usize);
    let mut canvas = vec![0_u8; w * h * 4];
    let mut painted = vec![0_u8; w * h];
    for y in 0..h {
        let sy = region.y + y as i64;
        if !(0..init.height as i64).contains(&sy) {
            continue;
        }
        for x in 0..w {
            let sx = region.x + x as i64;
            if !(0..init.width as i64).contains(&sx) {
                continue;
            }
            let source = sy as usize * init.width + sx as usize;
            canvas[(y * w + x) * 4..][..4].copy_from_slice(&init.rgba[source * 4..][..4]);
            if let Some(mask) = mask {
                painted[y * w + x] = mask[source];
            }
        }
    }
    (canvas, painted, (w, h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use contract::ids::ImageId;

    fn edit(region: Option<Region>, mask_blur: u32) -> Edit {
        Edit {
            init_image_id: ImageId(uuid::Uuid::nil()),
            mask_image_id: None,
            strength: 0.5,
            mask_blur,
            region,
        }
    }

    /// A 4×2 opaque image whose pixel k is (k, 10k, 20k).
    fn init() -> Rgba {
        let rgba = (0..8_u8).flat_map(|k| [k, 10 * k, 20 * k, 255]).collect();
        Rgba { width: 4, height: 2, rgba }
    }

    #[test]
    fn without_a_mask_or_unknown_pixels_an_edit_is_image_to_image_of_the_region() {
        let region = Region { x: 1, y: 0, width: 2, height: 2 };
        let prepared = prepare(&edit(Some(region), 4), &init(), None, (2, 2));
        let Mode::ImageToImage(i2i) = &prepared.mode else { panic!("{:?}", prepared.mode) };
        assert_eq!(i2i.strength, 0.5);
        assert_eq!(i2i.image.rgb, vec![1, 10, 20, 2, 20, 40, 5, 50, 100, 6, 60, 120]);
        assert!(prepared.paste_back.is_none());
    }

    #[test]
    fn a_region_past_the_edge_is_infilled_and_masked_there_only() {
        let region = Region { x: 2, y: 0, width: 4, height: 2 };
        let prepared = prepare(&edit(Some(region), 0), &init(), None, (4, 2));
        let Mode::Inpaint(inpaint) = &prepared.mode else { panic!("{:?}", prepared.mode) };
        assert_eq!(inpaint.mask, vec![0, 0, 255, 255, 0, 0, 255, 255]);
        // Known pixels are the image's; unknown ones take (a blur of) the nearest known colours,
        // not black.
        assert_eq!(&inpaint.image.rgb[..6], &[2, 20, 40, 3, 30, 60]);
        let green = inpaint.image.rgb[7];
        assert!((20..=70).contains(&green), "between the known greens: {green}");
    }

    #[test]
    fn a_mask_and_transparent_pixels_are_both_painted_and_the_result_keeps_the_rest() {
        let mut image = init();
        image.rgba[3] = 0; // pixel 0 transparent
        let mask = [0, 0, 0, 255, 0, 0, 0, 0];
        let prepared = prepare(&edit(None, 0), &image, Some(&mask), (4, 2));
        let Mode::Inpaint(inpaint) = &prepared.mode else { panic!("{:?}", prepared.mode) };
        assert_eq!(inpaint.mask, vec![255, 0, 0, 255, 0, 0, 0, 0]);
        let mut generated =
            GeneratedImage { width: 4, height: 2, rgb: vec![200; 24], pixels: vec![0.0; 24], seed: 0 };
        prepared.finish(&mut generated);
        assert_eq!(&generated.rgb[3 * 3..3 * 3 + 3], &[200, 200, 200], "inside the mask: generated");
        assert_eq!(&generated.rgb[3..6], &[1, 10, 20], "outside: the init image's own pixels");
        assert_eq!(generated.pixels[3], 1.0 / 255.0);
    }

    #[test]
    fn a_mask_is_its_brightness_where_it_is_opaque() {
        let image =
            Rgba { width: 3, height: 1, rgba: vec![255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 255] };
        assert_eq!(mask_of(&image), vec![255, 0, 0]);
    }
}
