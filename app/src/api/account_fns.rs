//! The UI's server functions for accounts. Each one calls the accounts core (`pingvas_core::accounts`)
//! as the REST API does, through the request's [`Call`](super::call::Call) on the server.
//!
//! They are mounted under `/api/v1/auth/ui/…`, inside the refresh cookie's path, so sign-in,
//! refresh and sign-out can set and read that cookie. Calls that need the user take the
//! in-memory access token as an argument (in the POST body, never in a URL).

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use contract::account::{ChangePasswordRequest, LoginRequest, RegisterRequest};
use contract::ids::SessionId;
use contract::{
    account::{EmailConfirmed, SessionInfo, SignInOptions, SignedIn, UpdateProfileRequest, UserProfile},
    error::UiError,
};
#[cfg(feature = "ssr")]
use pingvas_core::{
    account_data,
    accounts::{AccountError, SignedInSession},
    config::Provider,
};
#[cfg(feature = "ssr")]
use time::OffsetDateTime;

#[cfg(feature = "ssr")]
use super::call::{Call, answer, signed_in};

/// Creates an email/password account and signs in.
#[server(prefix = "/api/v1/auth/ui", endpoint = "register")]
pub async fn ui_register(
    email: String,
    password: String,
    full_name: Option<String>,
) -> Result<SignedIn, UiError> {
    answer(
        async move {
            let call = Call::current().await?;
            call.check_origin()?;
            let full_name = full_name.filter(|n| !n.trim().is_empty());
            let session = call
                .core
                .accounts
                .register(RegisterRequest { email, password, full_name }, &call.client())
                .await?;
            Ok(call.sign_in(session))
        }
        .await,
    )
}

/// Signs in with email and password.
#[server(prefix = "/api/v1/auth/ui", endpoint = "login")]
pub async fn ui_login(email: String, password: String) -> Result<SignedIn, UiError> {
    answer(
        async move {
            let call = Call::current().await?;
            call.check_origin()?;
            let session = call.core.accounts.login(LoginRequest { email, password }, &call.client()).await?;
            Ok(call.sign_in(session))
        }
        .await,
    )
}

/// A new access token from the refresh cookie; `None` when signed out.
#[server(prefix = "/api/v1/auth/ui", endpoint = "refresh")]
pub async fn ui_refresh() -> Result<Option<SignedIn>, UiError> {
    answer(
        async move {
            let call = Call::current().await?;
            call.check_origin()?;
            let Some(token) = call.refresh_token() else { return Ok(None) };
            let tokens = match call.core.accounts.refresh(&token, &call.client()).await {
                Ok(tokens) => tokens,
                Err(AccountError::Unauthenticated) => {
                    call.sign_out();
                    return Ok(None);
                }
                Err(other) => return Err(other.into()),
            };
            // The tokens say whose they are: no need to verify the access token just signed.
            let user = call.core.accounts.profile(tokens.user).await?;
            Ok(Some(call.sign_in(SignedInSession { tokens, user })))
        }
        .await,
    )
}

/// Signs this browser out.
#[server(prefix = "/api/v1/auth/ui", endpoint = "logout")]
pub async fn ui_logout(access_token: Option<String>) -> Result<(), UiError> {
    answer(
        async move {
            let call = Call::current().await?;
            call.check_origin()?;
            call.core.accounts.logout(call.refresh_token().as_ref(), access_token.as_deref()).await?;
            call.sign_out();
            Ok(())
        }
        .await,
    )
}

/// Which sign-in providers are offered.
#[server(prefix = "/api/v1/auth/ui", endpoint = "options")]
pub async fn ui_sign_in_options() -> Result<SignInOptions, UiError> {
    answer(super::call::core().map(|core| SignInOptions {
        google: core.oauth.is_configured(Provider::Google),
        discord: core.oauth.is_configured(Provider::Discord),
    }))
}

/// The caller's profile.
#[server(prefix = "/api/v1/auth/ui", endpoint = "profile")]
pub async fn ui_profile(access_token: String) -> Result<UserProfile, UiError> {
    answer(
        async move {
            let (core, user) = signed_in(&access_token).await?;
            Ok(core.accounts.profile(user.user_id).await?)
        }
        .await,
    )
}

/// Edits the caller's profile.
#[server(prefix = "/api/v1/auth/ui", endpoint = "update_profile")]
pub async fn ui_update_profile(
    access_token: String,
    changes: UpdateProfileRequest,
) -> Result<UserProfile, UiError> {
    answer(
        async move {
            let (core, user) = signed_in(&access_token).await?;
            Ok(core.accounts.update_profile(&user, &changes).await?)
        }
        .await,
    )
}

/// Changes the caller's password.
#[server(prefix = "/api/v1/auth/ui", endpoint = "change_password")]
pub async fn ui_change_password(
    access_token: String,
    current_password: Option<String>,
    new_password: String,
) -> Result<(), UiError> {
    answer(
        async move {
            let call = Call::current().await?;
            let user = call.user(&access_token).await?;
            let body = ChangePasswordRequest {
                current_password: current_password.filter(|p| !p.is_empty()),
                new_password,
            };
            Ok(call.core.accounts.change_password(&user, body, &call.client()).await?)
        }
        .await,
    )
}

/// The caller's active sessions.
#[server(prefix = "/api/v1/auth/ui", endpoint = "sessions")]
pub async fn ui_sessions(access_token: String) -> Result<Vec<SessionInfo>, UiError> {
    answer(
        async move {
            let (core, user) = signed_in(&access_token).await?;
            Ok(core.accounts.sessions(&user).await?)
        }
        .await,
    )
}

/// Ends one of the caller's sessions.
#[server(prefix = "/api/v1/auth/ui", endpoint = "revoke_session")]
pub async fn ui_revoke_session(access_token: String, id: SessionId) -> Result<(), UiError> {
    answer(
        async move {
            let (core, user) = signed_in(&access_token).await?;
            Ok(core.accounts.revoke_session(&user, id).await?)
        }
        .await,
    )
}

/// Confirms an address with the token of an emailed link (no sign-in needed).
#[server(prefix = "/api/v1/auth/ui", endpoint = "confirm_email")]
pub async fn ui_confirm_email(token: String) -> Result<EmailConfirmed, UiError> {
    answer(async move { Ok(super::call::core()?.accounts.confirm_email(&token).await?) }.await)
}

/// Sends the caller another verification link.
#[server(prefix = "/api/v1/auth/ui", endpoint = "resend_verification")]
pub async fn ui_resend_verification(access_token: String) -> Result<(), UiError> {
    answer(
        async move {
            let (core, user) = signed_in(&access_token).await?;
            Ok(core.accounts.resend_verification(&user).await?)
        }
        .await,
    )
}

/// Sends a password-reset link to `email` if it has an account.
#[server(prefix = "/api/v1/auth/ui", endpoint = "request_password_reset")]
pub async fn ui_request_password_reset(email: String) -> Result<(), UiError> {
    answer(
        async move {
            let call = Call::current().await?;
            Ok(call.core.accounts.request_password_reset(&email, &call.client()).await?)
        }
        .await,
    )
}

/// Sets a new password with a reset link's token.
#[server(prefix = "/api/v1/auth/ui", endpoint = "reset_password")]
pub async fn ui_reset_password(token: String, new_password: String) -> Result<(), UiError> {
    answer(
        async move {
            let call = Call::current().await?;
            Ok(call.core.accounts.reset_password(&token, new_password, &call.client()).await?)
        }
        .await,
    )
}

/// Starts moving the caller's account to `new_email`.
#[server(prefix = "/api/v1/auth/ui", endpoint = "change_email")]
pub async fn ui_change_email(
    access_token: String,
    new_email: String,
    current_password: Option<String>,
) -> Result<(), UiError> {
    answer(
        async move {
            let call = Call::current().await?;
            let user = call.user(&access_token).await?;
            let current_password = current_password.filter(|p| !p.is_empty());
            Ok(call
                .core
                .accounts
                .request_email_change(&user, &new_email, current_password, &call.client())
                .await?)
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
    answer(
        async move {
            let call = Call::current().await?;
            call.check_origin()?;
            let user = call.user(&access_token).await?;
            let current_password = current_password.filter(|p| !p.is_empty());
            account_data::erase(&call.core, &user, current_password).await?;
            call.sign_out();
            Ok(())
        }
        .await,
    )
}

/// A link that downloads the caller's data export (valid for an hour, while the session lasts).
#[server(prefix = "/api/v1/auth/ui", endpoint = "export_link")]
pub async fn ui_export_link(access_token: String) -> Result<String, UiError> {
    answer(
        async move {
            let (core, user) = signed_in(&access_token).await?;
            Ok(account_data::export_link(&core.links, &user, OffsetDateTime::now_utc()))
        }
        .await,
    )
}
