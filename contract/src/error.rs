//! The error the UI's server functions return: what a page needs to react (show a message beside
//! a field, refresh the session once, send the user to sign in) and nothing internal.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// Why a UI call failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum UiError {
    /// A field is at fault (invalid, taken, the wrong password…); show `message` beside it.
    #[error("{message}")]
    Invalid {
        /// 422 for an invalid value; 401, 403 or 409 when a valid value was refused.
        status: u16,
        /// The request field, e.g. `password`.
        field: String,
        /// What to change.
        message: String,
    },
    /// The access token is missing, expired or revoked: refresh once, else sign in.
    #[error("Your session has ended. Sign in again.")]
    Unauthenticated,
    /// The request was understood and refused (wrong password, too many attempts, a foreign
    /// origin…), with the HTTP status that says so.
    #[error("{message}")]
    Refused {
        /// 401, 403, 404, 409, 413 or 415.
        status: u16,
        /// For people.
        message: String,
    },
    /// Too many attempts, or no images left this month: refused with 429 and a `Retry-After`.
    #[error("{message}")]
    TooMany {
        /// For people: what was refused and when it can be tried again.
        message: String,
        /// Whole seconds until it can be tried again.
        retry_after_seconds: u64,
    },
    /// Something failed on the way or on the server.
    #[error("{0}")]
    Failed(String),
}

impl UiError {
    /// The message for `field`, if this error is about it.
    #[must_use]
    pub fn for_field(&self, name: &str) -> Option<String> {
        match self {
            Self::Invalid { field, message, .. } if field == name => Some(message.clone()),
            _ => None,
        }
    }
}

impl UiError {
    /// The HTTP status a server function answers with this error.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::Invalid { status, .. } | Self::Refused { status, .. } => *status,
            Self::Unauthenticated => 401,
            Self::TooMany { .. } => 429,
            Self::Failed(_) => 500,
        }
    }
}

impl FromServerFnError for UiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Failed(match value {
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => {
                "Could not reach the server. Check your connection and try again.".to_owned()
            }
            other => format!("Something went wrong: {other}"),
        })
    }
}
