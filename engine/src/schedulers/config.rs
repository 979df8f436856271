//! A diffusers `scheduler/scheduler_config.json`, the training noise schedule it describes, and
//! the inference timesteps each spacing picks.

use serde::Deserialize;

/// How betas grow over the training timesteps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BetaSchedule {
    /// Evenly spaced betas.
    Linear,
    /// Evenly spaced square roots of betas (Stable Diffusion).
    ScaledLinear,
}

/// What the UNet predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PredictionType {
    /// The noise (SD 1.x, SD 2.x base, SD-Turbo).
    Epsilon,
    /// The velocity (SD 2.x 768).
    VPrediction,
}

/// Which training timesteps inference visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimestepSpacing {
    /// Evenly from the start, plus `steps_offset` (SD 1.x/2.x).
    Leading,
    /// Evenly from the end (SD-Turbo).
    Trailing,
    /// Evenly over the whole range, rounded.
    Linspace,
}

/// The fields of `scheduler_config.json` the schedulers read (defaults as diffusers').
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SchedulerConfig {
    /// Training timesteps.
    #[serde(default = "default_train_timesteps")]
    pub num_train_timesteps: usize,
    /// First beta.
    #[serde(default = "default_beta_start")]
    pub beta_start: f64,
    /// Last beta.
    #[serde(default = "default_beta_end")]
    pub beta_end: f64,
    /// Beta schedule.
    #[serde(default = "default_beta_schedule")]
    pub beta_schedule: BetaSchedule,
    /// What the model predicts.
    #[serde(default = "default_prediction")]
    pub prediction_type: PredictionType,
    /// Timestep spacing; when the model's config has none, each scheduler uses its own default
    /// (leading for DDIM, linspace for the others), as diffusers' `from_config` does.
    #[serde(default)]
    pub timestep_spacing: Option<TimestepSpacing>,
    /// Added to leading timesteps.
    #[serde(default)]
    pub steps_offset: usize,
    /// DDIM: the "previous" alpha of the last step is 1 (else the first training alpha).
    #[serde(default = "default_true")]
    pub set_alpha_to_one: bool,
    /// Clipping the predicted sample is not supported (Stable Diffusion never does).
    #[serde(default)]
    pub clip_sample: bool,
}

const fn default_train_timesteps() -> usize {
    1000
}
const fn default_beta_start() -> f64 {
    0.0001
}
const fn default_beta_end() -> f64 {
    0.02
}
const fn default_beta_schedule() -> BetaSchedule {
    BetaSchedule::Linear
}
const fn default_prediction() -> PredictionType {
    PredictionType::Epsilon
}
const fn default_true() -> bool {
    true
}

/// A scheduler cannot be set up or stepped as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchedulerError {
    /// The configuration asks for something not implemented or inconsistent.
    #[error("unsupported scheduler configuration: {0}")]
    Unsupported(String),
    /// Zero steps, or more than the training timesteps.
    #[error("cannot take {steps} steps over {train} training timesteps")]
    Steps {
        /// Asked for.
        steps: usize,
        /// Available.
        train: usize,
    },
}

impl SchedulerConfig {
    /// Parses a `scheduler_config.json`.
    ///
    /// # Errors
    /// Malformed JSON or an unsupported setting, described.
    pub fn from_json(text: &str) -> Result<Self, SchedulerError> {
        let config: Self =
            serde_json::from_str(text).map_err(|e| SchedulerError::Unsupported(e.to_string()))?;
        if config.clip_sample {
            return Err(SchedulerError::Unsupported("clip_sample = true".into()));
        }
        if config.num_train_timesteps < 2
            || !(config.beta_start > 0.0 && config.beta_end >= config.beta_start)
        {
            return Err(SchedulerError::Unsupported("the beta range or timestep count".into()));
        }
        Ok(config)
    }

    /// The cumulative products of `1 - beta` over the training timesteps. Computed in `f32`,
    /// as diffusers does, so the numbers are the reference's exactly.
    #[must_use]
    pub fn alphas_cumprod(&self) -> Vec<f64> {
        let n = self.num_train_timesteps;
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let (start, end, last) = match self.beta_schedule {
            BetaSchedule::Linear => (self.beta_start as f32, self.beta_end as f32, (n - 1) as f32),
            BetaSchedule::ScaledLinear => {
                (self.beta_start.sqrt() as f32, self.beta_end.sqrt() as f32, (n - 1) as f32)
            }
        };
        let mut product = 1.0_f32;
        (0..n)
            .map(|i| {
                // torch.linspace: start + i * step, with the second half counted from the end.
                #[allow(clippy::cast_precision_loss)]
                let (i_f, rest) = (i as f32, (n - 1 - i) as f32);
                let step = (end - start) / last;
                let value = if i < n / 2 { start + step * i_f } else { end - step * rest };
                let beta = match self.beta_schedule {
                    BetaSchedule::Linear => value,
                    BetaSchedule::ScaledLinear => value * value,
                };
                product *= 1.0 - beta;
                f64::from(product)
            })
            .collect()
    }

    /// The noise level of each training timestep, `sqrt((1 - ᾱ) / ᾱ)`, rounded to `f32` as
    /// diffusers keeps it.
    #[must_use]
    pub fn training_sigmas(&self) -> Vec<f64> {
        #[allow(clippy::cast_possible_truncation)]
        self.alphas_cumprod()
            .into_iter()
            .map(|a| {
                let a = a as f32;
                f64::from(((1.0 - a) / a).sqrt())
            })
            .collect()
    }

    /// The configured spacing, or `default` where the config names none.
    #[must_use]
    pub fn spacing_or(&self, default: TimestepSpacing) -> TimestepSpacing {
        self.timestep_spacing.unwrap_or(default)
    }

    /// Checks an inference step count against the training timesteps.
    ///
    /// # Errors
    /// Zero steps or more than the training timesteps.
    pub fn check_steps(&self, steps: usize) -> Result<(), SchedulerError> {
        let train = self.num_train_timesteps;
        if steps == 0 || steps > train { Err(SchedulerError::Steps { steps, train }) } else { Ok(()) }
    }

    /// The integer training timesteps `steps` inference steps visit, from noisiest to cleanest,
    /// as DDIM picks them (leading spacing unless the config says otherwise).
    ///
    /// # Errors
    /// Zero steps or more than the training timesteps.
    pub fn timesteps(&self, steps: usize) -> Result<Vec<usize>, SchedulerError> {
        self.check_steps(steps)?;
        let train = self.num_train_timesteps;
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let timesteps = match self.spacing_or(TimestepSpacing::Leading) {
            TimestepSpacing::Leading => {
                let ratio = train / steps;
                (0..steps).rev().map(|i| i * ratio + self.steps_offset).collect()
            }
            TimestepSpacing::Trailing => {
                // np.round(np.arange(train, 0, -train / steps)) - 1
                let stride = train as f64 / steps as f64;
                (0..)
                    .map(|i| train as f64 - f64::from(i) * stride)
                    .take_while(|t| *t > 0.0)
                    .map(|t| (t.round_ties_even() as usize).saturating_sub(1))
                    .collect()
            }
            TimestepSpacing::Linspace => {
                // np.linspace(0, train - 1, steps).round()[::-1]
                let last = (train - 1) as f64;
                let denominator = (steps.max(2) - 1) as f64;
                (0..steps).rev().map(|i| (last * i as f64 / denominator).round_ties_even() as usize).collect()
            }
        };
        Ok(timesteps)
    }
}
