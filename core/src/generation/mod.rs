//! Generation, one feature from request to picture, in the order a job lives it:
//!
//! - [`submit`]: a request is checked against the plan and the model catalog, its images are
//!   reserved from the quota and it is queued, in one user-bound transaction;
//! - [`jobs`]: the job rows as their owner reads and cancels them (refunds, exactly once);
//! - [`queue`]: where a job is claimed (fairness, leases, heartbeats, re-queueing dead
//!   workers' jobs) and where each image is recorded;
//! - [`worker`]: runs claimed jobs on its device with the engine and stores their files;
//! - [`sources`]: where a job's edit fetches its init image and mask (as their owner);
//! - [`edit`]: an edit's images made into the engine's input (region, infill, mask, scale) and
//!   the mask applied to its result;
//! - [`events`]: job changes fanned out to event streams across server instances.

pub mod edit;
pub mod events;
pub mod jobs;
pub mod queue;
pub mod sources;
mod store;
mod submit;
pub mod worker;

pub use submit::{GenerationError, accept, events_link, submit, usable_models};
