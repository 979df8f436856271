//! What an edit starts from: image-to-image, inpainting and outpainting name an init image (one of
//! the caller's images or assets), optionally a mask, how much to change, and the region of the
//! init image to generate, which may reach past its edges (outpainting: the part outside is
//! infilled and repainted). The check here is pure; that the images are the caller's and their
//! sizes fit is checked at enqueue, inside the caller's transaction.

use serde::{Deserialize, Serialize};

use super::{GenerateRequest, GenerationRefusal, MIN_SIDE, SIDE_MULTIPLE};
use crate::ids::ImageId;

/// Strength an image-to-image request gets when it names none (InvokeAI's and diffusers' are 0.7
/// and 0.8: enough to redraw, little enough to keep the composition).
pub const DEFAULT_STRENGTH: f64 = 0.75;
/// Strength a request with a mask gets when it names none: the masked part is painted afresh.
pub const DEFAULT_INPAINT_STRENGTH: f64 = 1.0;
/// Mask blur, in pixels, when a request names none: enough to hide the seam on small images.
pub const DEFAULT_MASK_BLUR: i64 = 4;
/// The widest mask blur taken, in pixels.
pub const MAX_MASK_BLUR: i64 = 64;
/// How far a region may reach from the init image's origin, and its largest side, in pixels.
pub const MAX_REGION_REACH: i64 = 8192;

/// A rectangle in the init image's pixels; it may reach past the image's edges (outpainting).
/// Numbers are read wide so that out-of-range values get a message naming the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Region {
    /// Left edge; negative reaches left of the image.
    pub x: i64,
    /// Top edge; negative reaches above the image.
    pub y: i64,
    /// Width, 8 to 8192 pixels.
    pub width: i64,
    /// Height, 8 to 8192 pixels.
    pub height: i64,
}

impl Region {
    /// The whole of an image of `width × height`.
    #[must_use]
    pub fn whole(width: u32, height: u32) -> Self {
        Self { x: 0, y: 0, width: i64::from(width), height: i64::from(height) }
    }

    /// Whether it shares at least one pixel with an image of `width × height`.
    #[must_use]
    pub fn overlaps(&self, width: u32, height: u32) -> bool {
        self.x < i64::from(width)
            && self.y < i64::from(height)
            && self.x + self.width > 0
            && self.y + self.height > 0
    }

    /// Whether it lies wholly inside an image of `width × height` (nothing to outpaint).
    #[must_use]
    pub fn inside(&self, width: u32, height: u32) -> bool {
        self.x >= 0
            && self.y >= 0
            && self.x + self.width <= i64::from(width)
            && self.y + self.height <= i64::from(height)
    }
}

/// How a job edits an image: checked, defaults filled in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Edit {
    /// The image it starts from.
    pub init_image_id: ImageId,
    /// Grey, the init image's size: white is repainted, black kept. Without one, only the part of
    /// the region outside the image (or transparent in it) is painted, and with none such the
    /// whole region is redrawn (image-to-image).
    pub mask_image_id: Option<ImageId>,
    /// How much to change, 0 (keep) to 1 (paint afresh).
    pub strength: f64,
    /// Gaussian blur of the mask, in pixels, before it is applied and the result pasted back.
    pub mask_blur: u32,
    /// The part of the init image to generate, scaled to the request's size; the whole image when
    /// left out.
    pub region: Option<Region>,
}

/// The edit `request` asks for, if any: its fields only mean something with an init image.
///
/// # Errors
/// The first edit field that is invalid (422), naming it.
pub fn check_edit(request: &GenerateRequest) -> Result<Option<Edit>, GenerationRefusal> {
    let invalid = |field, message: &str| GenerationRefusal::Invalid { field, message: message.into() };
    let Some(init_image_id) = request.init_image_id else {
        let stray = [
            ("mask_image_id", request.mask_image_id.is_some()),
            ("strength", request.strength.is_some()),
            ("mask_blur", request.mask_blur.is_some()),
            ("region", request.region.is_some()),
        ];
        return match stray.into_iter().find(|(_, given)| *given) {
            Some((field, _)) => {
                Err(invalid(field, "This applies to an edit: name its image in init_image_id."))
            }
            None => Ok(None),
        };
    };
    let default_strength =
        if request.mask_image_id.is_some() { DEFAULT_INPAINT_STRENGTH } else { DEFAULT_STRENGTH };
    let strength = request.strength.unwrap_or(default_strength);
    if !strength.is_finite() || !(0.0..=1.0).contains(&strength) {
        return Err(invalid("strength", "Use a strength from 0 (keep the image) to 1 (paint afresh)."));
    }
    let mask_blur = request.mask_blur.unwrap_or(DEFAULT_MASK_BLUR);
    if !(0..=MAX_MASK_BLUR).contains(&mask_blur) {
        return Err(invalid("mask_blur", &format!("Use a mask blur from 0 to {MAX_MASK_BLUR} pixels.")));
    }
    if let Some(region) = request.region {
        let reach = -MAX_REGION_REACH..=MAX_REGION_REACH;
        let side = SIDE_MULTIPLE..=MAX_REGION_REACH;
        if !reach.contains(&region.x)
            || !reach.contains(&region.y)
            || !side.contains(&region.width)
            || !side.contains(&region.height)
        {
            return Err(invalid(
                "region",
                &format!(
                    "Give a region {SIDE_MULTIPLE} to {MAX_REGION_REACH} pixels a side, within \
                     {MAX_REGION_REACH} pixels of the image."
                ),
            ));
        }
    }
    Ok(Some(Edit {
        init_image_id,
        mask_image_id: request.mask_image_id,
        strength,
        mask_blur: u32::try_from(mask_blur).unwrap_or(0),
        region: request.region,
    }))
}

/// The size to generate a region of `width × height` at when the request names none: the
/// region's own, scaled down to fit `max_side` if it must, in multiples of 8 and at least 64.
#[must_use]
pub fn fit_size(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let (w, h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    let scale = (f64::from(max_side) / w.max(h)).min(1.0);
    let step = SIDE_MULTIPLE as f64;
    // Rounded to the nearest multiple of 8: the region is scaled to it anyway.
    let side = |v: f64| {
        let rounded = ((v * scale / step).round() * step).max(MIN_SIDE as f64);
        (rounded as u32).min(max_side.max(MIN_SIDE as u32))
    };
    (side(w), side(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(request: GenerateRequest) -> Result<Option<Edit>, GenerationRefusal> {
        check_edit(&GenerateRequest { prompt: "x".into(), ..request })
    }

    fn field(result: Result<Option<Edit>, GenerationRefusal>) -> &'static str {
        match result.unwrap_err() {
            GenerationRefusal::Invalid { field, .. } | GenerationRefusal::PlanRequired { field, .. } => field,
        }
    }

    fn image() -> Option<ImageId> {
        Some(ImageId(uuid::Uuid::from_u128(1)))
    }

    #[test]
    fn an_edit_takes_its_defaults_by_whether_it_has_a_mask() {
        assert_eq!(edit(GenerateRequest::default()).unwrap(), None);
        let img2img =
            edit(GenerateRequest { init_image_id: image(), ..GenerateRequest::default() }).unwrap().unwrap();
        assert_eq!((img2img.strength, img2img.mask_blur, img2img.region), (DEFAULT_STRENGTH, 4, None));
        let inpaint = edit(GenerateRequest {
            init_image_id: image(),
            mask_image_id: image(),
            ..GenerateRequest::default()
        })
        .unwrap()
        .unwrap();
        assert_eq!(inpaint.strength, DEFAULT_INPAINT_STRENGTH);
    }

    #[test]
    fn edit_fields_without_an_init_image_or_out_of_range_are_refused_by_name() {
        let region = Region { x: 0, y: 0, width: 64, height: 64 };
        let cases = [
            (GenerateRequest { mask_image_id: image(), ..GenerateRequest::default() }, "mask_image_id"),
            (GenerateRequest { strength: Some(0.5), ..GenerateRequest::default() }, "strength"),
            (GenerateRequest { mask_blur: Some(2), ..GenerateRequest::default() }, "mask_blur"),
            (GenerateRequest { region: Some(region), ..GenerateRequest::default() }, "region"),
            (
                GenerateRequest {
                    init_image_id: image(),
                    strength: Some(1.01),
                    ..GenerateRequest::default()
                },
                "strength",
            ),
            (
                GenerateRequest {
                    init_image_id: image(),
                    strength: Some(f64::NAN),
                    ..GenerateRequest::default()
                },
                "strength",
            ),
            (
                GenerateRequest { init_image_id: image(), mask_blur: Some(-1), ..GenerateRequest::default() },
                "mask_blur",
            ),
            (
                GenerateRequest { init_image_id: image(), mask_blur: Some(65), ..GenerateRequest::default() },
                "mask_blur",
            ),
            (
                GenerateRequest {
                    init_image_id: image(),
                    region: Some(Region { width: 4, ..region }),
                    ..GenerateRequest::default()
                },
                "region",
            ),
            (
                GenerateRequest {
                    init_image_id: image(),
                    region: Some(Region { x: -9000, ..region }),
                    ..GenerateRequest::default()
                },
                "region",
            ),
        ];
        for (request, expected) in cases {
            assert_eq!(field(edit(request.clone())), expected, "{request:?}");
        }
    }

    #[test]
    fn regions_know_whether_they_overlap_or_reach_past_the_image() {
        let region = Region { x: 32, y: 0, width: 64, height: 64 };
        assert!(region.overlaps(64, 64) && !region.inside(64, 64));
        assert!(Region::whole(64, 48).inside(64, 48));
        assert!(!Region { x: 64, ..region }.overlaps(64, 64), "touching the edge shares no pixel");
        assert!(!Region { x: -64, ..region }.overlaps(64, 64));
    }

    #[test]
    fn a_regions_default_size_keeps_its_shape_within_the_plan() {
        assert_eq!(fit_size(64, 64, 768), (64, 64));
        assert_eq!(fit_size(100, 60, 768), (104, 64), "12.5 eighths round up");
        assert_eq!(fit_size(1024, 512, 768), (768, 384));
        assert_eq!(fit_size(4000, 10, 768), (768, 64));
        assert_eq!(fit_size(10, 10, 768), (64, 64));
    }
}
