//! REST routes for an account's data as a whole: download it all, or delete the account
//! (SECURITY.md 47). The cores are in `account_data`.

use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use contract::account::DeleteAccountRequest;
use futures::StreamExt;
use time::OffsetDateTime;

use crate::http::{
    AppState,
    error::{ApiError, ErrorBody},
    extractors::{json::ApiJson, query::ApiQuery},
    rest::{auth::clearing_cookie, gallery::bearer_or_link},
};
use pingvas_core::{
    account_data,
    accounts::CurrentUser,
    links::{LinkPurpose, SignedQuery},
};

/// Download everything my account holds: `account.json` (profile, sign-in providers, sessions,
/// boards, workflows, models, jobs, images) and every image file, as a zip.
#[utoipa::path(
    get, path = "/api/v1/users/me/export", tag = "users", security(("bearer" = [])),
    params(SignedQuery),
    responses(
        (status = 200, description = "The archive", content_type = "application/zip"),
        (status = 401, description = "No bearer token and no valid signed link", body = ErrorBody),
        (status = 503, description = "`busy`: my export is already being prepared, or every export slot is taken; see Retry-After", body = ErrorBody),
    )
)]
pub async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<SignedQuery>,
) -> Result<Response, ApiError> {
    // A signed link names its user; with a bearer token the object is whoever it is.
    let object = query.user.unwrap_or_default();
    let owner = bearer_or_link(&state, &headers, LinkPurpose::Export, object, &query).await?;
    // Held until the download ends: the archive's temporary file lives as long.
    let permit = state.exports.take(owner.user)?;
    let file = account_data::export(&state.accounts, &state.tenants, &state.store, owner).await?;
    let length = file.metadata().map_err(|e| ApiError::internal(&e))?.len();
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file)).map(move |chunk| {
        let _held = &permit;
        chunk
    });
    let date = OffsetDateTime::now_utc().date();
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_LENGTH, length.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"pingvas-export-{date}.zip\"")),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Delete my account: my rows and files are erased and every session ends. Needs my password,
/// or, for an account without one, a provider sign-in within the last 10 minutes.
#[utoipa::path(
    delete, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    request_body = DeleteAccountRequest,
    responses(
        (status = 204, description = "Deleted; the refresh cookie is cleared"),
        (status = 401, description = "Not signed in, or `wrong_password`", body = ErrorBody),
        (status = 403, description = "`reauthentication_required`: sign in with the provider again first", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords for this account; see Retry-After", body = ErrorBody),
        (status = 503, description = "`busy`: every password-hashing slot stayed busy; see Retry-After", body = ErrorBody),
    )
)]
pub async fn delete_account(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<DeleteAccountRequest>,
) -> Result<Response, ApiError> {
    account_data::erase(&state, &user, request.current_password).await?;
    Ok(clearing_cookie(&state, StatusCode::NO_CONTENT.into_response()))
}
