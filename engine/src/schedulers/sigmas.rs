//! Noise-level (sigma) schedules shared by the Euler and DPM-Solver schedulers: interpolation at
//! fractional timesteps, Karras et al.'s schedule, and the way back from a sigma to a timestep.

/// `np.interp(timesteps, 0..n, training_sigmas)`, rounded to `f32` as diffusers stores sigmas.
#[must_use]
pub fn interpolate_sigmas(training_sigmas: &[f64], timesteps: &[f64]) -> Vec<f64> {
    let last = training_sigmas.len() - 1;
    timesteps
        .iter()
        .map(|&t| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let low = (t.max(0.0).floor() as usize).min(last);
            let high = (low + 1).min(last);
            #[allow(clippy::cast_precision_loss)]
            let w = (t - low as f64).clamp(0.0, 1.0);
            round_f32(training_sigmas[low] + w * (training_sigmas[high] - training_sigmas[low]))
        })
        .collect()
}

/// Karras et al. (2022) noise levels: `steps` values from `sigma_max` down to `sigma_min`,
/// evenly spaced in `sigma^(1/7)`.
#[must_use]
pub fn karras_sigmas(sigma_min: f64, sigma_max: f64, steps: usize) -> Vec<f64> {
    const RHO: f64 = 7.0;
    let (min_inv, max_inv) = (sigma_min.powf(1.0 / RHO), sigma_max.powf(1.0 / RHO));
    (0..steps)
        .map(|i| {
            #[allow(clippy::cast_precision_loss)]
            let ramp = if steps > 1 { i as f64 / (steps - 1) as f64 } else { 0.0 };
            (max_inv + ramp * (min_inv - max_inv)).powf(RHO)
        })
        .collect()
}

/// The (fractional) training timestep whose noise level is `sigma`: linear interpolation in
/// log-sigma between the two neighbouring training timesteps, as diffusers' `_sigma_to_t`.
#[must_use]
pub fn sigma_to_timestep(sigma: f64, training_sigmas: &[f64]) -> f64 {
    // diffusers takes np.log of the float32 sigmas, so the logs are float32 too.
    let log_sigmas: Vec<f64> = training_sigmas.iter().map(|s| round_f32(s.ln())).collect();
    let log_sigma = sigma.max(1e-10).ln();
    // The last training timestep at or below the wanted level (0 when there is none).
    let low = log_sigmas.iter().rposition(|&l| log_sigma - l >= 0.0).unwrap_or(0).min(log_sigmas.len() - 2);
    let (lo, hi) = (log_sigmas[low], log_sigmas[low + 1]);
    let w = ((lo - log_sigma) / (lo - hi)).clamp(0.0, 1.0);
    #[allow(clippy::cast_precision_loss)]
    let t = (1.0 - w) * low as f64 + w * (low + 1) as f64;
    t
}

/// Rounds to the nearest `f32`, where diffusers keeps a value in single precision.
#[must_use]
pub fn round_f32(value: f64) -> f64 {
    #[allow(clippy::cast_possible_truncation)]
    f64::from(value as f32)
}
