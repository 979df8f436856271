//! REST routes for administrators: `/api/v1/admin/users` and `/api/v1/admin/users/{id}`.
//! Everyone but superusers gets 403 `forbidden`.

use axum::{
    Json,
    extract::{Path, State},
};
use contract::admin::{AdminUser, AdminUserPage, AdminUserUpdate};
use serde::Deserialize;

use crate::http::{
    AppState,
    error::{ApiError, ErrorBody},
    extractors::{json::ApiJson, query::ApiQuery},
    tenant_errors::parse_id,
};
use contract::ids::UserId;
use pingvas_core::{accounts::CurrentUser, admin};

/// `?q=&offset=&limit=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UserSearch {
    /// Part of an email, name or username.
    pub q: Option<String>,
    /// Rows to skip (default 0).
    pub offset: Option<i64>,
    /// Page size, 1–100 (default 50).
    pub limit: Option<i64>,
}

/// Find users (superusers only).
#[utoipa::path(
    get, path = "/api/v1/admin/users", tag = "admin", security(("bearer" = [])), params(UserSearch),
    responses(
        (status = 200, description = "A page of users, newest first", body = AdminUserPage),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a superuser", body = ErrorBody),
    )
)]
pub async fn list_users(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(search): ApiQuery<UserSearch>,
) -> Result<Json<AdminUserPage>, ApiError> {
    let page = admin::list_users(&state.db, &user, search.q.as_deref(), search.offset, search.limit).await?;
    Ok(Json(page))
}

/// Change a user's plan, quota, active or staff flag (superusers only; audited).
#[utoipa::path(
    patch, path = "/api/v1/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user's id")),
    request_body = AdminUserUpdate,
    responses(
        (status = 200, description = "The updated user", body = AdminUser),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a superuser", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "Unknown plan or negative quota", body = ErrorBody),
    )
)]
pub async fn update_user(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiJson(changes): ApiJson<AdminUserUpdate>,
) -> Result<Json<AdminUser>, ApiError> {
    // Refuse non-superusers before saying anything about the id.
    admin::require_superuser(&user)?;
    let target = UserId(parse_id(&id)?);
    let updated = admin::update_user(&state, &user, target, &changes).await?;
    Ok(Json(updated))
}
