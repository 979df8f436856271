//! REST routes for what is done through emailed links: confirming an address (a new account's,
//! or the new one of an email change), asking for another verification mail, resetting a
//! forgotten password and starting an email change. The cores are in `accounts::email_flows`.

use axum::{Json, extract::State, http::StatusCode};
use contract::account::{
    ChangeEmailRequest, ConfirmEmailRequest, EmailConfirmed, PasswordResetRequest, ResetPasswordRequest,
};

use crate::http::{
    AppState,
    error::{ApiError, ErrorBody},
    extractors::json::ApiJson,
};
use pingvas_core::accounts::{ClientContext, CurrentUser};

/// Confirm an email address with the token from a verification or email-change link.
#[utoipa::path(
    post, path = "/api/v1/auth/email/confirm", tag = "auth",
    request_body = ConfirmEmailRequest,
    responses(
        (status = 200, description = "Verified, or the account moved to the new address (`changed`)", body = EmailConfirmed),
        (status = 409, description = "`email_taken`: the new address got an account meanwhile", body = ErrorBody),
        (status = 422, description = "`invalid_link`: unknown, used or expired", body = ErrorBody),
    )
)]
pub async fn confirm_email(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ConfirmEmailRequest>,
) -> Result<Json<EmailConfirmed>, ApiError> {
    Ok(Json(state.accounts.confirm_email(&request.token).await?))
}

/// Send me another verification link.
#[utoipa::path(
    post, path = "/api/v1/auth/email/verification", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "A new link is on its way"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 409, description = "`already_verified`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: one link a minute; see Retry-After", body = ErrorBody),
    )
)]
pub async fn resend_verification(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<StatusCode, ApiError> {
    state.accounts.resend_verification(&user).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Send a password-reset link to an address, if it has an account. The answer is the same
/// either way, and comes as fast.
#[utoipa::path(
    post, path = "/api/v1/auth/password-reset", tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "If the address has an account, a link valid for 60 minutes is on its way"),
        (status = 422, description = "`invalid_email`", body = ErrorBody),
        (status = 429, description = "Too many attempts; see Retry-After", body = ErrorBody),
    )
)]
pub async fn request_password_reset(
    State(state): State<AppState>,
    client: ClientContext,
    ApiJson(request): ApiJson<PasswordResetRequest>,
) -> Result<StatusCode, ApiError> {
    state.accounts.request_password_reset(&request.email, &client).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Choose a new password with a reset link's token; every session of the account ends and
/// nobody is signed in.
#[utoipa::path(
    post, path = "/api/v1/auth/password-reset/confirm", tag = "auth",
    request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "The password is changed; sign in with it"),
        (status = 422, description = "`weak_password` (the link still works) or `invalid_link`", body = ErrorBody),
        (status = 429, description = "Too many attempts; see Retry-After", body = ErrorBody),
        (status = 503, description = "`busy`: every password-hashing slot stayed busy; see Retry-After", body = ErrorBody),
    )
)]
pub async fn reset_password(
    State(state): State<AppState>,
    client: ClientContext,
    ApiJson(request): ApiJson<ResetPasswordRequest>,
) -> Result<StatusCode, ApiError> {
    state.accounts.reset_password(&request.token, request.new_password, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Move my account to another address: a link goes there, and the change happens when it is
/// opened; the current address is told.
#[utoipa::path(
    post, path = "/api/v1/users/me/email", tag = "users",
    security(("bearer" = [])),
    request_body = ChangeEmailRequest,
    responses(
        (status = 202, description = "A confirmation link is on its way to the new address"),
        (status = 401, description = "Not signed in, or `wrong_password`", body = ErrorBody),
        (status = 403, description = "`reauthentication_required`: an account without a password signs in with its provider again first", body = ErrorBody),
        (status = 409, description = "`email_taken`", body = ErrorBody),
        (status = 422, description = "`invalid_email` or `same_email`", body = ErrorBody),
        (status = 429, description = "Too many attempts; see Retry-After", body = ErrorBody),
        (status = 503, description = "`busy`: every password-hashing slot stayed busy; see Retry-After", body = ErrorBody),
    )
)]
pub async fn change_email(
    State(state): State<AppState>,
    user: CurrentUser,
    client: ClientContext,
    ApiJson(request): ApiJson<ChangeEmailRequest>,
) -> Result<StatusCode, ApiError> {
    state.accounts.request_email_change(&user, &request.new_email, request.current_password, &client).await?;
    Ok(StatusCode::ACCEPTED)
}
