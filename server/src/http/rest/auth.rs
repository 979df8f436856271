//! REST routes under `/api/v1/auth`: register, login, refresh, logout and session management.
//!
//! Register and login answer an access token in the body and set the refresh token as an
//! HttpOnly cookie scoped to this path; refresh and logout read that cookie, and so check the
//! request's `Origin` first (SECURITY.md 29).

use axum::{
    Json,
    extract::{Path, State},
    http::{
        HeaderMap, HeaderValue, StatusCode,
        header::{CACHE_CONTROL, SET_COOKIE},
    },
    response::{IntoResponse, Response},
};
use contract::account::{AccessToken, LoginRequest, RegisterRequest, SessionInfo, SignedIn};

use crate::http::{
    AppState,
    error::{ApiError, ErrorBody},
    extractors::{current_user::bearer_token, json::ApiJson},
    tenant_errors::parse_id,
};
use contract::ids::SessionId;
use pingvas_core::{
    accounts::{ClientContext, CurrentUser, IssuedTokens, SignedInSession},
    auth::cookie::{
        clear_refresh_cookie, header_value, origin_allowed, read_refresh_cookie, set_refresh_cookie,
    },
};

/// Whether the refresh cookie is `Secure` (everywhere but plain-http development).
fn secure_cookie(state: &AppState) -> bool {
    state.config.public_url.is_https()
}

/// Adds the refresh cookie and forbids caching a response that carries tokens.
pub(super) fn with_tokens(state: &AppState, mut response: Response, tokens: &IssuedTokens) -> Response {
    let cookie = set_refresh_cookie(&tokens.refresh, tokens.refresh_max_age(), secure_cookie(state));
    let headers = response.headers_mut();
    if let Some(value) = header_value(&cookie) {
        headers.append(SET_COOKIE, value);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Adds a `Set-Cookie` that deletes the refresh cookie.
pub(super) fn clearing_cookie(state: &AppState, mut response: Response) -> Response {
    if let Some(value) = header_value(&clear_refresh_cookie(secure_cookie(state))) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

fn signed_in_response(state: &AppState, status: StatusCode, signed_in: SignedInSession) -> Response {
    let (body, tokens) = signed_in.into_body();
    with_tokens(state, (status, Json(body)).into_response(), &tokens)
}

/// 403 unless the request comes from our own pages (or a configured CORS origin).
fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if origin_allowed(headers, &state.config.public_url, &state.config.cors_allowed_origins) {
        Ok(())
    } else {
        tracing::warn!(origin = ?headers.get(axum::http::header::ORIGIN), "cookie request from a foreign origin refused");
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden_origin",
            "This request must come from the PingvasAI app itself.",
        ))
    }
}

/// Create an email/password account and sign in.
#[utoipa::path(
    post, path = "/api/v1/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Signed in; the refresh token is set as an HttpOnly cookie", body = SignedIn),
        (status = 409, description = "The email already has an account", body = ErrorBody),
        (status = 422, description = "Invalid email, weak password or invalid name", body = ErrorBody),
        (status = 429, description = "Too many attempts; see Retry-After", body = ErrorBody),
        (status = 503, description = "`busy`: every password-hashing slot stayed busy; see Retry-After", body = ErrorBody),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    client: ClientContext,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> Result<Response, ApiError> {
    let signed_in = state.accounts.register(request, &client).await?;
    Ok(signed_in_response(&state, StatusCode::CREATED, signed_in))
}

/// Sign in with email and password.
#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the refresh token is set as an HttpOnly cookie", body = SignedIn),
        (status = 401, description = "`invalid_credentials`, the same for an unknown email", body = ErrorBody),
        (status = 429, description = "Too many attempts; see Retry-After", body = ErrorBody),
        (status = 503, description = "`busy`: every password-hashing slot stayed busy; see Retry-After", body = ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: ClientContext,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let signed_in = state.accounts.login(request, &client).await?;
    Ok(signed_in_response(&state, StatusCode::OK, signed_in))
}

/// Exchange the refresh cookie for a new access token and a new refresh cookie.
#[utoipa::path(
    post, path = "/api/v1/auth/refresh", tag = "auth",
    responses(
        (status = 200, description = "A new access token; the cookie is rotated", body = AccessToken),
        (status = 401, description = "No, or an expired, revoked or reused refresh cookie", body = ErrorBody),
        (status = 403, description = "A foreign Origin", body = ErrorBody),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    client: ClientContext,
    headers: HeaderMap,
) -> Result<Response, Response> {
    check_origin(&state, &headers).map_err(IntoResponse::into_response)?;
    let unauthenticated = || clearing_cookie(&state, ApiError::unauthenticated().into_response());
    let token = read_refresh_cookie(&headers, secure_cookie(&state)).ok_or_else(unauthenticated)?;
    match state.accounts.refresh(&token, &client).await {
        Ok(tokens) => Ok(with_tokens(&state, Json(&tokens.access).into_response(), &tokens)),
        Err(pingvas_core::accounts::AccountError::Unauthenticated) => Err(unauthenticated()),
        Err(other) => Err(ApiError::from(other).into_response()),
    }
}

/// End this session: revoke its refresh cookie and the presented access token.
#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "auth",
    responses(
        (status = 204, description = "Signed out; the cookie is cleared"),
        (status = 403, description = "A foreign Origin", body = ErrorBody),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let (parts, _) = request.into_parts();
    check_origin(&state, &parts.headers)?;
    let refresh = read_refresh_cookie(&parts.headers, secure_cookie(&state));
    state.accounts.logout(refresh.as_ref(), bearer_token(&parts)).await?;
    Ok(clearing_cookie(&state, StatusCode::NO_CONTENT.into_response()))
}

/// My active sessions, the calling one marked `current`.
#[utoipa::path(
    get, path = "/api/v1/auth/sessions", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Active sessions, most recently used first", body = Vec<SessionInfo>),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
pub async fn list_sessions(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<SessionInfo>>, ApiError> {
    Ok(Json(state.accounts.sessions(&user).await?))
}

/// Revoke one of my sessions (signing that device out).
#[utoipa::path(
    delete, path = "/api/v1/auth/sessions/{id}", tag = "auth",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No active session of mine has this id", body = ErrorBody),
    )
)]
pub async fn revoke_session(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.accounts.revoke_session(&user, SessionId(parse_id(&id)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}
