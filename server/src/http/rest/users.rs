//! REST routes under `/api/v1/users/me`: the caller's profile and password.

use axum::{Json, extract::State, http::StatusCode};
use contract::account::{ChangePasswordRequest, UpdateProfileRequest, UserProfile};

use crate::http::{
    AppState,
    error::{ApiError, ErrorBody},
    extractors::json::ApiJson,
};
use pingvas_core::accounts::{ClientContext, CurrentUser};

/// My profile, roles, plan and quota.
#[utoipa::path(
    get, path = "/api/v1/users/me", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's profile", body = UserProfile),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
pub async fn me(State(state): State<AppState>, user: CurrentUser) -> Result<Json<UserProfile>, ApiError> {
    Ok(Json(state.accounts.profile(user.user_id).await?))
}

/// Edit my profile: full name, username, bio, locale, time zone.
#[utoipa::path(
    patch, path = "/api/v1/users/me", tag = "users",
    security(("bearer" = [])),
    request_body = UpdateProfileRequest,
    responses(
        (status = 200, description = "The updated profile", body = UserProfile),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 409, description = "The username is taken", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    )
)]
pub async fn update_me(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<UpdateProfileRequest>,
) -> Result<Json<UserProfile>, ApiError> {
    Ok(Json(state.accounts.update_profile(&user, &request).await?))
}

/// Change my password; every other session is signed out.
#[utoipa::path(
    post, path = "/api/v1/users/me/password", tag = "users",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; other sessions revoked"),
        (status = 401, description = "Not signed in, or `wrong_password`", body = ErrorBody),
        (status = 422, description = "The new password is too weak", body = ErrorBody),
        (status = 429, description = "Too many attempts; see Retry-After", body = ErrorBody),
        (status = 503, description = "`busy`: every password-hashing slot stayed busy; see Retry-After", body = ErrorBody),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    client: ClientContext,
    ApiJson(request): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    state.accounts.change_password(&user, request, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
