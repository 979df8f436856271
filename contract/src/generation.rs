//! Generation requests and jobs: the request as sent, the pure check that turns it into the
//! parameters a job runs with (against the caller's plan and the model catalog), and the job as
//! clients see it. Server and UI run the same check, so a form never promises what the server
//! then refuses.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{BoardId, ImageId, JobId, ModelName};

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

/// A sampling scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Scheduler {
    /// DDIM.
    Ddim,
    /// Euler.
    Euler,
    /// Euler ancestral.
    EulerA,
    /// DPM++ 2M.
    #[serde(rename = "dpmpp_2m")]
    DpmPp2m,
    /// DPM++ 2M with Karras sigmas.
    #[serde(rename = "dpmpp_2m_karras")]
    DpmPp2mKarras,
}

impl Scheduler {
    /// Every scheduler.
    pub const ALL: [Self; 5] = [Self::Ddim, Self::Euler, Self::EulerA, Self::DpmPp2m, Self::DpmPp2mKarras];

    /// Its name in requests.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ddim => "ddim",
            Self::Euler => "euler",
            Self::EulerA => "euler_a",
            Self::DpmPp2m => "dpmpp_2m",
            Self::DpmPp2mKarras => "dpmpp_2m_karras",
        }
    }

    /// The name people read.
    #[must_use]
    pub const fn display_name(self) -> &'static str {
        match self {
            Self::Ddim => "DDIM",
            Self::Euler => "Euler",
            Self::EulerA => "Euler ancestral",
            Self::DpmPp2m => "DPM++ 2M",
            Self::DpmPp2mKarras => "DPM++ 2M Karras",
        }
    }

    /// The scheduler a request names.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A model people may choose: an entry of the operator's catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelInfo {
    /// What requests name it by.
    pub name: ModelName,
    /// What people read.
    pub title: String,
    /// The cheapest plan that may use it.
    pub min_plan: Plan,
    /// Width and height a request gets when it names none (the size the model was trained at).
    #[serde(default = "default_side")]
    pub default_side: u32,
}

impl ModelInfo {
    /// Whether `plan` may use this model: the one rule the request check, the REST model list and
    /// the pages all apply.
    #[must_use]
    pub fn open_to(&self, plan: Plan) -> bool {
        plan >= self.min_plan
    }
}

const fn default_side() -> u32 {
    DEFAULT_SIDE as u32
}

/// `GET /api/v1/models`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelList {
    /// Models the caller's plan may use; the first is the default.
    pub items: Vec<ModelInfo>,
}

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
}

impl GenerateRequest {
    /// The settings a preset keeps: the request without where its images go and how many, and
    /// without the seed unless it is `kept` (a preset with a random seed draws a new one).
    #[must_use]
    pub fn as_preset(&self, seed_kept: bool) -> Self {
        Self { seed: self.seed.filter(|_| seed_kept), batch_size: None, board_id: None, ..self.clone() }
    }

    /// A preset's settings from its stored JSON object (presets saved over REST may hold
    /// anything an object can).
    ///
    /// # Errors
    /// A message naming what does not fit, for people.
    pub fn from_preset(params: &serde_json::Value) -> Result<Self, String> {
        let request: Self = serde_json::from_value(params.clone())
            .map_err(|e| format!("This preset's settings cannot be used: {e}."))?;
        Ok(Self { board_id: None, batch_size: None, ..request })
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
    })
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker is on it.
    Running,
    /// Its images exist.
    Completed,
    /// It stopped with an error; unproduced images were refunded.
    Failed,
    /// Cancelled; unproduced images were refunded.
    Cancelled,
}

impl JobStatus {
    /// Every status.
    pub const ALL: [Self; 5] = [Self::Queued, Self::Running, Self::Completed, Self::Failed, Self::Cancelled];

    /// Its stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// The status a stored name denotes.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether nothing more will happen to the job.
    #[must_use]
    pub const fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// A generation job as its owner sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    /// Its id.
    pub job_id: JobId,
    /// Where it is.
    pub status: JobStatus,
    /// What it makes.
    pub params: GenerationParams,
    /// The board its images go to.
    pub board_id: Option<BoardId>,
    /// Steps done so far, of `progress_total`.
    pub progress_step: i32,
    /// Steps in all (steps × batch).
    pub progress_total: i32,
    /// Images charged to this month's quota (refunds already subtracted).
    pub images_charged: i32,
    /// Why it failed, for people.
    pub error: Option<String>,
    /// The images it made.
    pub image_ids: Vec<ImageId>,
    /// When it was accepted.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    /// When a worker started it.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub started_at: Option<OffsetDateTime>,
    /// When it finished.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub finished_at: Option<OffsetDateTime>,
}

/// `POST /api/v1/images/generate` → 202.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobAccepted {
    /// The queued job.
    pub job: Job,
    /// Its live progress (`GET /api/v1/jobs/{id}/events`) by a signed link that works for an
    /// hour without the bearer token, for `EventSource`.
    pub events_url: String,
}

/// `GET /api/v1/jobs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobList {
    /// The caller's jobs, newest first.
    pub items: Vec<Job>,
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
    }

    #[test]
    fn a_preset_keeps_the_settings_but_not_the_board_the_batch_or_a_random_seed() {
        let request = GenerateRequest {
            prompt: "a penguin".into(),
            seed: Some(7),
            steps: Some(30),
            batch_size: Some(4),
            board_id: Some(BoardId(uuid::Uuid::nil())),
            ..GenerateRequest::default()
        };
        let saved = serde_json::to_value(request.as_preset(false)).unwrap();
        let loaded = GenerateRequest::from_preset(&saved).unwrap();
        assert_eq!(
            loaded,
            GenerateRequest { seed: None, batch_size: None, board_id: None, ..request.clone() }
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

    #[test]
    fn names_round_trip() {
        for s in Scheduler::ALL {
            assert_eq!(Scheduler::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in JobStatus::ALL {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
