//! The UI's server functions for generation: the same core functions as the REST API
//! (`pingvas_core::generation`).

use leptos::{prelude::*, server_fn::codec::Json};

use contract::{
    error::UiError,
    generation::{GenerateRequest, Job, JobAccepted},
    ids::JobId,
};

#[cfg(feature = "ssr")]
use crate::api::call::as_user;
#[cfg(feature = "ssr")]
use pingvas_core::generation::{self, jobs};

/// Queue a generation.
#[server(prefix = "/api/v1/ui", endpoint = "generate", input = Json)]
pub async fn ui_generate(access_token: String, request: GenerateRequest) -> Result<JobAccepted, UiError> {
    as_user(&access_token, async |core, user| generation::submit(core, &user, &request).await).await
}

/// One of my jobs.
#[server(prefix = "/api/v1/ui", endpoint = "jobs/get")]
pub async fn ui_job(access_token: String, id: JobId) -> Result<Job, UiError> {
    as_user(&access_token, async |core, user| jobs::get(&core.tenants, user.user_id, id).await).await
}

/// Cancel one of my jobs.
#[server(prefix = "/api/v1/ui", endpoint = "jobs/cancel")]
pub async fn ui_cancel_job(access_token: String, id: JobId) -> Result<Job, UiError> {
    as_user(&access_token, async |core, user| jobs::cancel(&core.tenants, user.user_id, id).await).await
}
