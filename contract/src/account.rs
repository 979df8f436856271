//! Sign-in, tokens, sessions and the user's profile.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{SessionId, UserId};

/// `POST /api/v1/auth/register`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterRequest {
    /// The address to sign in with.
    pub email: String,
    /// At least 15 characters, not a common password.
    pub password: String,
    /// How to address the user.
    #[serde(default)]
    pub full_name: Option<String>,
}

/// `POST /api/v1/auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    /// The account's email.
    pub email: String,
    /// Its password.
    pub password: String,
}

/// `POST /api/v1/users/me/password`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePasswordRequest {
    /// The password in use now; omitted by accounts that have none yet (provider sign-in only).
    #[serde(default)]
    pub current_password: Option<String>,
    /// The new password, under the same rules as at registration.
    pub new_password: String,
}

/// `PATCH /api/v1/users/me`: only the fields present change; an empty string clears an optional
/// field.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateProfileRequest {
    /// Display name, at most 100 characters.
    #[serde(default)]
    pub full_name: Option<String>,
    /// 3–32 characters of `a-z`, `0-9` and `_`, unique.
    #[serde(default)]
    pub username: Option<String>,
    /// At most 1000 characters.
    #[serde(default)]
    pub bio: Option<String>,
    /// A BCP 47 language tag such as `en` or `pt-BR`.
    #[serde(default)]
    pub locale: Option<String>,
    /// An IANA time zone such as `Europe/Vilnius`.
    #[serde(default)]
    pub timezone: Option<String>,
}

/// A new access token (the refresh token travels only in its cookie).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessToken {
    /// The JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// What register and login answer: a token and who it is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedIn {
    /// The JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The signed-in user.
    pub user: UserProfile,
}

/// The monthly image allowance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quota {
    /// Images per month; `null` means unlimited.
    pub limit: Option<i32>,
    /// Images generated (or reserved) this period.
    pub used: i32,
    /// Images left this period; `null` means unlimited.
    pub remaining: Option<i32>,
    /// When `used` goes back to zero.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub resets_at: OffsetDateTime,
}

/// A user as they see themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserProfile {
    /// The user's id.
    pub user_id: UserId,
    /// Sign-in address.
    pub email: String,
    /// Whether the address was confirmed (by a provider).
    pub email_verified: bool,
    /// Unique handle, if chosen.
    pub username: Option<String>,
    /// Display name.
    pub full_name: Option<String>,
    /// Picture from the provider.
    pub avatar_url: Option<String>,
    /// Free text about the user.
    pub bio: Option<String>,
    /// Language tag.
    pub locale: String,
    /// IANA time zone.
    pub timezone: String,
    /// `free`, `pro`, `studio` or `enterprise`.
    pub subscription_plan: String,
    /// Where a paid subscription stands: `none`, `pending`, `active`, `past_due` (a renewal
    /// failed: the page shows a banner), `cancelled` or `revoked`.
    pub billing_status: String,
    /// The monthly allowance.
    pub quota: Quota,
    /// Whether a password is set (otherwise only providers sign in).
    pub has_password: bool,
    /// Providers linked to the account (`google`, `discord`).
    pub linked_providers: Vec<String>,
    /// May see every user's data read-only.
    pub is_staff: bool,
    /// May administer users.
    pub is_superuser: bool,
    /// When the account was made.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}

impl UserProfile {
    /// The name to greet the user by: full name, else username, else the email's local part.
    #[must_use]
    pub fn display_name(&self) -> &str {
        self.full_name
            .as_deref()
            .filter(|name| !name.trim().is_empty())
            .or(self.username.as_deref())
            .unwrap_or_else(|| self.email.split('@').next().unwrap_or(&self.email))
    }
}

/// One signed-in device, as listed on the account page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    /// The session's id, for revoking it.
    pub id: SessionId,
    /// A readable device description derived from the browser's user agent.
    pub device_name: Option<String>,
    /// The address it last refreshed from.
    pub ip_address: Option<String>,
    /// The browser's user agent.
    pub user_agent: Option<String>,
    /// When it signed in.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    /// When it last refreshed its access token.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub last_used_at: OffsetDateTime,
    /// When it ends at the latest (30 days after sign-in).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: OffsetDateTime,
    /// Whether this is the session making the request.
    pub current: bool,
}

/// Which sign-in providers this server offers (those configured with a client id and secret).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignInOptions {
    /// "Continue with Google" is offered.
    pub google: bool,
    /// "Continue with Discord" is offered.
    pub discord: bool,
}

/// `POST /api/v1/auth/email/confirm`: the token from a verification or email-change link.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfirmEmailRequest {
    /// The `token` query parameter of the emailed link.
    pub token: String,
}

/// The answer to [`ConfirmEmailRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailConfirmed {
    /// The address now verified (the new one after a change).
    pub email: String,
    /// Whether the account moved to this address (an email change), not only verified it.
    pub changed: bool,
}

/// `POST /api/v1/auth/password-reset`: where to send a reset link.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordResetRequest {
    /// The account's email.
    pub email: String,
}

/// `POST /api/v1/auth/password-reset/confirm`: a new password with a reset link's token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResetPasswordRequest {
    /// The `token` query parameter of the emailed link.
    pub token: String,
    /// The new password, under the same rules as at registration.
    pub new_password: String,
}

/// `POST /api/v1/users/me/email`: move the account to another address once it is confirmed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeEmailRequest {
    /// The new address; a link is sent there.
    pub new_email: String,
    /// The account's password (accounts without one sign in with their provider again first).
    #[serde(default)]
    pub current_password: Option<String>,
}

/// `DELETE /api/v1/users/me`: the proof that the owner is asking.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeleteAccountRequest {
    /// The account's password (accounts without one sign in with their provider again first).
    #[serde(default)]
    pub current_password: Option<String>,
}
