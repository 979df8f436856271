//! Accepting a generation request: check it against the plan and the model catalog, reserve the
//! quota and queue the job, all in one user-bound transaction, so a request is either queued
//! with its images reserved or leaves no trace. Running jobs is the workers' part.

use contract::{
    generation::{
        GenerateRequest, GenerationParams, GenerationRefusal, Job, JobAccepted, ModelInfo, Region,
        check_request, fit_size,
    },
    plans::Plan,
};

use contract::ids::{ImageId, JobId};
use time::OffsetDateTime;

use super::jobs;
use crate::{
    Core,
    accounts::CurrentUser,
    images,
    links::{LinkOwner, LinkPurpose, LinkSigner},
    quota::{self, QuotaError},
    storage_budget::{self, Adding},
    tenancy::{TenantDb, TenantError, TenantTx},
};

/// Why a request was not queued.
#[derive(Debug, thiserror::Error)]
pub enum GenerationError {
    /// A parameter is invalid (422) or beyond the plan (403).
    #[error(transparent)]
    Refused(#[from] GenerationRefusal),
    /// Not enough quota left this month (429).
    #[error(transparent)]
    Quota(#[from] QuotaError),
    /// The caller already has as many jobs queued or running as their plan allows (429).
    #[error(
        "You have {limit} generations queued or running, the most the {} plan allows at once. \
         Wait for one to finish, or cancel one.",
        plan.display_name()
    )]
    TooManyJobs {
        /// Their plan.
        plan: Plan,
        /// Its limit.
        limit: u32,
    },
    /// The caller has not verified their email yet (403 `email_unverified`, SECURITY.md 44).
    #[error(
        "Confirm your email first: open the link we sent to {0}. No mail? Ask for a new link on your account page."
    )]
    EmailUnverified(String),
    /// The board is not the caller's, or the database failed.
    #[error(transparent)]
    Tenant(#[from] TenantError),
}

impl From<sqlx::Error> for GenerationError {
    fn from(error: sqlx::Error) -> Self {
        Self::Tenant(TenantError::Database(error))
    }
}

/// A seed for requests without one.
fn random_seed() -> i64 {
    let mut bytes = [0u8; 4];
    // The OS generator does not fail on supported platforms; a fixed seed would still be valid.
    let _ = getrandom::fill(&mut bytes);
    i64::from(u32::from_le_bytes(bytes))
}

/// Queues `request` for `user` ([`accept`]) and signs the link to the new job's event stream:
/// what both the REST route and the UI answer a generation with.
///
/// # Errors
/// As [`accept`].
pub async fn submit(
    core: &Core,
    user: &CurrentUser,
    request: &GenerateRequest,
) -> Result<JobAccepted, GenerationError> {
    let job = accept(&core.tenants, &core.config.models, user, request).await?;
    let events_url = events_link(&core.links, user, job.job_id);
    Ok(JobAccepted { job, events_url })
}

/// The signed link to job `id`'s event stream, for `user`'s session (a browser's `EventSource`
/// sends no bearer token).
#[must_use]
pub fn events_link(links: &LinkSigner, user: &CurrentUser, id: JobId) -> String {
    let mut buffer = uuid::Uuid::encode_buffer();
    links.link(
        &["/api/v1/jobs/", id.0.hyphenated().encode_lower(&mut buffer), "/events"],
        LinkPurpose::Events,
        LinkOwner { user: user.user_id, session: user.session },
        id.0,
        OffsetDateTime::now_utc().unix_timestamp(),
    )
}

/// The models of `catalog` that `plan` may use; the first is the default.
pub fn usable_models(catalog: &[ModelInfo], plan: Plan) -> impl Iterator<Item = &ModelInfo> {
    catalog.iter().filter(move |m| m.open_to(plan))
}

/// Checks `request`, reserves its images and queues it for `user`.
///
/// # Errors
/// 403 `email_unverified` before the address is verified, 422/403 for the parameters, 404 for an
/// init image or mask that is not theirs, 413 when the gallery has no room, 422 for a board that
/// is not theirs, 429 when the quota is short or the plan's jobs at once are all queued or running.
pub async fn accept(
    db: &TenantDb,
    catalog: &[ModelInfo],
    user: &CurrentUser,
    request: &GenerateRequest,
) -> Result<Job, GenerationError> {
    if !user.email_verified {
        return Err(GenerationError::EmailUnverified(user.email.clone()));
    }
    let params = check_request(request, user.plan, catalog, random_seed)?;
    let mut tx = db.begin(user.user_id).await?;
    if let Some(board) = request.board_id {
        let mine: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM boards WHERE board_id = $1 AND user_id = $2)")
                .bind(board)
                .bind(user.user_id)
                .fetch_one(tx.conn())
                .await?;
        if !mine {
            return Err(
                TenantError::invalid("unknown_board", "board_id", "You have no board with this id.").into()
            );
        }
    }
    // Before anything is reserved: an image that is not theirs must cost nothing.
    let params = check_sources(&mut tx, request, params, user.plan, catalog).await?;
    let images = i32::try_from(params.batch_size).unwrap_or(i32::MAX);
    // Locks the user's row before the quota reservation takes it: one order for every request.
    let used = storage_budget::lock_usage(tx.conn(), user.user_id).await?;
    // Images still to come from queued and running jobs count too: they will be stored.
    let in_flight: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(images_reserved - images_produced), 0)::bigint FROM generation_jobs
         WHERE user_id = $1 AND status IN ('queued', 'running')",
    )
    .bind(user.user_id)
    .fetch_one(tx.conn())
    .await?;
    let adding = u64::from(params.batch_size) + u64::try_from(in_flight).unwrap_or(0);
    storage_budget::check(user.plan, used, Adding { images: adding, bytes: 0 }).map_err(TenantError::from)?;
    let reservation = quota::reserve(tx.conn(), user.user_id, user.plan, images).await?;
    // Counted after the reservation: its row lock on the user makes a second request of theirs
    // wait for this one to commit, so two at once cannot both see room for one more.
    let limit = user.plan.limits().max_active_jobs;
    let active: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM generation_jobs WHERE user_id = $1 AND status IN ('queued', 'running')",
    )
    .bind(user.user_id)
    .fetch_one(tx.conn())
    .await?;
    if active >= i64::from(limit) {
        return Err(GenerationError::TooManyJobs { plan: user.plan, limit });
    }
    let job =
        jobs::insert(&mut tx, &params, request.board_id, user.plan.limits().queue_priority, reservation)
            .await?;
    tx.commit().await?;
    tracing::info!(job = %job.job_id, user = %user.user_id, images, "generation queued");
    Ok(job)
}

/// Checks that the images an edit names are images of the user whose transaction `tx` is, that
/// the mask is the init image's size and the region touches it, and sizes a request that names
/// no width or height by its region (see [`fit_size`]).
///
/// # Errors
/// 404 `not_found` for an image that is not theirs, exactly as for one that does not exist (an
/// id must not tell whether it belongs to someone else); 422 naming the field otherwise.
async fn check_sources(
    tx: &mut TenantTx,
    request: &GenerateRequest,
    params: GenerationParams,
    plan: Plan,
    catalog: &[ModelInfo],
) -> Result<GenerationParams, GenerationError> {
    let Some(edit) = &params.edit else { return Ok(params) };
    let ids: Vec<ImageId> = std::iter::once(edit.init_image_id).chain(edit.mask_image_id).collect();
    let sizes = images::sizes_of(tx, &ids).await?;
    let size_of = |id: ImageId| sizes.iter().find(|(i, ..)| *i == id).map(|&(_, w, h)| (w, h));
    let (width, height) = size_of(edit.init_image_id).ok_or(TenantError::NotFound)?;
    let invalid = |field, message: String| GenerationRefusal::Invalid { field, message };
    if let Some(mask) = edit.mask_image_id {
        let (mask_width, mask_height) = size_of(mask).ok_or(TenantError::NotFound)?;
        if (mask_width, mask_height) != (width, height) {
            return Err(invalid(
                "mask_image_id",
                format!(
                    "The mask is {mask_width}×{mask_height}; make it the init image's size, {width}×{height}."
                ),
            )
            .into());
        }
    }
    let region = edit.region.unwrap_or_else(|| Region::whole(width, height));
    if !region.overlaps(width, height) {
        return Err(invalid(
            "region",
            format!("The region must share pixels with the {width}×{height} init image."),
        )
        .into());
    }
    if request.width.is_some() && request.height.is_some() {
        return Ok(params);
    }
    let to_u32 = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
    let (fit_width, fit_height) =
        fit_size(to_u32(region.width), to_u32(region.height), plan.limits().max_side);
    let sized = GenerateRequest {
        width: Some(request.width.unwrap_or(i64::from(fit_width))),
        height: Some(request.height.unwrap_or(i64::from(fit_height))),
        seed: Some(params.seed),
        ..request.clone()
    };
    Ok(check_request(&sized, plan, catalog, || params.seed)?)
}
