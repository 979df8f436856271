//! DPM-Solver++ (2M): the second-order multistep solver of Lu et al. (2022) in its data-prediction
//! form, with or without Karras noise levels, as diffusers' `DPMSolverMultistepScheduler`
//! (`algorithm_type = "dpmsolver++"`, `solver_order = 2`, midpoint, final sigma zero, so the
//! first and last steps are first order).

use super::config::{PredictionType, SchedulerConfig, SchedulerError, TimestepSpacing};
use super::sigmas::{interpolate_sigmas, karras_sigmas, round_f32, sigma_to_timestep};

/// DPM++ 2M set to a number of inference steps. It remembers the previous step's prediction,
/// so steps must be taken in order.
#[derive(Debug, Clone)]
pub struct DpmSolverScheduler {
    prediction: PredictionType,
    timesteps: Vec<f64>,
    /// One per step, then 0.
    sigmas: Vec<f64>,
    /// The previous step's predicted clean sample.
    previous_x0: Option<Vec<f64>>,
}

impl DpmSolverScheduler {
    /// A scheduler for `steps` inference steps, on Karras noise levels when `karras`.
    ///
    /// # Errors
    /// Zero steps or more than the training timesteps.
    pub fn new(config: &SchedulerConfig, steps: usize, karras: bool) -> Result<Self, SchedulerError> {
        config.check_steps(steps)?;
        let training = config.training_sigmas();
        let (timesteps, mut sigmas) = if karras {
            let (min, max) = (training[0], training[training.len() - 1]);
            let sigmas: Vec<f64> = karras_sigmas(min, max, steps);
            let timesteps =
                sigmas.iter().map(|&s| sigma_to_timestep(s, &training).round_ties_even()).collect();
            (timesteps, sigmas.into_iter().map(round_f32).collect())
        } else {
            let timesteps = integer_timesteps(config, steps);
            let sigmas = interpolate_sigmas(&training, &timesteps);
            (timesteps, sigmas)
        };
        sigmas.push(0.0);
        Ok(Self { prediction: config.prediction_type, timesteps, sigmas, previous_x0: None })
    }

    /// The timesteps given to the model, noisiest first.
    #[must_use]
    pub fn timesteps(&self) -> &[f64] {
        &self.timesteps
    }

    /// The signal and noise scales of `add_noise` at step `i`: `(αᵢ, σᵢ·αᵢ)` of its noise level.
    ///
    /// # Panics
    /// If `i` is past the last step (a programming error).
    #[must_use]
    pub fn noise_scales(&self, i: usize) -> (f64, f64) {
        alpha_sigma(self.sigmas[i])
    }

    /// Step `i`: from `sample` and the model's output, the sample at the next noise level.
    ///
    /// # Panics
    /// If the slices differ in length or `i` is past the last step (programming errors).
    pub fn step(&mut self, i: usize, model_output: &[f64], sample: &[f64]) -> Vec<f64> {
        assert_eq!(model_output.len(), sample.len(), "model output and sample differ in size");
        let (alpha_s, sigma_s) = alpha_sigma(self.sigmas[i]);
        let x0: Vec<f64> = model_output
            .iter()
            .zip(sample)
            .map(|(&out, &x)| match self.prediction {
                PredictionType::Epsilon => (x - sigma_s * out) / alpha_s,
                PredictionType::VPrediction => alpha_s * x - sigma_s * out,
            })
            .collect();
        let (alpha_t, sigma_t) = alpha_sigma(self.sigmas[i + 1]);
        let (lambda_t, lambda_s) = (lambda(alpha_t, sigma_t), lambda(alpha_s, sigma_s));
        let h = lambda_t - lambda_s;
        let keep = sigma_t / sigma_s;
        let push = alpha_t * ((-h).exp() - 1.0);
        let last = i + 1 == self.timesteps.len();
        let next = match self.previous_x0.as_ref().filter(|_| !last) {
            // Second order: the midpoint correction from the previous prediction.
            Some(previous) => {
                let (alpha_p, sigma_p) = alpha_sigma(self.sigmas[i - 1]);
                let r = (lambda_s - lambda(alpha_p, sigma_p)) / h;
                sample
                    .iter()
                    .zip(&x0)
                    .zip(previous)
                    .map(|((&x, &d0), &m1)| keep * x - push * d0 - 0.5 * push * (d0 - m1) / r)
                    .collect()
            }
            None => sample.iter().zip(&x0).map(|(&x, &d0)| keep * x - push * d0).collect(),
        };
        self.previous_x0 = Some(x0);
        next
    }
}

/// The signal and noise scales of noise level `sigma`.
fn alpha_sigma(sigma: f64) -> (f64, f64) {
    let alpha = 1.0 / sigma.mul_add(sigma, 1.0).sqrt();
    (alpha, sigma * alpha)
}

/// Half the log signal-to-noise ratio (infinite at sigma 0, which the formulas tolerate:
/// `exp(-inf) = 0`).
fn lambda(alpha: f64, sigma: f64) -> f64 {
    alpha.ln() - sigma.ln()
}

/// DPM-Solver's integer timesteps: it spaces `steps + 1` points and drops the last.
#[allow(clippy::cast_precision_loss)]
fn integer_timesteps(config: &SchedulerConfig, steps: usize) -> Vec<f64> {
    let train = config.num_train_timesteps;
    match config.spacing_or(TimestepSpacing::Linspace) {
        TimestepSpacing::Linspace => {
            // np.linspace(0, train - 1, steps + 1): i * step, the last point exact.
            let (last, step) = ((train - 1) as f64, (train - 1) as f64 / steps as f64);
            (1..=steps)
                .rev()
                .map(|i| if i == steps { last } else { i as f64 * step }.round_ties_even())
                .collect()
        }
        TimestepSpacing::Leading => {
            let ratio = train / (steps + 1);
            (1..=steps).rev().map(|i| (i * ratio + config.steps_offset) as f64).collect()
        }
        TimestepSpacing::Trailing => {
            let stride = train as f64 / steps as f64;
            (0..steps).map(|i| (train as f64 - i as f64 * stride).round_ties_even() - 1.0).collect()
        }
    }
}
