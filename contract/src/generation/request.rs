//! A generation request as sent, the parameters a job runs with, and the pure check between
//! them.

use serde::{Deserialize, Serialize};

use super::{Edit, ModelInfo, Region, Scheduler, check_edit};
use crate::ids::{BoardId, ImageId, ModelName};
use crate::plans::{Plan, PlanLimits};

/// Longest prompt and negative prompt, in characters.
pub const MAX_PROMPT_CHARS: usize = 2000;
/// Fewest and most denoising steps anyone may ask for (plans allow fewer).
pub const STEPS_RANGE: (i64, i64) = (1, 150);
/// Smallest side, in pixels; every side is a multiple of [`SIDE_MULTIPLE`].
pub const MIN_SIDE: i64 = 64;
/// Sides are multiples of this (the VAE downsamples by 8).
pub const SIDE_MULTIPLE: i64 = 8;
/// Classifier-free guidance scale bounds.
pub const CFG_RANGE: (f64, f64) = (0.0, 30.0);
/// Seeds are 32-bit, as in InvokeAI, so they survive JavaScript numbers and stay easy to type.
pub const MAX_SEED: i64 = u32::MAX as i64;

/// Defaults for what a request leaves out.
pub const DEFAULT_STEPS: i64 = 25;
/// Default guidance scale.
pub const DEFAULT_CFG_SCALE: f64 = 7.5;
/// Default width and height.
pub const DEFAULT_SIDE: i64 = 512;

/// `POST /api/v1/images/generate`. Numbers are read wide so that out-of-range values get a clear
/// message naming the field, not a parse error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GenerateRequest {
    /// What to draw; 1–2000 characters (left out: refused as empty, naming the field).
    #[serde(default)]
    pub prompt: String,
    /// What to keep out.
    #[serde(default)]
    pub negative_prompt: Option<String>,
    /// 0–4294967295; random when left out.
    #[serde(default)]
    pub seed: Option<i64>,
    /// Denoising steps (default 25, at most the plan's maximum).
    #[serde(default)]
    pub steps: Option<i64>,
    /// Guidance scale, 0–30 (default 7.5).
    #[serde(default)]
    pub cfg_scale: Option<f64>,
    /// `ddim`, `euler`, `euler_a` (default), `dpmpp_2m` or `dpmpp_2m_karras`.
    #[serde(default)]
    pub scheduler: Option<String>,
    /// Pixels, a multiple of 8 from 64 to the plan's maximum (default: the model's size).
    #[serde(default)]
    pub width: Option<i64>,
    /// Pixels, as `width`.
    #[serde(default)]
    pub height: Option<i64>,
    /// Images in this request, 1 to the plan's maximum (default 1).
    #[serde(default)]
    pub batch_size: Option<i64>,
    /// A model from `GET /api/v1/models` (default: the first).
    #[serde(default)]
    pub model: Option<String>,
    /// One of the caller's boards, for the results.
    #[serde(default)]
    pub board_id: Option<BoardId>,
    /// Edit this image of mine (an upload, an asset or a generated one): image-to-image, or with
    /// a mask or a region reaching past it, inpainting and outpainting.
    #[serde(default)]
    pub init_image_id: Option<ImageId>,
    /// Grey image of the init image's size: white is repainted, black kept (needs `init_image_id`).
    #[serde(default)]
    pub mask_image_id: Option<ImageId>,
    /// How much of the init image to change, 0–1 (default 0.75; 1 with a mask).
    #[serde(default)]
    pub strength: Option<f64>,
    /// Blur of the mask's edge in pixels, 0–64 (default 4); the result is pasted back through it.
    #[serde(default)]
    pub mask_blur: Option<i64>,
    /// The part of the init image to generate, which may reach past its edges (outpainting);
    /// the whole image by default. It is scaled to `width × height`, which default to its size
    /// (scaled down to the plan's largest side if need be).
    #[serde(default)]
    pub region: Option<Region>,
    /// Keep the results out of the gallery until accepted (`POST /api/v1/images/{id}/accept`):
    /// the canvas's staging area. Deleting one discards it.
    #[serde(default)]
    pub staged: bool,
}

impl GenerateRequest {
    /// The settings a preset keeps: the request without where its images go and how many, and
    /// without the seed unless it is `kept` (a preset with a random seed draws a new one).
    #[must_use]
    pub fn as_preset(&self, seed_kept: bool) -> Self {
        Self { seed: self.seed.filter(|_| seed_kept), ..self.without_images() }
    }

    /// The settings alone: without where the images go, how many, and what images an edit
    /// starts from (a preset names no picture).
    fn without_images(&self) -> Self {
        Self {
            batch_size: None,
            board_id: None,
            init_image_id: None,
            mask_image_id: None,
            strength: None,
            mask_blur: None,
            region: None,
            staged: false,
            ..self.clone()
        }
    }

    /// A preset's settings from its stored JSON object (presets saved over REST may hold
    /// anything an object can).
    ///
    /// # Errors
    /// A message naming what does not fit, for people.
    pub fn from_preset(params: &serde_json::Value) -> Result<Self, String> {
        let request: Self = serde_json::from_value(params.clone())
            .map_err(|e| format!("This preset's settings cannot be used: {e}."))?;
        Ok(request.without_images())
    }
}

impl From<&GenerationParams> for GenerateRequest {
    /// The request that runs `params` again ("use these settings"): every field given.
    fn from(params: &GenerationParams) -> Self {
        Self {
            prompt: params.prompt.clone(),
            negative_prompt: Some(params.negative_prompt.clone()),
            seed: Some(params.seed),
            steps: Some(i64::from(params.steps)),
            cfg_scale: Some(params.cfg_scale),
            scheduler: Some(params.scheduler.as_str().to_owned()),
            width: Some(i64::from(params.width)),
            height: Some(i64::from(params.height)),
            batch_size: Some(i64::from(params.batch_size)),
            model: Some(params.model.0.clone()),
            board_id: None,
            init_image_id: params.edit.as_ref().map(|e| e.init_image_id),
            mask_image_id: params.edit.as_ref().and_then(|e| e.mask_image_id),
            strength: params.edit.as_ref().map(|e| e.strength),
            mask_blur: params.edit.as_ref().map(|e| i64::from(e.mask_blur)),
            region: params.edit.as_ref().and_then(|e| e.region),
            staged: params.staged,
        }
    }
}

/// The parameters a job runs with: checked, defaults filled in, the seed chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GenerationParams {
    /// What to draw.
    pub prompt: String,
    /// What to keep out (may be empty).
    pub negative_prompt: String,
    /// The seed of the first image; image `i` of a batch uses `seed + i`.
    pub seed: i64,
    /// Denoising steps.
    pub steps: u32,
    /// Guidance scale.
    pub cfg_scale: f64,
    /// Scheduler.
    pub scheduler: Scheduler,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Images in this job.
    pub batch_size: u32,
    /// The catalog model's name.
    pub model: ModelName,
    /// What an edit starts from; none for text-to-image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit: Option<Edit>,
    /// The results wait in the canvas's staging area, out of the gallery, until accepted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub staged: bool,
}

/// Why a request cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenerationRefusal {
    /// A value is out of range or unknown (422).
    #[error("{message}")]
    Invalid {
        /// The request field.
        field: &'static str,
        /// For people.
        message: String,
    },
    /// The value is fine, but beyond the caller's plan (403 `plan_required`).
    #[error("{message}")]
    PlanRequired {
        /// The request field.
        field: &'static str,
        /// The cheapest plan that allows it.
        plan: Plan,
        /// For people, naming that plan.
        message: String,
    },
}

fn invalid(field: &'static str, message: impl Into<String>) -> GenerationRefusal {
    GenerationRefusal::Invalid { field, message: message.into() }
}

/// A 403 naming the cheapest plan whose limits satisfy `allows`, or a 422 when no plan does.
fn beyond_plan(field: &'static str, what: &str, allows: impl Fn(&PlanLimits) -> bool) -> GenerationRefusal {
    match Plan::cheapest_where(allows) {
        Some(plan) => GenerationRefusal::PlanRequired {
            field,
            plan,
            message: format!("{what} needs the {} plan or higher. See /upgrade.", plan.display_name()),
        },
        None => invalid(field, format!("{what} is more than any plan allows.")),
    }
}

fn check_prompt(field: &'static str, text: &str, required: bool) -> Result<String, GenerationRefusal> {
    let text = text.trim();
    if required && text.is_empty() {
        return Err(invalid(field, "Describe the image you want."));
    }
    if text.chars().count() > MAX_PROMPT_CHARS {
        return Err(invalid(field, format!("Keep it to {MAX_PROMPT_CHARS} characters.")));
    }
    if crate::text::has_stray_control(text) {
        return Err(invalid(field, "Use words and punctuation; control characters are not allowed."));
    }
    Ok(text.to_owned())
}

fn check_side(
    field: &'static str,
    value: Option<i64>,
    default: u32,
    limits: &PlanLimits,
) -> Result<u32, GenerationRefusal> {
    let side = value.unwrap_or(i64::from(default));
    if side < MIN_SIDE || side % SIDE_MULTIPLE != 0 {
        return Err(invalid(
            field,
            format!("Use a multiple of {SIDE_MULTIPLE} pixels, at least {MIN_SIDE}."),
        ));
    }
    if side > i64::from(limits.max_side) {
        return Err(beyond_plan(field, &format!("A {field} of {side} pixels"), |l| {
            i64::from(l.max_side) >= side
        }));
    }
    Ok(u32::try_from(side).unwrap_or(u32::MAX))
}

/// Checks `request` against `plan` and the model `catalog` (whose first entry is the default)
/// and fills in defaults; `random_seed` is asked only when the request has no seed.
///
/// # Errors
/// The first field that is invalid (422) or beyond the plan (403).
pub fn check_request(
    request: &GenerateRequest,
    plan: Plan,
    catalog: &[ModelInfo],
    random_seed: impl FnOnce() -> i64,
) -> Result<GenerationParams, GenerationRefusal> {
    let limits = plan.limits();
    let prompt = check_prompt("prompt", &request.prompt, true)?;
    let negative_prompt =
        check_prompt("negative_prompt", request.negative_prompt.as_deref().unwrap_or(""), false)?;

    let seed = match request.seed {
        Some(seed) if !(0..=MAX_SEED).contains(&seed) => {
            return Err(invalid("seed", format!("Use a seed from 0 to {MAX_SEED}.")));
        }
        Some(seed) => seed,
        None => random_seed().rem_euclid(MAX_SEED + 1),
    };

    let steps = request.steps.unwrap_or_else(|| DEFAULT_STEPS.min(i64::from(limits.max_steps)));
    if !(STEPS_RANGE.0..=STEPS_RANGE.1).contains(&steps) {
        return Err(invalid("steps", format!("Use {} to {} steps.", STEPS_RANGE.0, STEPS_RANGE.1)));
    }
    if steps > i64::from(limits.max_steps) {
        return Err(beyond_plan("steps", &format!("{steps} steps"), |l| i64::from(l.max_steps) >= steps));
    }

    let cfg_scale = request.cfg_scale.unwrap_or(DEFAULT_CFG_SCALE);
    if !cfg_scale.is_finite() || !(CFG_RANGE.0..=CFG_RANGE.1).contains(&cfg_scale) {
        return Err(invalid(
            "cfg_scale",
            format!("Use a guidance scale from {} to {}.", CFG_RANGE.0, CFG_RANGE.1),
        ));
    }

    let scheduler = match request.scheduler.as_deref() {
        None => Scheduler::EulerA,
        Some(name) => Scheduler::parse(name).ok_or_else(|| {
            let names: Vec<_> = Scheduler::ALL.iter().map(|s| s.as_str()).collect();
            invalid("scheduler", format!("Choose one of: {}.", names.join(", ")))
        })?,
    };

    let model = match request.model.as_deref() {
        None => catalog.first().ok_or_else(|| invalid("model", "No model is installed yet."))?,
        Some(name) => catalog
            .iter()
            .find(|m| m.name.as_str() == name)
            .ok_or_else(|| invalid("model", "There is no model of that name. See GET /api/v1/models."))?,
    };
    if !model.open_to(plan) {
        return Err(GenerationRefusal::PlanRequired {
            field: "model",
            plan: model.min_plan,
            message: format!(
                "The model {} needs the {} plan or higher. See /upgrade.",
                model.title,
                model.min_plan.display_name()
            ),
        });
    }

    let edit = check_edit(request)?;
    let width = check_side("width", request.width, model.default_side, &limits)?;
    let height = check_side("height", request.height, model.default_side, &limits)?;

    let batch = request.batch_size.unwrap_or(1);
    if batch < 1 {
        return Err(invalid("batch_size", "Ask for at least one image."));
    }
    if batch > i64::from(limits.max_batch) {
        return Err(beyond_plan("batch_size", &format!("A batch of {batch}"), |l| {
            i64::from(l.max_batch) >= batch
        }));
    }

    Ok(GenerationParams {
        prompt,
        negative_prompt,
        seed,
        steps: u32::try_from(steps).unwrap_or(u32::MAX),
        cfg_scale,
        scheduler,
        width,
        height,
        batch_size: u32::try_from(batch).unwrap_or(u32::MAX),
        model: model.name.clone(),
        edit,
        staged: request.staged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jobs_parameters_recalled_as_a_request_check_back_to_the_same_parameters() {
        let original = GenerateRequest {
            prompt: "a penguin".into(),
            seed: Some(42),
            steps: Some(12),
            scheduler: Some("ddim".into()),
            batch_size: Some(2),
            ..GenerateRequest::default()
        };
        let params = check(&original, Plan::Studio).unwrap();
        let recalled = GenerateRequest::from(&params);
        assert_eq!(check(&recalled, Plan::Studio).unwrap(), params);

        let canvas_job = GenerateRequest {
            init_image_id: Some(ImageId(uuid::Uuid::from_u128(3))),
            mask_image_id: Some(ImageId(uuid::Uuid::from_u128(4))),
            mask_blur: Some(0),
            region: Some(Region { x: 32, y: 0, width: 96, height: 64 }),
            staged: true,
            ..original
        };
        let params = check(&canvas_job, Plan::Studio).unwrap();
        assert_eq!(params.edit.as_ref().map(|e| e.strength), Some(1.0), "a mask's default strength");
        assert_eq!(check(&GenerateRequest::from(&params), Plan::Studio).unwrap(), params);
    }

    #[test]
    fn a_preset_keeps_the_settings_but_not_the_board_the_batch_or_a_random_seed() {
        let request = GenerateRequest {
            prompt: "a penguin".into(),
            seed: Some(7),
            steps: Some(30),
            batch_size: Some(4),
            board_id: Some(BoardId(uuid::Uuid::nil())),
            init_image_id: Some(ImageId(uuid::Uuid::nil())),
            strength: Some(0.5),
            staged: true,
            ..GenerateRequest::default()
        };
        let saved = serde_json::to_value(request.as_preset(false)).unwrap();
        let loaded = GenerateRequest::from_preset(&saved).unwrap();
        assert_eq!(
            loaded,
            GenerateRequest { prompt: "a penguin".into(), steps: Some(30), ..GenerateRequest::default() },
            "a preset names no picture"
        );
        assert_eq!(
            GenerateRequest::from_preset(&serde_json::to_value(request.as_preset(true)).unwrap())
                .unwrap()
                .seed,
            Some(7)
        );
        // Older presets hold only some fields, or none.
        let old = GenerateRequest::from_preset(&serde_json::json!({"prompt": "x", "steps": null})).unwrap();
        assert_eq!((old.prompt.as_str(), old.steps), ("x", None));
        assert!(GenerateRequest::from_preset(&serde_json::json!({})).is_ok());
        let bad = GenerateRequest::from_preset(&serde_json::json!({"steps": "many"})).unwrap_err();
        assert!(bad.contains("cannot be used"), "{bad}");
    }

    fn catalog() -> Vec<ModelInfo> {
        vec![
            ModelInfo {
                name: "tiny-sd".into(),
                title: "Tiny SD".into(),
                min_plan: Plan::Free,
                default_side: 512,
            },
            ModelInfo { name: "big".into(), title: "Big".into(), min_plan: Plan::Studio, default_side: 768 },
        ]
    }

    fn request(prompt: &str) -> GenerateRequest {
        GenerateRequest { prompt: prompt.into(), ..GenerateRequest::default() }
    }

    fn check(request: &GenerateRequest, plan: Plan) -> Result<GenerationParams, GenerationRefusal> {
        check_request(request, plan, &catalog(), || 42)
    }

    fn refused_field(result: Result<GenerationParams, GenerationRefusal>) -> (&'static str, Option<Plan>) {
        match result.unwrap_err() {
            GenerationRefusal::Invalid { field, .. } => (field, None),
            GenerationRefusal::PlanRequired { field, plan, .. } => (field, Some(plan)),
        }
    }

    #[test]
    fn defaults_fill_in_and_the_seed_is_drawn_only_when_missing() {
        let params = check(&request("  a penguin  "), Plan::Free).unwrap();
        assert_eq!(params.prompt, "a penguin");
        assert_eq!(
            (params.seed, params.steps, params.width, params.height, params.batch_size),
            (42, 25, 512, 512, 1)
        );
        assert_eq!((params.scheduler, params.model.as_str()), (Scheduler::EulerA, "tiny-sd"));
        let seeded = GenerateRequest { seed: Some(7), ..request("x") };
        assert_eq!(check_request(&seeded, Plan::Free, &catalog(), || unreachable!()).unwrap().seed, 7);
        assert_eq!(check_request(&request("x"), Plan::Free, &catalog(), || -1).unwrap().seed, MAX_SEED);
    }

    #[test]
    fn out_of_range_values_are_invalid_and_name_their_field() {
        let cases = [
            (request("   "), "prompt"),
            (request(&"x".repeat(MAX_PROMPT_CHARS + 1)), "prompt"),
            (GenerateRequest { seed: Some(-1), ..request("x") }, "seed"),
            (GenerateRequest { seed: Some(MAX_SEED + 1), ..request("x") }, "seed"),
            (GenerateRequest { steps: Some(0), ..request("x") }, "steps"),
            (GenerateRequest { steps: Some(151), ..request("x") }, "steps"),
            (GenerateRequest { cfg_scale: Some(f64::NAN), ..request("x") }, "cfg_scale"),
            (GenerateRequest { cfg_scale: Some(31.0), ..request("x") }, "cfg_scale"),
            (GenerateRequest { scheduler: Some("pndm".into()), ..request("x") }, "scheduler"),
            (GenerateRequest { width: Some(500), ..request("x") }, "width"),
            (GenerateRequest { height: Some(56), ..request("x") }, "height"),
            (GenerateRequest { width: Some(4096), ..request("x") }, "width"),
            (GenerateRequest { batch_size: Some(0), ..request("x") }, "batch_size"),
            (GenerateRequest { batch_size: Some(17), ..request("x") }, "batch_size"),
            (GenerateRequest { model: Some("nope".into()), ..request("x") }, "model"),
        ];
        for (request, field) in cases {
            assert_eq!(refused_field(check(&request, Plan::Enterprise)), (field, None), "{request:?}");
        }
    }

    #[test]
    fn values_beyond_the_plan_name_the_cheapest_plan_that_allows_them() {
        let cases = [
            (GenerateRequest { steps: Some(31), ..request("x") }, "steps", Plan::Pro),
            (GenerateRequest { steps: Some(120), ..request("x") }, "steps", Plan::Enterprise),
            (GenerateRequest { width: Some(1024), ..request("x") }, "width", Plan::Pro),
            (GenerateRequest { height: Some(1536), ..request("x") }, "height", Plan::Studio),
            (GenerateRequest { batch_size: Some(2), ..request("x") }, "batch_size", Plan::Pro),
            (GenerateRequest { model: Some("big".into()), ..request("x") }, "model", Plan::Studio),
        ];
        for (request, field, plan) in cases {
            assert_eq!(refused_field(check(&request, Plan::Free)), (field, Some(plan)), "{request:?}");
        }
        let everything = GenerateRequest {
            steps: Some(100),
            width: Some(1536),
            batch_size: Some(8),
            model: Some("big".into()),
            ..request("x")
        };
        assert!(check(&everything, Plan::Studio).is_ok());
    }
}
