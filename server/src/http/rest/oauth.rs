//! REST routes for provider sign-in: `GET /api/v1/auth/{google,discord}` starts it,
//! `GET /api/v1/auth/{google,discord}/callback` finishes it, `GET /api/v1/auth/providers` says
//! which are offered. An unconfigured provider's routes answer 404.
//!
//! The authorization's secrets live in a ten-minute server-side session (tower-sessions in
//! PostgreSQL, cookie `SameSite=Lax` so it survives the provider's redirect back). The callback
//! takes them out at once: a `state` works once, and hands them to the core
//! (`oauth::callback::complete`), whose outcome it maps to redirects. On success it sets the refresh cookie and
//! redirects to the app's landing page, which obtains an access token through `refresh`: no
//! token is ever put in a URL.

use axum::{
    Json,
    extract::{Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use contract::account::SignInOptions;
use serde::Deserialize;
use time::OffsetDateTime;
use tower_sessions::{Expiry, Session, SessionManagerLayer, cookie::SameSite};

use crate::http::{
    AppState,
    error::{ApiError, ErrorBody},
    rest::auth::with_tokens,
};
use pingvas_core::{
    accounts::ClientContext,
    auth::cookie::REFRESH_COOKIE_PATH,
    config::Provider,
    oauth::{
        callback::{self, CallbackError, CallbackParams},
        pending::{PENDING_KEY, PENDING_SECONDS, PendingAuthorization},
        session_store::PgSessionStore,
    },
};

/// The landing page that finishes sign-in in the browser.
pub const LANDING_PATH: &str = "/auth/complete";

/// The session layer for the OAuth routes.
#[must_use]
pub fn session_layer(store: PgSessionStore, secure: bool) -> SessionManagerLayer<PgSessionStore> {
    SessionManagerLayer::new(store)
        .with_name(if secure { "__Secure-pingvas_oauth" } else { "pingvas_oauth" })
        .with_path(REFRESH_COOKIE_PATH)
        .with_http_only(true)
        .with_secure(secure)
        // Lax, not Strict: the provider's redirect back is a cross-site top-level navigation.
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(PENDING_SECONDS)))
}

/// `?next=` on the start routes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct StartQuery {
    /// A path in the app to return to after signing in (default `/`).
    pub next: Option<String>,
}

/// What the provider sends back.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CallbackQuery {
    /// The authorization code.
    pub code: Option<String>,
    /// The state sent with the authorization request.
    pub state: Option<String>,
    /// Set when the user declined or the provider failed.
    pub error: Option<String>,
}

fn not_configured(provider: Provider) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("Sign-in with {} is not available here.", provider.display_name()),
    )
    .into_response()
}

/// `302 Found` to `location` (API.md: redirects in the OAuth flow are 302s).
fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(e) => ApiError::internal(&e).into_response(),
    }
}

/// Back to the sign-in page with a reason it can explain.
fn back_to_login(reason: &str) -> Response {
    found(&format!("/login?error={reason}"))
}

async fn start(state: AppState, session: Session, provider: Provider, query: StartQuery) -> Response {
    if !state.oauth.is_configured(provider) {
        return not_configured(provider);
    }
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let (url, pending) = match state.oauth.start(provider, query.next.as_deref(), now) {
        Ok(started) => started,
        Err(e) => return ApiError::internal(&e).into_response(),
    };
    // One sign-in in progress per browser: starting again replaces (and so invalidates) the last.
    if let Err(e) = session.insert(PENDING_KEY, &pending).await {
        return ApiError::internal(&e).into_response();
    }
    let mut response = found(&url);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn callback(
    state: AppState,
    session: Session,
    client: ClientContext,
    provider: Provider,
    query: CallbackQuery,
) -> Response {
    if !state.oauth.is_configured(provider) {
        return not_configured(provider);
    }
    // Taken out before anything else, so no `state` is ever accepted twice; the short-lived
    // session ends here whatever happens next.
    let pending: Option<PendingAuthorization> = session.remove(PENDING_KEY).await.ok().flatten();
    if let Err(e) = session.flush().await {
        tracing::warn!(error = %e, "could not delete the OAuth session");
    }
    let params = CallbackParams { code: query.code, state: query.state, error: query.error };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    match callback::complete(&state.oauth, &state.accounts, provider, pending, params, &client, now).await {
        Ok(signed_in) => {
            let next: String =
                oauth2::url::form_urlencoded::byte_serialize(signed_in.next.as_bytes()).collect();
            let landing = found(&format!("{LANDING_PATH}?next={next}"));
            with_tokens(&state, landing, &signed_in.tokens)
        }
        Err(CallbackError::InvalidState(e)) => {
            tracing::warn!(%provider, reason = %e, "OAuth callback refused");
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_oauth_state",
                "This sign-in link is invalid or has expired. Start signing in again.",
            )
            .into_response()
        }
        Err(CallbackError::Declined(error)) => {
            tracing::info!(%provider, error, "provider sign-in declined");
            back_to_login("oauth_cancelled")
        }
        Err(CallbackError::NoCode) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_oauth_code",
            "The provider sent no authorization code.",
        )
        .into_response(),
        Err(CallbackError::ProviderFailed(e)) => {
            tracing::warn!(%provider, error = %e, "provider sign-in failed");
            back_to_login("oauth_failed")
        }
        Err(CallbackError::Refused(refusal)) => back_to_login(refusal.code()),
        Err(CallbackError::Account(other)) => ApiError::from(other).into_response(),
    }
}

/// Which sign-in providers are offered.
#[utoipa::path(
    get, path = "/api/v1/auth/providers", tag = "auth",
    responses((status = 200, description = "Configured providers", body = SignInOptions))
)]
pub async fn providers(State(state): State<AppState>) -> Json<SignInOptions> {
    Json(SignInOptions {
        google: state.oauth.is_configured(Provider::Google),
        discord: state.oauth.is_configured(Provider::Discord),
    })
}

/// Start signing in with Google (OpenID Connect, PKCE S256, state and nonce).
#[utoipa::path(
    get, path = "/api/v1/auth/google", tag = "auth", params(StartQuery),
    responses(
        (status = 302, description = "To Google's consent page"),
        (status = 404, description = "Google sign-in is not configured", body = ErrorBody),
    )
)]
pub async fn google_start(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<StartQuery>,
) -> Response {
    start(state, session, Provider::Google, query).await
}

/// Finish signing in with Google.
#[utoipa::path(
    get, path = "/api/v1/auth/google/callback", tag = "auth", params(CallbackQuery),
    responses(
        (status = 302, description = "Signed in: to the app's landing page with the refresh cookie set; \
                                      or back to /login with a reason"),
        (status = 400, description = "Missing, unknown, reused, expired or foreign state; no code", body = ErrorBody),
        (status = 404, description = "Google sign-in is not configured", body = ErrorBody),
    )
)]
pub async fn google_callback(
    State(state): State<AppState>,
    session: Session,
    client: ClientContext,
    Query(query): Query<CallbackQuery>,
) -> Response {
    callback(state, session, client, Provider::Google, query).await
}

/// Start signing in with Discord (OAuth 2.0, PKCE S256 and state).
#[utoipa::path(
    get, path = "/api/v1/auth/discord", tag = "auth", params(StartQuery),
    responses(
        (status = 302, description = "To Discord's consent page"),
        (status = 404, description = "Discord sign-in is not configured", body = ErrorBody),
    )
)]
pub async fn discord_start(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<StartQuery>,
) -> Response {
    start(state, session, Provider::Discord, query).await
}

/// Finish signing in with Discord.
#[utoipa::path(
    get, path = "/api/v1/auth/discord/callback", tag = "auth", params(CallbackQuery),
    responses(
        (status = 302, description = "Signed in: to the app's landing page with the refresh cookie set; \
                                      or back to /login with a reason"),
        (status = 400, description = "Missing, unknown, reused, expired or foreign state; no code", body = ErrorBody),
        (status = 404, description = "Discord sign-in is not configured", body = ErrorBody),
    )
)]
pub async fn discord_callback(
    State(state): State<AppState>,
    session: Session,
    client: ClientContext,
    Query(query): Query<CallbackQuery>,
) -> Response {
    callback(state, session, client, Provider::Discord, query).await
}
