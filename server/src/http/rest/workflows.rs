//! REST routes for workflows (saved generation presets, Pro and up): `/api/v1/workflows` and
//! `/api/v1/workflows/{id}`. Below Pro every route answers 403 `plan_required`.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use contract::workflows::{CreateWorkflow, UpdateWorkflow, Workflow, WorkflowList};

use crate::http::{
    AppState,
    error::{ApiError, ErrorBody},
    extractors::json::ApiJson,
    tenant_errors::parse_id,
};
use pingvas_core::{accounts::CurrentUser, workflows};

/// My workflows, oldest first.
#[utoipa::path(
    get, path = "/api/v1/workflows", tag = "workflows", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's workflows", body = WorkflowList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "`plan_required`: Pro or higher", body = ErrorBody),
    )
)]
pub async fn list_workflows(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<WorkflowList>, ApiError> {
    Ok(Json(WorkflowList { items: workflows::list(&state.tenants, &user).await? }))
}

/// Save a workflow.
#[utoipa::path(
    post, path = "/api/v1/workflows", tag = "workflows", security(("bearer" = [])),
    request_body = CreateWorkflow,
    responses(
        (status = 201, description = "Saved", body = Workflow),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "`plan_required`: Pro or higher", body = ErrorBody),
        (status = 422, description = "Invalid name or parameters", body = ErrorBody),
    )
)]
pub async fn create_workflow(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<CreateWorkflow>,
) -> Result<(StatusCode, Json<Workflow>), ApiError> {
    let workflow = workflows::create(&state.tenants, &user, &request.name, &request.params).await?;
    Ok((StatusCode::CREATED, Json(workflow)))
}

/// One of my workflows.
#[utoipa::path(
    get, path = "/api/v1/workflows/{id}", tag = "workflows", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The workflow's id")),
    responses(
        (status = 200, description = "The workflow", body = Workflow),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "`plan_required`: Pro or higher", body = ErrorBody),
        (status = 404, description = "No workflow of mine has this id", body = ErrorBody),
    )
)]
pub async fn get_workflow(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Workflow>, ApiError> {
    Ok(Json(workflows::get(&state.tenants, &user, parse_id(&id)?).await?))
}

/// Rename a workflow or replace its parameters.
#[utoipa::path(
    patch, path = "/api/v1/workflows/{id}", tag = "workflows", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The workflow's id")),
    request_body = UpdateWorkflow,
    responses(
        (status = 200, description = "The updated workflow", body = Workflow),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "`plan_required`: Pro or higher", body = ErrorBody),
        (status = 404, description = "No workflow of mine has this id", body = ErrorBody),
        (status = 422, description = "Invalid name or parameters", body = ErrorBody),
    )
)]
pub async fn update_workflow(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<UpdateWorkflow>,
) -> Result<Json<Workflow>, ApiError> {
    let id = parse_id(&id)?;
    let workflow =
        workflows::update(&state.tenants, &user, id, request.name.as_deref(), request.params.as_ref())
            .await?;
    Ok(Json(workflow))
}

/// Delete one of my workflows.
#[utoipa::path(
    delete, path = "/api/v1/workflows/{id}", tag = "workflows", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The workflow's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "`plan_required`: Pro or higher", body = ErrorBody),
        (status = 404, description = "No workflow of mine has this id", body = ErrorBody),
    )
)]
pub async fn delete_workflow(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    workflows::delete(&state.tenants, &user, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
