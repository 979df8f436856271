//! REST routes for the gallery: `/api/v1/images` (list), `/api/v1/images/{id}` (read, edit,
//! delete) and the image's `file` and `thumbnail`, which also open by a signed link, since the
//! browser's `<img>` sends no bearer token; `/api/v1/images/upload` adds an image of one's own.

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use contract::images::{DEFAULT_PAGE, ImageFilter, ImageInfo, ImagePage, MAX_PAGE, UpdateImage};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::http::{
    AppState,
    error::{ApiError, ErrorBody},
    extractors::{current_user::bearer_token_of, json::ApiJson, query::ApiQuery},
    tenant_errors::parse_id,
};
use contract::ids::{BoardId, ImageId};
use pingvas_core::{
    accounts::CurrentUser,
    gallery,
    images::{self, Origin},
    imaging::ImagingError,
    links::{LinkOwner, LinkPurpose, SignedQuery},
    storage::StorageError,
    tenancy::TenantError,
};

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// `GET /api/v1/images` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImageQuery {
    /// Skip this many (default 0).
    pub offset: Option<i64>,
    /// Page size, 1–100 (default 24).
    pub limit: Option<i64>,
    /// Only this board's images.
    pub board_id: Option<Uuid>,
    /// Only starred images.
    pub starred: Option<bool>,
}

fn invalid(field: &'static str, message: &'static str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter", message).with_field(field)
}

impl ImageQuery {
    fn filter(&self) -> Result<ImageFilter, ApiError> {
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(invalid("offset", "Use an offset of 0 or more."));
        }
        let limit = self.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(invalid("limit", "Use a limit from 1 to 100."));
        }
        Ok(ImageFilter {
            offset,
            limit,
            board_id: self.board_id.map(BoardId),
            starred: self.starred.unwrap_or(false),
        })
    }
}

/// My images, newest first.
#[utoipa::path(
    get, path = "/api/v1/images", tag = "images", security(("bearer" = [])), params(ImageQuery),
    responses(
        (status = 200, description = "A page of the caller's images", body = ImagePage),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 422, description = "`invalid_parameter`: offset or limit out of range", body = ErrorBody),
    )
)]
pub async fn list_images(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<ImageQuery>,
) -> Result<Json<ImagePage>, ApiError> {
    Ok(Json(gallery::page(&state, &user, query.filter()?).await?))
}

/// One of my images, with its generation parameters.
#[utoipa::path(
    get, path = "/api/v1/images/{id}", tag = "images", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The image's id")),
    responses(
        (status = 200, description = "The image", body = ImageInfo),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No image of mine has this id", body = ErrorBody),
    )
)]
pub async fn get_image(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<ImageInfo>, ApiError> {
    Ok(Json(gallery::image(&state, &user, parse_id(&id)?).await?))
}

/// Star, unstar or move one of my images to a board (`board_id: null` takes it off its board).
#[utoipa::path(
    patch, path = "/api/v1/images/{id}", tag = "images", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The image's id")),
    request_body = UpdateImage,
    responses(
        (status = 200, description = "Changed", body = ImageInfo),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No image of mine has this id", body = ErrorBody),
        (status = 422, description = "`unknown_board`: not one of my boards", body = ErrorBody),
    )
)]
pub async fn update_image(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiJson(edit): ApiJson<UpdateImage>,
) -> Result<Json<ImageInfo>, ApiError> {
    Ok(Json(gallery::update(&state, &user, parse_id(&id)?, &edit).await?))
}

/// Keep a staged canvas result: it joins my gallery (accepting one already there changes nothing).
#[utoipa::path(
    post, path = "/api/v1/images/{id}/accept", tag = "images", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The image's id")),
    responses(
        (status = 200, description = "In the gallery", body = ImageInfo),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No image of mine has this id", body = ErrorBody),
    )
)]
pub async fn accept_image(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<ImageInfo>, ApiError> {
    Ok(Json(gallery::accept(&state, &user, parse_id(&id)?).await?))
}

/// Delete one of my images and its files (for a staged result: discard it).
#[utoipa::path(
    delete, path = "/api/v1/images/{id}", tag = "images", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The image's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No image of mine has this id", body = ErrorBody),
    )
)]
pub async fn delete_image(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    gallery::delete(&state, user.user_id, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who is asking for `object`: the bearer token's user, or else the owner a valid signed link
/// names.
///
/// # Errors
/// 401 when there is neither.
pub async fn bearer_or_link(
    state: &AppState,
    headers: &HeaderMap,
    purpose: LinkPurpose,
    object: Uuid,
    query: &SignedQuery,
) -> Result<LinkOwner, ApiError> {
    if let Some(token) = bearer_token_of(headers) {
        let user = state.accounts.authenticate(token).await?;
        return Ok(LinkOwner { user: user.user_id, session: user.session });
    }
    let owner = state.links.verify(purpose, object, query, now()).ok_or_else(ApiError::unauthenticated)?;
    // A link lives no longer than its session (SECURITY.md 43).
    if !state.accounts.session_alive(owner).await? {
        return Err(ApiError::unauthenticated());
    }
    Ok(owner)
}

async fn send_file(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    query: &SignedQuery,
    purpose: LinkPurpose,
) -> Result<Response, ApiError> {
    let id: ImageId = parse_id(id)?;
    let owner = bearer_or_link(state, headers, purpose, id.0, query).await?;
    let record = images::get(&state.tenants, owner.user, id).await?;
    let (key, content_type) = match purpose {
        LinkPurpose::Thumbnail => {
            (record.thumbnail_key.clone().ok_or(TenantError::NotFound)?, "image/webp".to_owned())
        }
        _ => (record.storage_key.clone(), record.content_type.clone()),
    };
    let bytes = state.store.get(&key).await.map_err(|e| match e {
        StorageError::NotFound(_) => {
            tracing::error!(key, "image row without its file");
            ApiError::from(TenantError::NotFound)
        }
        other => ApiError::internal(&other),
    })?;
    let extension = record.storage_key.rsplit('.').next().unwrap_or("png");
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            // Private: a shared cache must never hand one user's image to another.
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
            (header::CONTENT_DISPOSITION, format!("inline; filename=\"pingvas-{id}.{extension}\"")),
        ],
        bytes,
    )
        .into_response())
}

/// The image file (PNG with its generation parameters as text chunks, or the upload as sent).
#[utoipa::path(
    get, path = "/api/v1/images/{id}/file", tag = "images", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The image's id"), SignedQuery),
    responses(
        (status = 200, description = "The file: generated images are PNG, uploads keep their type",
            content(("image/png"), ("image/jpeg"), ("image/webp"))),
        (status = 401, description = "No bearer token and no valid signed link", body = ErrorBody),
        (status = 404, description = "No image of mine has this id", body = ErrorBody),
    )
)]
pub async fn image_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<SignedQuery>,
) -> Result<Response, ApiError> {
    send_file(&state, &headers, &id, &query, LinkPurpose::File).await
}

/// The image's WebP thumbnail (at most 256 pixels a side).
#[utoipa::path(
    get, path = "/api/v1/images/{id}/thumbnail", tag = "images", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The image's id"), SignedQuery),
    responses(
        (status = 200, description = "The thumbnail", content_type = "image/webp"),
        (status = 401, description = "No bearer token and no valid signed link", body = ErrorBody),
        (status = 404, description = "No image of mine has this id", body = ErrorBody),
    )
)]
pub async fn image_thumbnail(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<SignedQuery>,
) -> Result<Response, ApiError> {
    send_file(&state, &headers, &id, &query, LinkPurpose::Thumbnail).await
}

/// `POST /api/v1/images/upload` form (documentation only; the handler reads the parts).
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)] // Describes the multipart body for the OpenAPI document.
pub struct UploadForm {
    /// A PNG, JPEG or WebP image, at most 20 MB and 8192 pixels a side.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// One of my boards, for the image (not for assets).
    board_id: Option<Uuid>,
    /// `gallery` (the default): one of my pictures; `asset`: an image for edits to start from
    /// (a canvas's base or mask), kept out of the gallery.
    purpose: Option<String>,
}

/// Add an image of my own (PNG, JPEG or WebP, recognised by its content).
#[utoipa::path(
    post, path = "/api/v1/images/upload", tag = "images", security(("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = ImageInfo),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 413, description = "`too_large`: over 20 MB, or its header declares more pixels than `UPLOAD_MAX_PIXELS` (checked before decoding); `storage_quota_exceeded`: the gallery would pass the plan's storage budget (nothing is stored)", body = ErrorBody),
        (status = 415, description = "`not_an_image`: not a PNG, JPEG or WebP image", body = ErrorBody),
        (status = 422, description = "No `file` part, `unknown_board`, or `unsupported_image` (16-bit or float channels)", body = ErrorBody),
        (status = 503, description = "`busy`: uploads being received hold all of `UPLOAD_BUFFER_MIB`; see Retry-After", body = ErrorBody),
    )
)]
pub async fn upload_image(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(StatusCode, Json<ImageInfo>), ApiError> {
    // Bodies are held in memory until checked: their bytes, all uploads together, are bounded
    // (issue 33, finding 10). A body's share is its declared length (the route's limit without one).
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .unwrap_or(pingvas_core::imaging::MAX_UPLOAD_BYTES);
    let _buffer = state.upload_buffers.take(declared).await?;
    let invalid_form = || {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_form", "Send multipart/form-data with a `file` part.")
    };
    let multipart_error = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", ImagingError::TooLarge.to_string())
        } else {
            invalid_form()
        }
    };
    // Not multipart at all, or no boundary: answered in the API's error format, not axum's text.
    let mut form = form.map_err(|_| invalid_form())?;
    let (mut file, mut board_id, mut origin) = (None, None, Origin::Uploaded);
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") => file = Some(field.bytes().await.map_err(multipart_error)?),
            Some("board_id") => {
                let text = field.text().await.map_err(multipart_error)?;
                if !text.trim().is_empty() {
                    board_id = Some(text.trim().parse::<BoardId>().map_err(|_| {
                        TenantError::invalid("unknown_board", "board_id", "You have no board with this id.")
                    })?);
                }
            }
            Some("purpose") => {
                origin = match field.text().await.map_err(multipart_error)?.trim() {
                    "" | "gallery" => Origin::Uploaded,
                    "asset" => Origin::Asset,
                    _ => return Err(invalid("purpose", "Use `gallery` or `asset`.")),
                };
            }
            _ => {}
        }
    }
    let file = file.ok_or_else(|| invalid("file", "Choose an image file to upload (the `file` part)."))?;
    Ok((StatusCode::CREATED, Json(gallery::upload(&state, &user, board_id, origin, file).await?)))
}
