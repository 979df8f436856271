//! Finishing a provider sign-in: the provider's redirect back, checked against the authorization
//! this browser started, exchanged for the user's identity, and signed in (or refused). The HTTP
//! handler only fetches the pending authorization from its session and maps the outcome to a
//! redirect or an error answer.

use crate::{
    accounts::{AccountError, Accounts, ClientContext, IssuedTokens, linking::LinkRefusal},
    config::Provider,
    oauth::{
        OAuthService,
        pending::{PendingAuthorization, StateError},
    },
};

/// What the provider's redirect back carries.
#[derive(Debug, Clone, Default)]
pub struct CallbackParams {
    /// The authorization code.
    pub code: Option<String>,
    /// The state sent with the authorization request.
    pub state: Option<String>,
    /// Set when the user declined or the provider failed.
    pub error: Option<String>,
}

/// A completed sign-in: the new session's tokens and the app path to return to.
#[derive(Debug)]
pub struct SignedIn {
    /// For the refresh cookie.
    pub tokens: IssuedTokens,
    /// The path in the app the user started from.
    pub next: String,
}

/// Why a callback did not sign anyone in.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// No sign-in in progress in this browser, or the `state` does not match it or expired (400).
    #[error("invalid state: {0}")]
    InvalidState(StateError),
    /// The user declined at the provider, or the provider reported an error.
    #[error("declined at the provider: {0}")]
    Declined(String),
    /// The provider's redirect had no authorization code (400).
    #[error("the provider sent no authorization code")]
    NoCode,
    /// Exchanging the code or reading the identity failed.
    #[error("the provider exchange failed: {0}")]
    ProviderFailed(String),
    /// The identity may not sign in (unverified email, disabled account…).
    #[error(transparent)]
    Refused(LinkRefusal),
    /// Signing in failed on our side.
    #[error(transparent)]
    Account(AccountError),
}

/// Completes `provider`'s sign-in from its redirect back. `pending` is the authorization this
/// browser started, already taken out of its session so that a `state` works once.
///
/// # Errors
/// [`CallbackError`]: each case has its own answer in the handler.
pub async fn complete(
    oauth: &OAuthService,
    accounts: &Accounts,
    provider: Provider,
    pending: Option<PendingAuthorization>,
    params: CallbackParams,
    client: &ClientContext,
    now: i64,
) -> Result<SignedIn, CallbackError> {
    let pending = pending.ok_or(StateError::Missing).map_err(CallbackError::InvalidState)?;
    pending.verify(provider, params.state.as_deref(), now).map_err(CallbackError::InvalidState)?;
    if let Some(error) = params.error {
        return Err(CallbackError::Declined(error));
    }
    let code = params.code.filter(|c| !c.is_empty()).ok_or(CallbackError::NoCode)?;
    let (identity, tokens) =
        oauth.finish(&pending, code).await.map_err(|e| CallbackError::ProviderFailed(e.to_string()))?;
    match accounts.sign_in_with_provider(&identity, &tokens, client).await {
        Ok(signed_in) => Ok(SignedIn { tokens: signed_in.tokens, next: pending.next }),
        Err(AccountError::ProviderRefused(refusal)) => Err(CallbackError::Refused(refusal)),
        Err(other) => Err(CallbackError::Account(other)),
    }
}
