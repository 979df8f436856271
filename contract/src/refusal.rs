//! What a refused request means to a client, said once per core error: the HTTP status, a stable
//! `code`, a sentence for people, the field at fault and when to try again. The REST API's
//! `ApiError` and the UI's [`UiError`] are both built from it, so the two cannot disagree on a
//! refusal (the server's refusal table, `core/src/refusals.rs`, fills it in for every core error).

use std::{borrow::Cow, time::Duration};

use crate::error::UiError;

/// One refusal, as both the REST API and the UI answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status: 401, 403, 404, 409, 413, 415, 422, 429, 500 or 503.
    pub status: u16,
    /// Stable snake_case identifier, e.g. `email_taken`.
    pub code: &'static str,
    /// For people: what went wrong and, where possible, what to do.
    pub message: Cow<'static, str>,
    /// The request field at fault, so a form can show the message beside it.
    pub field: Option<&'static str>,
    /// When it may be tried again (429s, and 503s for a passing overload).
    pub retry_after: Option<Duration>,
}

impl Refusal {
    /// A refusal with a status, a code and a message.
    #[must_use]
    pub fn new(status: u16, code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self { status, code, message: message.into(), field: None, retry_after: None }
    }

    /// Names the request field at fault.
    #[must_use]
    pub fn field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    /// Says when to try again.
    #[must_use]
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// 401: the access token is missing, expired or revoked; clients refresh once, then sign in.
    #[must_use]
    pub fn unauthenticated() -> Self {
        Self::new(401, Self::INVALID_TOKEN, "Your session has ended. Sign in again.")
    }

    /// 500 for a failure on our side. The caller logs the details; the message never has them.
    #[must_use]
    pub fn internal() -> Self {
        Self::new(500, "internal_error", "Something went wrong on our side. Please try again in a moment.")
    }

    /// The code of [`Refusal::unauthenticated`].
    pub const INVALID_TOKEN: &'static str = "invalid_token";
}

impl From<Refusal> for UiError {
    fn from(refusal: Refusal) -> Self {
        let message = refusal.message.into_owned();
        match refusal {
            Refusal { status: 401, code: Refusal::INVALID_TOKEN, .. } => Self::Unauthenticated,
            Refusal { status, retry_after: None, .. } if status >= 500 => Self::Failed(message),
            Refusal { status: 429, retry_after: Some(after), .. } => {
                Self::TooMany { message, retry_after_seconds: after.as_secs() }
            }
            Refusal { status, field: Some(field), .. } => {
                Self::Invalid { status, field: field.into(), message }
            }
            Refusal { status, .. } => Self::Refused { status, message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ui_answers_each_refusal_with_its_status_and_keeps_fields_and_retry_times() {
        let cases = [
            Refusal::new(422, "weak_password", "Too short.").field("password"),
            Refusal::new(409, "email_taken", "Taken.").field("email"),
            Refusal::new(401, "wrong_password", "Wrong.").field("current_password"),
            Refusal::new(401, "invalid_credentials", "No."),
            Refusal::unauthenticated(),
            Refusal::new(403, "plan_required", "Pro."),
            Refusal::new(404, "not_found", "Not found."),
            Refusal::new(429, "rate_limited", "Later.").retry_after(Duration::from_secs(30)),
            Refusal::internal(),
            Refusal::new(503, "busy", "Busy; try again in 2 seconds.").retry_after(Duration::from_secs(2)),
        ];
        for refusal in cases {
            let ui = UiError::from(refusal.clone());
            assert_eq!(ui.status(), refusal.status, "{refusal:?} became {ui:?}");
            if let Some(field) = refusal.field {
                assert_eq!(ui.for_field(field).as_deref(), Some(&*refusal.message));
            }
            if let (Some(after), 429) = (refusal.retry_after, refusal.status) {
                assert!(
                    matches!(ui, UiError::TooMany { retry_after_seconds, .. } if retry_after_seconds == after.as_secs())
                );
            }
        }
        assert_eq!(UiError::from(Refusal::unauthenticated()), UiError::Unauthenticated);
        assert_eq!(UiError::from(Refusal::new(401, "invalid_credentials", "No.")).status(), 401);
        assert_ne!(UiError::from(Refusal::new(401, "invalid_credentials", "No.")), UiError::Unauthenticated);
    }
}
