//! Sampling schedulers as diffusers defines them, in plain `f64` over flat slices: no tensors,
//! no randomness inside (noise is passed in), so a run is reproducible and every step can be
//! compared with diffusers' own numbers. So far: DDIM.

pub mod config;
pub mod ddim;

pub use config::{BetaSchedule, PredictionType, SchedulerConfig, SchedulerError, TimestepSpacing};
pub use ddim::DdimScheduler;
