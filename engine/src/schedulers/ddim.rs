//! DDIM (Song et al.), deterministic (`eta = 0`), as diffusers' `DDIMScheduler.step`.

use super::config::{PredictionType, SchedulerConfig, SchedulerError};

/// A DDIM scheduler set to a number of inference steps.
#[derive(Debug, Clone)]
pub struct DdimScheduler {
    config: SchedulerConfig,
    alphas_cumprod: Vec<f64>,
    final_alpha_cumprod: f64,
    timesteps: Vec<usize>,
}

impl DdimScheduler {
    /// A scheduler for `steps` inference steps.
    ///
    /// # Errors
    /// Zero steps or more than the training timesteps.
    pub fn new(config: SchedulerConfig, steps: usize) -> Result<Self, SchedulerError> {
        let alphas_cumprod = config.alphas_cumprod();
        let final_alpha_cumprod = if config.set_alpha_to_one { 1.0 } else { alphas_cumprod[0] };
        let timesteps = config.timesteps(steps)?;
        Ok(Self { config, alphas_cumprod, final_alpha_cumprod, timesteps })
    }

    /// The training timesteps, noisiest first.
    #[must_use]
    pub fn timesteps(&self) -> &[usize] {
        &self.timesteps
    }

    /// The signal and noise scales of `add_noise` at step `i`: `(√ᾱ, √(1−ᾱ))` of its timestep.
    ///
    /// # Panics
    /// If `i` is past the last step (a programming error).
    #[must_use]
    pub fn noise_scales(&self, i: usize) -> (f64, f64) {
        let alpha = self.alphas_cumprod[self.timesteps[i]];
        (alpha.sqrt(), (1.0 - alpha).sqrt())
    }

    /// One denoising step at training timestep `t`: from `sample` and the model's output for it,
    /// the sample at the previous timestep.
    ///
    /// # Panics
    /// If the slices differ in length or `t` is not a training timestep (programming errors).
    #[must_use]
    pub fn step(&self, model_output: &[f64], t: usize, sample: &[f64]) -> Vec<f64> {
        assert_eq!(model_output.len(), sample.len(), "model output and sample differ in size");
        // diffusers steps back by train / steps whatever the spacing.
        let back = self.config.num_train_timesteps / self.timesteps.len();
        let alpha_t = self.alphas_cumprod[t];
        let alpha_prev = t.checked_sub(back).map_or(self.final_alpha_cumprod, |p| self.alphas_cumprod[p]);
        let (sqrt_alpha, sqrt_beta) = (alpha_t.sqrt(), (1.0 - alpha_t).sqrt());
        let (sqrt_alpha_prev, direction) = (alpha_prev.sqrt(), (1.0 - alpha_prev).sqrt());
        model_output
            .iter()
            .zip(sample)
            .map(|(&out, &x)| {
                let (x0, eps) = match self.config.prediction_type {
                    PredictionType::Epsilon => ((x - sqrt_beta * out) / sqrt_alpha, out),
                    PredictionType::VPrediction => {
                        (sqrt_alpha * x - sqrt_beta * out, sqrt_alpha * out + sqrt_beta * x)
                    }
                };
                sqrt_alpha_prev * x0 + direction * eps
            })
            .collect()
    }
}
