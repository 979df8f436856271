//! REST routes for generation: `POST /api/v1/images/generate`, the caller's jobs
//! (`/api/v1/jobs`, `/api/v1/jobs/{id}`, cancel), the models their plan may use, and a job's
//! live events ([`events`]).

pub mod events;

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use contract::generation::{GenerateRequest, Job, JobAccepted, JobList, JobStatus, ModelList};
use serde::Deserialize;

use crate::http::{
    AppState,
    error::{ApiError, ErrorBody},
    extractors::{json::ApiJson, query::ApiQuery},
    tenant_errors::parse_id,
};
use pingvas_core::{
    accounts::CurrentUser,
    generation::{self, jobs},
};

/// Generate images: check the parameters, reserve the quota, queue a job. With `init_image_id` it
/// edits one of my images: image-to-image, inpainting with `mask_image_id`, outpainting with a
/// `region` that reaches past the image.
#[utoipa::path(
    post, path = "/api/v1/images/generate", tag = "generation", security(("bearer" = [])),
    request_body = GenerateRequest,
    responses(
        (status = 202, description = "Queued; the quota is reserved", body = JobAccepted),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "`plan_required`: a parameter beyond my plan (the message names the plan); `email_unverified`: the account's email is not verified yet", body = ErrorBody),
        (status = 404, description = "`not_found`: the init image or mask is not one of my images (whether it exists or is someone else's); nothing is charged", body = ErrorBody),
        (status = 413, description = "`storage_quota_exceeded`: the gallery has no room for the batch's images under the plan's storage budget", body = ErrorBody),
        (status = 422, description = "`invalid_parameter` (with `field`) or `unknown_board`", body = ErrorBody),
        (status = 429, description = "`quota_exceeded`, with `Retry-After` until the monthly reset; or `too_many_jobs`: the plan's jobs at once are all queued or running", body = ErrorBody),
    )
)]
pub async fn generate(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<GenerateRequest>,
) -> Result<(StatusCode, Json<JobAccepted>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(generation::submit(&state, &user, &request).await?)))
}

/// `GET /api/v1/jobs` filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    /// Only jobs with this status: queued, running, completed, failed or cancelled.
    pub status: Option<String>,
}

/// My jobs, newest first (at most 100).
#[utoipa::path(
    get, path = "/api/v1/jobs", tag = "generation", security(("bearer" = [])), params(JobFilter),
    responses(
        (status = 200, description = "The caller's jobs", body = JobList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 422, description = "Unknown status", body = ErrorBody),
    )
)]
pub async fn list_jobs(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(filter): ApiQuery<JobFilter>,
) -> Result<Json<JobList>, ApiError> {
    let status = match filter.status.as_deref() {
        None | Some("") => None,
        Some(name) => Some(JobStatus::parse(name).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_parameter",
                "Use one of: queued, running, completed, failed, cancelled.",
            )
            .with_field("status")
        })?),
    };
    Ok(Json(JobList { items: jobs::list(&state.tenants, user.user_id, status).await? }))
}

/// One of my jobs: status, progress, error, image ids.
#[utoipa::path(
    get, path = "/api/v1/jobs/{id}", tag = "generation", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The job", body = Job),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No job of mine has this id", body = ErrorBody),
    )
)]
pub async fn get_job(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    Ok(Json(jobs::get(&state.tenants, user.user_id, parse_id(&id)?).await?))
}

/// Cancel a queued or running job; the images it did not make go back to my quota.
#[utoipa::path(
    post, path = "/api/v1/jobs/{id}/cancel", tag = "generation", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The job's id")),
    responses(
        (status = 200, description = "Cancelled", body = Job),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No job of mine has this id", body = ErrorBody),
        (status = 409, description = "`already_finished`", body = ErrorBody),
    )
)]
pub async fn cancel_job(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    Ok(Json(jobs::cancel(&state.tenants, user.user_id, parse_id(&id)?).await?))
}

/// The models my plan may use; the first is the default.
#[utoipa::path(
    get, path = "/api/v1/models", tag = "generation", security(("bearer" = [])),
    responses(
        (status = 200, description = "Models for the caller's plan", body = ModelList),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
pub async fn list_models(State(state): State<AppState>, user: CurrentUser) -> Json<ModelList> {
    let items = generation::usable_models(&state.config.models, user.plan).cloned().collect();
    Json(ModelList { items })
}
