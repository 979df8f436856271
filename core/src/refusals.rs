//! The refusal table: what each core error means to a client, written once. The REST API's
//! `ApiError` (`server/src/http/error.rs`) and the UI's `UiError` (below) are both made from these [`Refusal`]s,
//! so the same refusal gets the same status, code, field and `Retry-After` on both.
//! Internal failures are logged here, where their details are last seen, and leave as a plain 500.

pub use contract::refusal::Refusal;
use contract::{error::UiError, generation::GenerationRefusal};

use crate::{
    accounts::AccountError,
    admin::AdminError,
    billing::{BillingError, webhook::WebhookError},
    gallery::UploadError,
    generation::{GenerationError, events::WatchError},
    imaging::ImagingError,
    quota::{self, QuotaError},
    tenancy::TenantError,
};

/// A core error that may reach a client.
pub trait Refuses {
    /// What the error means to a client.
    fn refusal(self) -> Refusal;
}

/// The 500 for a failure on our side; `detail` goes to the log only (SECURITY.md 10).
pub fn internal(detail: &dyn std::fmt::Display) -> Refusal {
    tracing::error!(error = %detail, "request failed");
    Refusal::internal()
}

/// Each core error reaches the UI through its row in the table, and nowhere else.
macro_rules! answered_to_the_ui_from_the_table {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for UiError {
            fn from(error: $error) -> Self {
                error.refusal().into()
            }
        }
    )*};
}
answered_to_the_ui_from_the_table!(
    AccountError,
    TenantError,
    AdminError,
    QuotaError,
    GenerationError,
    WatchError,
    UploadError,
    BillingError
);

impl Refuses for AccountError {
    fn refusal(self) -> Refusal {
        let message = self.to_string();
        match self {
            Self::Invalid { code, field, message } => Refusal::new(422, code, message).field(field),
            Self::InvalidCredentials => Refusal::new(401, "invalid_credentials", message),
            Self::WrongPassword => Refusal::new(401, "wrong_password", message).field("current_password"),
            Self::EmailTaken => Refusal::new(409, "email_taken", message).field("email"),
            Self::UsernameTaken => Refusal::new(409, "username_taken", message).field("username"),
            Self::AlreadyVerified => Refusal::new(409, "already_verified", message),
            Self::ReauthenticationRequired => Refusal::new(403, "reauthentication_required", message),
            Self::Unauthenticated => Refusal::unauthenticated(),
            Self::NotFound => Refusal::new(404, "not_found", message),
            Self::RateLimited(after) => Refusal::new(429, "rate_limited", message).retry_after(after),
            Self::Busy(after) | Self::ExportBusy(after) => {
                Refusal::new(503, "busy", message).retry_after(after)
            }
            Self::ProviderRefused(refusal) => Refusal::new(403, refusal.code(), message),
            Self::Internal(detail) => internal(&detail),
        }
    }
}

impl Refuses for TenantError {
    fn refusal(self) -> Refusal {
        let message = self.to_string();
        match self {
            Self::Invalid { code, field, message } => Refusal::new(422, code, message).field(field),
            Self::PlanRequired(_) => Refusal::new(403, "plan_required", message),
            Self::Conflict { code, .. } => Refusal::new(409, code, message),
            Self::Forbidden => Refusal::new(403, "forbidden", message),
            Self::StorageFull(_) => Refusal::new(413, "storage_quota_exceeded", message),
            Self::NotFound => Refusal::new(404, "not_found", message),
            // Constraint names and values stay in the log (SECURITY.md 10).
            Self::Database(e) => internal(&e),
        }
    }
}

impl Refuses for AdminError {
    fn refusal(self) -> Refusal {
        let message = self.to_string();
        match self {
            Self::Forbidden => Refusal::new(403, "forbidden", message),
            Self::NotFound => Refusal::new(404, "not_found", message),
            Self::Invalid { field, message } => Refusal::new(422, "invalid_request", message).field(field),
            Self::Database(e) => internal(&e),
            Self::Sessions(e) => e.refusal(),
        }
    }
}

impl Refuses for QuotaError {
    fn refusal(self) -> Refusal {
        match self {
            Self::Exceeded { message, resets_at } => {
                Refusal::new(429, "quota_exceeded", message).retry_after(quota::wait_until(resets_at))
            }
            Self::Database(e) => internal(&e),
        }
    }
}

impl Refuses for GenerationError {
    fn refusal(self) -> Refusal {
        match self {
            Self::Refused(GenerationRefusal::Invalid { field, message }) => {
                Refusal::new(422, "invalid_parameter", message).field(field)
            }
            Self::Refused(GenerationRefusal::PlanRequired { field, message, .. }) => {
                Refusal::new(403, "plan_required", message).field(field)
            }
            Self::Quota(e) => e.refusal(),
            too_many @ Self::TooManyJobs { .. } => Refusal::new(429, "too_many_jobs", too_many.to_string()),
            unverified @ Self::EmailUnverified(_) => {
                Refusal::new(403, "email_unverified", unverified.to_string())
            }
            Self::Tenant(e) => e.refusal(),
        }
    }
}

impl Refuses for WatchError {
    fn refusal(self) -> Refusal {
        match self {
            too_many @ Self::TooManyStreams(_) => Refusal::new(429, "too_many_streams", too_many.to_string()),
            Self::Tenant(e) => e.refusal(),
        }
    }
}

impl Refuses for ImagingError {
    fn refusal(self) -> Refusal {
        let message = self.to_string();
        match self {
            Self::NotAnImage => Refusal::new(415, "not_an_image", message),
            Self::TooLarge | Self::TooManyPixels { .. } => Refusal::new(413, "too_large", message),
            Self::DeepColour => Refusal::new(422, "unsupported_image", message).field("file"),
            Self::Encode(detail) => internal(&detail),
        }
    }
}

impl Refuses for UploadError {
    fn refusal(self) -> Refusal {
        let message = self.to_string();
        match self {
            Self::Image(e) => e.refusal(),
            Self::Tenant(e) => e.refusal(),
            Self::Storage(e) => internal(&e),
            Self::Stopped(detail) => internal(&detail),
            Self::Busy(after) => Refusal::new(503, "busy", message).retry_after(after),
        }
    }
}

impl Refuses for BillingError {
    fn refusal(self) -> Refusal {
        let message = self.to_string();
        match self {
            Self::Disabled => Refusal::new(404, "not_found", message),
            Self::Invalid { field, message } => Refusal::new(422, "invalid_request", message).field(field),
            Self::AlreadySubscribed => Refusal::new(409, "already_subscribed", message),
            Self::NotSubscribed => Refusal::new(409, "not_subscribed", message),
            Self::PastDue => Refusal::new(409, "past_due", message),
            Self::Declined(message) => Refusal::new(402, "payment_declined", message).field("payment_method"),
            Self::Provider(e) => {
                tracing::error!(error = %e, "billing provider failed");
                Refusal::new(
                    503,
                    "billing_unavailable",
                    "The payment provider did not answer; please try again in a moment.",
                )
                .retry_after(std::time::Duration::from_secs(5))
            }
            Self::Database(e) => internal(&e),
        }
    }
}

impl Refuses for WebhookError {
    fn refusal(self) -> Refusal {
        let message = self.to_string();
        match self {
            Self::Disabled => Refusal::new(404, "not_found", message),
            Self::Signature(e) => {
                // `?e`: the log keeps what the answer leaves out (a stale delivery's offset).
                tracing::warn!(error = ?e, "billing webhook refused");
                Refusal::new(400, "invalid_signature", message)
            }
            Self::Malformed(_) => Refusal::new(400, "invalid_event", message),
            // The provider retries a delivery that failed on our side.
            Self::Failed(e) => e.refusal(),
        }
    }
}
