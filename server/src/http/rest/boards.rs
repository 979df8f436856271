//! REST routes for boards: `/api/v1/boards` and `/api/v1/boards/{id}`.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use contract::boards::{Board, BoardList, CreateBoard, UpdateBoard};

use crate::http::tenant_errors::parse_id;
use crate::http::{
    AppState,
    error::{ApiError, ErrorBody},
    extractors::json::ApiJson,
};
use pingvas_core::{accounts::CurrentUser, boards};

/// My boards, oldest first.
#[utoipa::path(
    get, path = "/api/v1/boards", tag = "boards", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's boards", body = BoardList),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
pub async fn list_boards(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<BoardList>, ApiError> {
    Ok(Json(BoardList { items: boards::list(&state.tenants, user.user_id).await? }))
}

/// Create a board.
#[utoipa::path(
    post, path = "/api/v1/boards", tag = "boards", security(("bearer" = [])),
    request_body = CreateBoard,
    responses(
        (status = 201, description = "Created", body = Board),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 409, description = "`already_exists`: I have a board of this name", body = ErrorBody),
        (status = 422, description = "Invalid name", body = ErrorBody),
    )
)]
pub async fn create_board(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<CreateBoard>,
) -> Result<(StatusCode, Json<Board>), ApiError> {
    Ok((StatusCode::CREATED, Json(boards::create(&state.tenants, user.user_id, &request.name).await?)))
}

/// One of my boards.
#[utoipa::path(
    get, path = "/api/v1/boards/{id}", tag = "boards", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The board's id")),
    responses(
        (status = 200, description = "The board", body = Board),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No board of mine has this id", body = ErrorBody),
    )
)]
pub async fn get_board(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Board>, ApiError> {
    Ok(Json(boards::get(&state.tenants, user.user_id, parse_id(&id)?).await?))
}

/// Rename one of my boards.
#[utoipa::path(
    patch, path = "/api/v1/boards/{id}", tag = "boards", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The board's id")),
    request_body = UpdateBoard,
    responses(
        (status = 200, description = "The updated board", body = Board),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No board of mine has this id", body = ErrorBody),
        (status = 409, description = "`already_exists`: I have a board of this name", body = ErrorBody),
        (status = 422, description = "Invalid name", body = ErrorBody),
    )
)]
pub async fn update_board(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<UpdateBoard>,
) -> Result<Json<Board>, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json(boards::rename(&state.tenants, user.user_id, id, request.name.as_deref()).await?))
}

/// Delete one of my boards.
#[utoipa::path(
    delete, path = "/api/v1/boards/{id}", tag = "boards", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The board's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No board of mine has this id", body = ErrorBody),
    )
)]
pub async fn delete_board(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    boards::delete(&state.tenants, user.user_id, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
