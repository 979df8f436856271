//! Euler and Euler ancestral (Karras et al.'s sampler over noise levels), as diffusers'
//! `EulerDiscreteScheduler` (no churn) and `EulerAncestralDiscreteScheduler`.

use super::config::{PredictionType, SchedulerConfig, SchedulerError, TimestepSpacing};
use super::sigmas::interpolate_sigmas;

/// Euler, plain or ancestral, set to a number of inference steps.
#[derive(Debug, Clone)]
pub struct EulerScheduler {
    prediction: PredictionType,
    ancestral: bool,
    timesteps: Vec<f64>,
    /// One per step, then 0.
    sigmas: Vec<f64>,
    init_noise_sigma: f64,
}

impl EulerScheduler {
    /// A scheduler for `steps` inference steps; `ancestral` adds fresh noise at every step.
    ///
    /// # Errors
    /// Zero steps or more than the training timesteps.
    pub fn new(config: &SchedulerConfig, steps: usize, ancestral: bool) -> Result<Self, SchedulerError> {
        config.check_steps(steps)?;
        let spacing = config.spacing_or(TimestepSpacing::Linspace);
        let timesteps = float_timesteps(config, steps, spacing);
        let mut sigmas = interpolate_sigmas(&config.training_sigmas(), &timesteps);
        sigmas.push(0.0);
        let max_sigma = sigmas.iter().copied().fold(0.0, f64::max);
        let init_noise_sigma = match spacing {
            TimestepSpacing::Linspace | TimestepSpacing::Trailing => max_sigma,
            TimestepSpacing::Leading => max_sigma.mul_add(max_sigma, 1.0).sqrt(),
        };
        Ok(Self { prediction: config.prediction_type, ancestral, timesteps, sigmas, init_noise_sigma })
    }

    /// The timesteps given to the model (fractional for linspace spacing), noisiest first.
    #[must_use]
    pub fn timesteps(&self) -> &[f64] {
        &self.timesteps
    }

    /// The scale of the initial noise.
    #[must_use]
    pub const fn init_noise_sigma(&self) -> f64 {
        self.init_noise_sigma
    }

    /// What the sample is multiplied by before the model sees it at step `i`.
    #[must_use]
    pub fn input_scale(&self, i: usize) -> f64 {
        1.0 / self.sigmas[i].mul_add(self.sigmas[i], 1.0).sqrt()
    }

    /// The noise level of step `i` (`add_noise` adds noise of this scale).
    ///
    /// # Panics
    /// If `i` is past the last step (a programming error).
    #[must_use]
    pub fn sigma(&self, i: usize) -> f64 {
        self.sigmas[i]
    }

    /// Whether [`Self::step`] needs fresh noise.
    #[must_use]
    pub const fn needs_noise(&self) -> bool {
        self.ancestral
    }

    /// Step `i`: from `sample` and the model's output, the sample at the next noise level.
    /// `noise` (standard normal, the sample's size) is used by the ancestral variant only.
    ///
    /// # Panics
    /// If the slices differ in length, `i` is past the last step, or the ancestral variant gets
    /// no noise (programming errors).
    #[must_use]
    pub fn step(&self, i: usize, model_output: &[f64], sample: &[f64], noise: Option<&[f64]>) -> Vec<f64> {
        assert_eq!(model_output.len(), sample.len(), "model output and sample differ in size");
        let (sigma, sigma_next) = (self.sigmas[i], self.sigmas[i + 1]);
        // Ancestral: go down to sigma_down deterministically, then add noise of sigma_up.
        let (target, sigma_up) = if self.ancestral {
            let up = (sigma_next * sigma_next * (sigma * sigma - sigma_next * sigma_next) / (sigma * sigma))
                .sqrt();
            ((sigma_next * sigma_next - up * up).sqrt(), up)
        } else {
            (sigma_next, 0.0)
        };
        let noise = noise.filter(|_| self.ancestral);
        assert!(
            !self.ancestral || noise.is_some_and(|n| n.len() == sample.len()),
            "ancestral steps need noise"
        );
        let dt = target - sigma;
        let v_scale = -sigma / sigma.mul_add(sigma, 1.0).sqrt();
        let v_sample = 1.0 / sigma.mul_add(sigma, 1.0);
        model_output
            .iter()
            .zip(sample)
            .enumerate()
            .map(|(k, (&out, &x))| {
                let x0 = match self.prediction {
                    PredictionType::Epsilon => x - sigma * out,
                    PredictionType::VPrediction => out * v_scale + x * v_sample,
                };
                let derivative = (x - x0) / sigma;
                let next = x + derivative * dt;
                noise.map_or(next, |n| next + n[k] * sigma_up)
            })
            .collect()
    }
}

/// The model timesteps of Euler-style schedulers: like DDIM's, but kept as `f32` floats
/// (linspace spacing is not rounded).
#[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
fn float_timesteps(config: &SchedulerConfig, steps: usize, spacing: TimestepSpacing) -> Vec<f64> {
    let train = config.num_train_timesteps;
    let values: Vec<f64> = match spacing {
        TimestepSpacing::Linspace => {
            // np.linspace(0, train - 1, steps, dtype=float32)[::-1]: i * step, the last exact.
            let last = (train - 1) as f64;
            let step = if steps > 1 { last / (steps - 1) as f64 } else { 0.0 };
            (0..steps)
                .rev()
                .map(|i| if i + 1 == steps && steps > 1 { last } else { i as f64 * step })
                .collect()
        }
        TimestepSpacing::Leading => {
            let ratio = train / steps;
            (0..steps).rev().map(|i| (i * ratio + config.steps_offset) as f64).collect()
        }
        TimestepSpacing::Trailing => {
            let stride = train as f64 / steps as f64;
            (0..)
                .map(|i| train as f64 - f64::from(i) * stride)
                .take_while(|t| *t > 0.0)
                .map(|t| t.round_ties_even() - 1.0)
                .collect()
        }
    };
    values.into_iter().map(|t| f64::from(t as f32)).collect()
}
