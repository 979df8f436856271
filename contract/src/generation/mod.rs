//! Generation requests and jobs: the request as sent ([`request`]), the pure check that turns it
//! into the parameters a job runs with (against the caller's plan and the model catalog), the
//! images an edit starts from ([`edit`]), and the job as clients see it. Server and UI run the same
//! check, so a form never promises what the server then refuses.

mod edit;
mod request;

pub use edit::*;
pub use request::*;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{BoardId, ImageId, JobId, ModelName};
use crate::plans::Plan;
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
