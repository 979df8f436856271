//! An authorization in progress: what the callback must find in the browser's server-side
//! session to accept a code. It is taken out of the session on the first callback, so each
//! `state` works once (SECURITY.md 11), and it names its provider (SECURITY.md 12).

use crate::secrets::constant_time_eq;
use serde::{Deserialize, Serialize};

use crate::config::Provider;

/// The session key it is stored under.
pub const PENDING_KEY: &str = "oauth_pending";
/// How long a started sign-in may take.
pub const PENDING_SECONDS: i64 = 10 * 60;

/// One authorization request's secrets, kept server-side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAuthorization {
    /// The provider it was sent to.
    pub provider: Provider,
    /// The `state` sent along.
    pub state: String,
    /// The PKCE verifier whose S256 challenge was sent.
    pub pkce_verifier: String,
    /// The OpenID Connect `nonce` (Google).
    pub nonce: Option<String>,
    /// Where to go after signing in (a local path).
    pub next: String,
    /// When it started (seconds since the epoch).
    pub issued_at: i64,
}

/// Why a callback's `state` is refused; all answer 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// No sign-in was started in this browser, or it was already completed.
    #[error("no sign-in is in progress in this browser (or it was already used)")]
    Missing,
    /// The callback carries no `state`, or another one.
    #[error("the state does not match the sign-in that was started")]
    Mismatch,
    /// It was started for another provider (mix-up attack).
    #[error("the sign-in was started with another provider")]
    WrongProvider,
    /// It was started more than ten minutes ago.
    #[error("the sign-in took too long")]
    Expired,
}

impl PendingAuthorization {
    /// Checks a callback for `provider` carrying `state` at `now`.
    ///
    /// # Errors
    /// The first [`StateError`] that applies.
    pub fn verify(&self, provider: Provider, state: Option<&str>, now: i64) -> Result<(), StateError> {
        if self.provider != provider {
            return Err(StateError::WrongProvider);
        }
        let state = state.ok_or(StateError::Mismatch)?;
        if !constant_time_eq(state.as_bytes(), self.state.as_bytes()) {
            return Err(StateError::Mismatch);
        }
        if now - self.issued_at > PENDING_SECONDS || now < self.issued_at - 60 {
            return Err(StateError::Expired);
        }
        Ok(())
    }
}

/// `next` if it is a path on this site, else `/`: never a scheme, host or protocol-relative
/// URL, so sign-in cannot be turned into an open redirect.
#[must_use]
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(|c| c.is_control() || c == '\\')
                && path.len() <= 2048 =>
        {
            path.to_owned()
        }
        // Signed-in users land on the workspace.
        _ => "/generate".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> PendingAuthorization {
        PendingAuthorization {
            provider: Provider::Google,
            state: "state-123".into(),
            pkce_verifier: "verifier".into(),
            nonce: Some("nonce".into()),
            next: "/".into(),
            issued_at: 1_000_000,
        }
    }

    #[test]
    fn only_the_same_provider_state_and_time_window_pass() {
        let p = pending();
        assert_eq!(p.verify(Provider::Google, Some("state-123"), 1_000_010), Ok(()));
        assert_eq!(p.verify(Provider::Discord, Some("state-123"), 1_000_010), Err(StateError::WrongProvider));
        assert_eq!(p.verify(Provider::Google, Some("state-124"), 1_000_010), Err(StateError::Mismatch));
        assert_eq!(p.verify(Provider::Google, None, 1_000_010), Err(StateError::Mismatch));
        assert_eq!(p.verify(Provider::Google, Some("state-12"), 1_000_010), Err(StateError::Mismatch));
        assert_eq!(p.verify(Provider::Google, Some("state-123"), 1_000_000 + 601), Err(StateError::Expired));
    }

    #[test]
    fn next_is_kept_only_when_it_is_a_local_path() {
        for good in ["/", "/gallery", "/account?tab=sessions", "/a/b#c"] {
            assert_eq!(safe_next(Some(good)), good);
        }
        for bad in [
            None,
            Some(""),
            Some("https://evil.example/"),
            Some("//evil.example"),
            Some("/\\evil.example"),
            Some("javascript:alert(1)"),
            Some("/ok\r\nSet-Cookie: x"),
        ] {
            assert_eq!(safe_next(bad), "/generate", "{bad:?}");
        }
    }
}
