//! The UI's server functions for accounts. Each one hands the request to the server's
//! [`AccountBackend`](super::backend::AccountBackend), the same core the REST API uses.
//!
//! They are mounted under `/api/v1/auth/ui/…`, inside the refresh cookie's path, so sign-in,
//! refresh and sign-out can set and read that cookie. Calls that need the user take the
//! in-memory access token as an argument (in the POST body, never in a URL).

use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use super::account::{
    ChangeEmailRequest, ChangePasswordRequest, DeleteAccountRequest, LoginRequest, RegisterRequest,
};
use super::{
    account::{EmailConfirmed, SessionInfo, SignInOptions, SignedIn, UpdateProfileRequest, UserProfile},
    error::UiError,
};

#[cfg(feature = "ssr")]
mod edge {
    use std::{net::SocketAddr, sync::Arc};

    use axum::extract::ConnectInfo;
    use http::{HeaderMap, HeaderValue, header::SET_COOKIE};
    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;

    use crate::api::{
        backend::{AccountBackend, UiReply, UiRequest},
        error::UiError,
    };

    /// The backend the server provided.
    pub fn backend() -> Result<Arc<dyn AccountBackend>, UiError> {
        use_context::<Arc<dyn AccountBackend>>()
            .ok_or_else(|| UiError::Failed("The server is not set up for accounts.".into()))
    }

    /// The current request's headers and peer.
    pub async fn request() -> Result<UiRequest, UiError> {
        let headers: HeaderMap =
            leptos_axum::extract().await.map_err(|e| UiError::Failed(format!("reading the request: {e}")))?;
        let peer = leptos_axum::extract::<ConnectInfo<SocketAddr>>().await.ok().map(|info| info.0);
        Ok(UiRequest { headers, peer })
    }

    /// Sets the response's status from the error (see [`super::set_error_status`]).
    pub fn finish<T>(result: Result<T, UiError>) -> Result<T, UiError> {
        super::set_error_status(&result);
        result
    }

    /// Sends a reply's cookies with the response and returns its value.
    pub fn deliver<T>(reply: UiReply<T>) -> T {
        if let Some(response) = use_context::<ResponseOptions>() {
            for cookie in &reply.set_cookies {
                if let Ok(value) = HeaderValue::from_str(cookie) {
                    response.append_header(SET_COOKIE, value);
                }
            }
        }
        reply.value
    }
}

/// Sets the response's status from an error, so HTTP clients of server functions see 401, 403,
/// 404, 422 or 429 (with `Retry-After`, as the REST API sends it) rather than a generic 500.
#[cfg(feature = "ssr")]
pub(crate) fn set_error_status<T>(result: &Result<T, UiError>) {
    let (Err(e), Some(response)) = (result, use_context::<leptos_axum::ResponseOptions>()) else { return };
    if let Ok(status) = http::StatusCode::from_u16(e.status()) {
        response.set_status(status);
    }
    if let UiError::TooMany { retry_after_seconds, .. } = e {
        response
            .insert_header(http::header::RETRY_AFTER, http::HeaderValue::from((*retry_after_seconds).max(1)));
    }
}

/// Creates an email/password account and signs in.
#[server(prefix = "/api/v1/auth/ui", endpoint = "register")]
pub async fn ui_register(
    email: String,
    password: String,
    full_name: Option<String>,
) -> Result<SignedIn, UiError> {
    edge::finish(
        async move {
            let request = edge::request().await?;
            let full_name = full_name.filter(|n| !n.trim().is_empty());
            let reply =
                edge::backend()?.register(&request, RegisterRequest { email, password, full_name }).await?;
            Ok(edge::deliver(reply))
        }
        .await,
    )
}

/// Signs in with email and password.
#[server(prefix = "/api/v1/auth/ui", endpoint = "login")]
pub async fn ui_login(email: String, password: String) -> Result<SignedIn, UiError> {
    edge::finish(
        async move {
            let request = edge::request().await?;
            let reply = edge::backend()?.login(&request, LoginRequest { email, password }).await?;
            Ok(edge::deliver(reply))
        }
        .await,
    )
}

/// A new access token from the refresh cookie; `None` when signed out.
#[server(prefix = "/api/v1/auth/ui", endpoint = "refresh")]
pub async fn ui_refresh() -> Result<Option<SignedIn>, UiError> {
    edge::finish(
        async move {
            let request = edge::request().await?;
            let reply = edge::backend()?.refresh(&request).await?;
            Ok(edge::deliver(reply))
        }
        .await,
    )
}

/// Signs this browser out.
#[server(prefix = "/api/v1/auth/ui", endpoint = "logout")]
pub async fn ui_logout(access_token: Option<String>) -> Result<(), UiError> {
    edge::finish(
        async move {
            let request = edge::request().await?;
            let reply = edge::backend()?.logout(&request, access_token).await?;
            edge::deliver(reply);
            Ok(())
        }
        .await,
    )
}

/// Which sign-in providers are offered.
#[server(prefix = "/api/v1/auth/ui", endpoint = "options")]
pub async fn ui_sign_in_options() -> Result<SignInOptions, UiError> {
    edge::finish(async move { Ok(edge::backend()?.sign_in_options()) }.await)
}

/// The caller's profile.
#[server(prefix = "/api/v1/auth/ui", endpoint = "profile")]
pub async fn ui_profile(access_token: String) -> Result<UserProfile, UiError> {
    edge::finish(async move { edge::backend()?.profile(&access_token).await }.await)
}

/// Edits the caller's profile.
#[server(prefix = "/api/v1/auth/ui", endpoint = "update_profile")]
pub async fn ui_update_profile(
    access_token: String,
    changes: UpdateProfileRequest,
) -> Result<UserProfile, UiError> {
    edge::finish(async move { edge::backend()?.update_profile(&access_token, changes).await }.await)
}

/// Changes the caller's password.
#[server(prefix = "/api/v1/auth/ui", endpoint = "change_password")]
pub async fn ui_change_password(
    access_token: String,
    current_password: Option<String>,
    new_password: String,
) -> Result<(), UiError> {
    edge::finish(
        async move {
            let request = edge::request().await?;
            let body = ChangePasswordRequest {
                current_password: current_password.filter(|p| !p.is_empty()),
                new_password,
            };
            edge::backend()?.change_password(&request, &access_token, body).await
        }
        .await,
    )
}

/// The caller's active sessions.
#[server(prefix = "/api/v1/auth/ui", endpoint = "sessions")]
pub async fn ui_sessions(access_token: String) -> Result<Vec<SessionInfo>, UiError> {
    edge::finish(async move { edge::backend()?.sessions(&access_token).await }.await)
}

/// Ends one of the caller's sessions.
#[server(prefix = "/api/v1/auth/ui", endpoint = "revoke_session")]
pub async fn ui_revoke_session(access_token: String, id: Uuid) -> Result<(), UiError> {
    edge::finish(async move { edge::backend()?.revoke_session(&access_token, id).await }.await)
}

/// Confirms an address with the token of an emailed link (no sign-in needed).
#[server(prefix = "/api/v1/auth/ui", endpoint = "confirm_email")]
pub async fn ui_confirm_email(token: String) -> Result<EmailConfirmed, UiError> {
    edge::finish(async move { edge::backend()?.confirm_email(&token).await }.await)
}

/// Sends the caller another verification link.
#[server(prefix = "/api/v1/auth/ui", endpoint = "resend_verification")]
pub async fn ui_resend_verification(access_token: String) -> Result<(), UiError> {
    edge::finish(async move { edge::backend()?.resend_verification(&access_token).await }.await)
}

/// Sends a password-reset link to `email` if it has an account.
#[server(prefix = "/api/v1/auth/ui", endpoint = "request_password_reset")]
pub async fn ui_request_password_reset(email: String) -> Result<(), UiError> {
    edge::finish(
        async move {
            let request = edge::request().await?;
            edge::backend()?.request_password_reset(&request, &email).await
        }
        .await,
    )
}

/// Sets a new password with a reset link's token.
#[server(prefix = "/api/v1/auth/ui", endpoint = "reset_password")]
pub async fn ui_reset_password(token: String, new_password: String) -> Result<(), UiError> {
    edge::finish(async move { edge::backend()?.reset_password(&token, new_password).await }.await)
}

/// Starts moving the caller's account to `new_email`.
#[server(prefix = "/api/v1/auth/ui", endpoint = "change_email")]
pub async fn ui_change_email(
    access_token: String,
    new_email: String,
    current_password: Option<String>,
) -> Result<(), UiError> {
    edge::finish(
        async move {
            let request = edge::request().await?;
            let body = ChangeEmailRequest {
                new_email,
                current_password: current_password.filter(|p| !p.is_empty()),
            };
            edge::backend()?.change_email(&request, &access_token, body).await
        }
        .await,
    )
}

/// Deletes the caller's account and everything it holds.
#[server(prefix = "/api/v1/auth/ui", endpoint = "delete_account")]
pub async fn ui_delete_account(
    access_token: String,
    current_password: Option<String>,
) -> Result<(), UiError> {
    edge::finish(
        async move {
            let request = edge::request().await?;
            let body = DeleteAccountRequest { current_password: current_password.filter(|p| !p.is_empty()) };
            let reply = edge::backend()?.delete_account(&request, &access_token, body).await?;
            edge::deliver(reply);
            Ok(())
        }
        .await,
    )
}

/// A link that downloads the caller's data export (valid for an hour, while the session lasts).
#[server(prefix = "/api/v1/auth/ui", endpoint = "export_link")]
pub async fn ui_export_link(access_token: String) -> Result<String, UiError> {
    edge::finish(async move { edge::backend()?.export_link(&access_token).await }.await)
}
