//! Sampling schedulers as diffusers defines them, in plain `f64` over flat slices: no tensors,
//! no randomness inside (noise is passed in), so a run is reproducible and every step can be
//! compared with diffusers' own numbers.

pub mod config;
pub mod ddim;
pub mod dpm_solver;
pub mod euler;
pub mod sigmas;

use std::fmt;
use std::str::FromStr;

pub use config::{BetaSchedule, PredictionType, SchedulerConfig, SchedulerError, TimestepSpacing};
pub use ddim::DdimScheduler;
pub use dpm_solver::DpmSolverScheduler;
pub use euler::EulerScheduler;

/// The schedulers a user can pick, by the names the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchedulerKind {
    /// DDIM, deterministic.
    Ddim,
    /// Euler.
    Euler,
    /// Euler ancestral (fresh noise at every step).
    EulerAncestral,
    /// DPM-Solver++ 2M.
    DpmPp2m,
    /// DPM-Solver++ 2M on Karras noise levels.
    DpmPp2mKarras,
}

impl SchedulerKind {
    /// Every scheduler, in the order the UI lists them.
    pub const ALL: [Self; 5] =
        [Self::Ddim, Self::Euler, Self::EulerAncestral, Self::DpmPp2m, Self::DpmPp2mKarras];

    /// The API name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ddim => "ddim",
            Self::Euler => "euler",
            Self::EulerAncestral => "euler_a",
            Self::DpmPp2m => "dpmpp_2m",
            Self::DpmPp2mKarras => "dpmpp_2m_karras",
        }
    }
}

impl fmt::Display for SchedulerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SchedulerKind {
    type Err = SchedulerError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|kind| kind.name() == name).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|k| k.name()).collect();
            SchedulerError::Unsupported(format!("unknown scheduler {name:?} (known: {})", known.join(", ")))
        })
    }
}

/// A scheduler of any kind, set to a number of steps: what the pipeline drives.
#[derive(Debug, Clone)]
pub enum Scheduler {
    /// DDIM.
    Ddim(DdimScheduler),
    /// Euler or Euler ancestral.
    Euler(EulerScheduler),
    /// DPM-Solver++ 2M, with or without Karras sigmas.
    DpmSolver(DpmSolverScheduler),
}

impl Scheduler {
    /// `kind` built from a model's scheduler config (its betas, prediction type and spacing;
    /// each kind's own defaults for the rest), for `steps` inference steps.
    ///
    /// # Errors
    /// Zero steps or more than the training timesteps.
    pub fn new(kind: SchedulerKind, config: &SchedulerConfig, steps: usize) -> Result<Self, SchedulerError> {
        Ok(match kind {
            SchedulerKind::Ddim => Self::Ddim(DdimScheduler::new(config.clone(), steps)?),
            SchedulerKind::Euler => Self::Euler(EulerScheduler::new(config, steps, false)?),
            SchedulerKind::EulerAncestral => Self::Euler(EulerScheduler::new(config, steps, true)?),
            SchedulerKind::DpmPp2m => Self::DpmSolver(DpmSolverScheduler::new(config, steps, false)?),
            SchedulerKind::DpmPp2mKarras => Self::DpmSolver(DpmSolverScheduler::new(config, steps, true)?),
        })
    }

    /// The timesteps given to the model, noisiest first; one per step.
    #[must_use]
    pub fn timesteps(&self) -> Vec<f64> {
        match self {
            #[allow(clippy::cast_precision_loss)]
            Self::Ddim(s) => s.timesteps().iter().map(|&t| t as f64).collect(),
            Self::Euler(s) => s.timesteps().to_vec(),
            Self::DpmSolver(s) => s.timesteps().to_vec(),
        }
    }

    /// The scale of the initial noise.
    #[must_use]
    pub const fn init_noise_sigma(&self) -> f64 {
        match self {
            Self::Euler(s) => s.init_noise_sigma(),
            Self::Ddim(_) | Self::DpmSolver(_) => 1.0,
        }
    }

    /// What the sample is multiplied by before the model sees it at step `i`.
    #[must_use]
    pub fn input_scale(&self, i: usize) -> f64 {
        match self {
            Self::Euler(s) => s.input_scale(i),
            Self::Ddim(_) | Self::DpmSolver(_) => 1.0,
        }
    }

    /// Whether [`Self::step`] needs fresh standard-normal noise.
    #[must_use]
    pub const fn needs_noise(&self) -> bool {
        match self {
            Self::Euler(s) => s.needs_noise(),
            Self::Ddim(_) | Self::DpmSolver(_) => false,
        }
    }

    /// The first step of a run that starts part way, as diffusers' `get_timesteps` picks it for
    /// image-to-image and inpainting: `steps − min(⌊steps × strength⌋, steps)`. The run then
    /// takes steps `start..steps` (`set_begin_index(start)`); `start == steps` means none.
    #[must_use]
    pub fn start_for_strength(&self, strength: f64) -> usize {
        let steps = self.timesteps().len();
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let init = ((steps as f64 * strength).floor().max(0.0) as usize).min(steps);
        steps - init
    }

    /// `original` noised to the level of step `i` with standard-normal `noise`, as each
    /// scheduler's `add_noise` does once `set_begin_index` is set: DDIM with the training
    /// `ᾱ` of timestep `i` (`√ᾱ·x + √(1−ᾱ)·n`), Euler `x + σᵢ·n`, DPM-Solver
    /// `αᵢ·x + σᵢ·n` with `αᵢ = 1/√(σᵢ²+1)` (its variance-preserving form).
    ///
    /// # Panics
    /// If the slices differ in length or `i` is past the last step (programming errors).
    #[must_use]
    pub fn add_noise(&self, original: &[f64], noise: &[f64], i: usize) -> Vec<f64> {
        assert_eq!(original.len(), noise.len(), "sample and noise differ in size");
        let (signal, noise_scale) = match self {
            Self::Ddim(s) => s.noise_scales(i),
            Self::Euler(s) => (1.0, s.sigma(i)),
            Self::DpmSolver(s) => s.noise_scales(i),
        };
        original.iter().zip(noise).map(|(&x, &n)| signal * x + noise_scale * n).collect()
    }

    /// Step `i` (steps are taken in order, from 0): the next sample from this one and the
    /// model's output for it. `noise` is read only where [`Self::needs_noise`].
    ///
    /// # Panics
    /// If the slices differ in length, `i` is out of order or range, or noise is needed and
    /// missing (programming errors).
    pub fn step(
        &mut self,
        i: usize,
        model_output: &[f64],
        sample: &[f64],
        noise: Option<&[f64]>,
    ) -> Vec<f64> {
        match self {
            Self::Ddim(s) => s.step(model_output, s.timesteps()[i], sample),
            Self::Euler(s) => s.step(i, model_output, sample, noise),
            Self::DpmSolver(s) => s.step(i, model_output, sample),
        }
    }
}
