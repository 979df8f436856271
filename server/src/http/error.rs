//! The API's one error type: logs the cause, answers `{"error": {"code", "message"}}`. Core
//! errors become API errors, and UI errors, through the refusal table (`pingvas_core::refusals`).

use std::{borrow::Cow, time::Duration};

use axum::{
    Json,
    http::{
        HeaderValue, StatusCode,
        header::{RETRY_AFTER, WWW_AUTHENTICATE},
    },
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use pingvas_core::{
    accounts::AccountError,
    admin::AdminError,
    billing::{BillingError, webhook::WebhookError},
    gallery::UploadError,
    generation::{GenerationError, events::WatchError},
    quota::QuotaError,
    refusals::{self, Refusal, Refuses},
    tenancy::TenantError,
};

/// An error answer of the REST API: a [`Refusal`], as the UI's errors are. Its message is meant
/// for people and never contains internal details; those go to the log where the error is made.
#[derive(Debug)]
pub struct ApiError(Refusal);

impl ApiError {
    /// An error with a status, a stable snake_case `code` and a human message.
    #[must_use]
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self(Refusal::new(status.as_u16(), code, message))
    }

    /// Names the request field at fault (422s), so forms can show the message beside it.
    #[must_use]
    pub fn with_field(self, field: &'static str) -> Self {
        Self(self.0.field(field))
    }

    /// Adds `Retry-After` (429s).
    #[must_use]
    pub fn with_retry_after(self, after: Duration) -> Self {
        Self(self.0.retry_after(after))
    }

    /// 401: no valid credentials. Clients refresh once on `invalid_token`, then sign in again.
    #[must_use]
    pub fn unauthenticated() -> Self {
        Refusal::unauthenticated().into()
    }

    /// 500 for a failure on our side; `detail` goes to the log only.
    #[must_use]
    pub fn internal(detail: &dyn std::fmt::Display) -> Self {
        Self(refusals::internal(detail))
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// 404 for a path the API does not have.
    #[must_use]
    pub fn route_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "There is no such API route.")
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        Self(refusal)
    }
}

/// Each core error reaches REST through its row in the refusal table, and nowhere else (the UI's
/// `UiError` is made from the same rows in `pingvas_core::refusals`).
macro_rules! answered_from_the_refusal_table {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for ApiError {
            fn from(error: $error) -> Self {
                error.refusal().into()
            }
        }
    )*};
}
answered_from_the_refusal_table!(
    AccountError,
    TenantError,
    AdminError,
    QuotaError,
    GenerationError,
    WatchError,
    UploadError,
    BillingError,
    WebhookError
);

/// The JSON body of every API error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// A machine-readable code and a sentence for people.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case identifier, e.g. `not_ready`.
    pub code: String,
    /// A human sentence saying what went wrong and, where possible, what to do.
    pub message: String,
    /// The request field at fault, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let Refusal { code, message, field, retry_after, .. } = self.0;
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message: message.into_owned(),
                field: field.map(str::to_owned),
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(after) = retry_after {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(after.as_secs().max(1)));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use contract::{error::UiError, generation::GenerationRefusal, plans::Plan};

    use super::*;
    use pingvas_core::{
        accounts::linking::LinkRefusal, billing::provider::ProviderError, imaging::ImagingError,
    };

    /// Every core error, made twice (they hold a database error, which cannot be cloned): once for
    /// REST and once for the UI.
    fn every_core_error() -> Vec<(ApiError, UiError)> {
        fn both<E>(make: impl Fn() -> E) -> (ApiError, UiError)
        where
            ApiError: From<E>,
            UiError: From<E>,
        {
            (ApiError::from(make()), UiError::from(make()))
        }
        let database = || sqlx::Error::PoolTimedOut;
        let quota = || QuotaError::Exceeded {
            message: "Monthly quota exceeded.".into(),
            resets_at: time::OffsetDateTime::now_utc() + time::Duration::hours(5),
        };
        let tenant_invalid =
            || TenantError::Invalid { code: "invalid_name", field: "name", message: "Name it.".into() };
        vec![
            both(|| AccountError::Invalid {
                code: "weak_password",
                field: "password",
                message: "Longer.".into(),
            }),
            both(|| AccountError::InvalidCredentials),
            both(|| AccountError::WrongPassword),
            both(|| AccountError::EmailTaken),
            both(|| AccountError::UsernameTaken),
            both(|| AccountError::Unauthenticated),
            both(|| AccountError::NotFound),
            both(|| AccountError::ProviderRefused(LinkRefusal::UnverifiedEmail)),
            both(|| AccountError::RateLimited(Duration::from_secs(30))),
            both(|| AccountError::Busy(Duration::from_secs(2))),
            both(|| AccountError::Internal("the pool is closed".into())),
            both(|| AccountError::AlreadyVerified),
            both(|| AccountError::ReauthenticationRequired),
            both(|| AccountError::invalid("invalid_link", "token", "Ask for a new link.")),
            both(tenant_invalid),
            both(|| TenantError::StorageFull(pingvas_core::storage_budget::StorageFull("Full.".into()))),
            both(|| TenantError::PlanRequired(Plan::Pro)),
            both(|| TenantError::Conflict { code: "already_exists", message: "Taken." }),
            both(|| TenantError::Forbidden),
            both(|| TenantError::NotFound),
            both(|| TenantError::Database(database())),
            both(|| AdminError::Forbidden),
            both(|| AdminError::NotFound),
            both(|| AdminError::Invalid { field: "plan", message: "No such plan.".into() }),
            both(|| AdminError::Database(database())),
            both(|| AdminError::Sessions(AccountError::Internal("x".into()))),
            both(quota),
            both(|| QuotaError::Database(database())),
            both(|| GenerationError::EmailUnverified("ada@example.com".into())),
            both(|| {
                GenerationError::Refused(GenerationRefusal::Invalid {
                    field: "steps",
                    message: "1–30.".into(),
                })
            }),
            both(|| {
                GenerationError::Refused(GenerationRefusal::PlanRequired {
                    field: "batch_size",
                    plan: Plan::Pro,
                    message: "Pro.".into(),
                })
            }),
            both(|| GenerationError::Quota(quota())),
            both(|| GenerationError::TooManyJobs { plan: Plan::Free, limit: 3 }),
            both(|| GenerationError::Tenant(tenant_invalid())),
            both(|| WatchError::TooManyStreams(8)),
            both(|| WatchError::Tenant(TenantError::NotFound)),
            both(|| UploadError::Image(ImagingError::NotAnImage)),
            both(|| UploadError::Image(ImagingError::TooLarge)),
            both(|| UploadError::Image(ImagingError::TooManyPixels { width: 9, height: 9, max_pixels: 80 })),
            both(|| UploadError::Image(ImagingError::DeepColour)),
            both(|| UploadError::Image(ImagingError::Encode("webp".into()))),
            both(|| {
                UploadError::Tenant(TenantError::StorageFull(pingvas_core::storage_budget::StorageFull(
                    "Full.".into(),
                )))
            }),
            both(|| UploadError::Stopped("cancelled".into())),
            both(|| BillingError::Disabled),
            both(|| BillingError::Invalid { field: "plan", message: "Choose pro or studio.".into() }),
            both(|| BillingError::AlreadySubscribed),
            both(|| BillingError::NotSubscribed),
            both(|| BillingError::Declined("Your card was declined.".into())),
            both(|| BillingError::Provider(ProviderError::Unreachable("timeout".into()))),
            both(|| BillingError::Database(database())),
        ]
    }

    #[test]
    fn rest_and_the_ui_read_every_core_error_the_same_way() {
        for (api, ui) in every_core_error() {
            let status = api.status();
            let api = api.0;
            assert_eq!(status.as_u16(), ui.status(), "{api:?} vs {ui:?}");
            assert!(status.is_client_error() || status.is_server_error(), "{api:?}");
            if let Some(field) = api.field {
                assert_eq!(ui.for_field(field).as_deref(), Some(&*api.message), "{api:?} vs {ui:?}");
            }
            assert_eq!(
                api.retry_after.is_some() && status == StatusCode::TOO_MANY_REQUESTS,
                matches!(ui, UiError::TooMany { .. }),
                "{api:?} vs {ui:?}"
            );
            assert_eq!(
                status == StatusCode::UNAUTHORIZED && api.code == Refusal::INVALID_TOKEN,
                ui == UiError::Unauthenticated
            );
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                assert_eq!(
                    (api.code, &*api.message),
                    ("internal_error", "Something went wrong on our side. Please try again in a moment.")
                );
                assert_eq!(ui.to_string(), api.message, "no internal details reach the UI either");
            } else {
                assert_eq!(ui.to_string(), api.message, "{api:?} vs {ui:?}");
            }
        }
    }
}
