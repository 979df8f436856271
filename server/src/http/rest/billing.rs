//! REST routes for billing: `/api/v1/billing` (my plan and subscription), its card setup,
//! subscription, payment method and invoices, and the provider's webhook. Every route answers
//! 404 where billing is not configured.

use std::time::Instant;

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use contract::billing::{
    BillingOverview, CardSetup, ChangePlanRequest, InvoiceList, PaymentMethodRequest, SubscribeOutcome,
    SubscribeRequest,
};
use serde::Serialize;

use crate::http::{
    AppState,
    error::{ApiError, ErrorBody},
    extractors::json::ApiJson,
    middleware::api_rate_limit::too_many_requests,
};
use pingvas_core::{
    accounts::{ClientContext, CurrentUser},
    billing::{self, webhook},
    rate_limit::{client_key, network_group},
};

/// My plan, my subscription and the plans on offer.
#[utoipa::path(
    get, path = "/api/v1/billing", tag = "billing", security(("bearer" = [])),
    responses(
        (status = 200, description = "Where my subscription stands", body = BillingOverview),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "Billing is not configured on this server", body = ErrorBody),
    )
)]
pub async fn overview(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<BillingOverview>, ApiError> {
    Ok(Json(billing::overview(&state, &user).await?))
}

/// Start saving a card: confirm the returned secret with the provider's script (Stripe.js
/// `confirmCardSetup`), which sends the card to the provider, never to us.
#[utoipa::path(
    post, path = "/api/v1/billing/card-setup", tag = "billing", security(("bearer" = [])),
    responses(
        (status = 200, description = "The setup's client secret", body = CardSetup),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "Billing is not configured on this server", body = ErrorBody),
        (status = 503, description = "`billing_unavailable`: the provider did not answer", body = ErrorBody),
    )
)]
pub async fn card_setup(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<CardSetup>, ApiError> {
    Ok(Json(billing::card_setup(&state, &user).await?))
}

/// Subscribe to a plan on offer with a card saved by a card setup. The plan changes when the
/// provider confirms the payment; poll `GET /api/v1/billing`.
#[utoipa::path(
    post, path = "/api/v1/billing/subscription", tag = "billing", security(("bearer" = [])),
    request_body = SubscribeRequest,
    responses(
        (status = 202, description = "`pending` (the provider is confirming the payment) or `requires_action`", body = SubscribeOutcome),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 402, description = "`payment_declined`", body = ErrorBody),
        (status = 404, description = "Billing is not configured on this server", body = ErrorBody),
        (status = 409, description = "`already_subscribed`", body = ErrorBody),
        (status = 422, description = "A plan or interval not on offer, or a card that is not mine", body = ErrorBody),
        (status = 503, description = "`billing_unavailable`: the provider did not answer", body = ErrorBody),
    )
)]
pub async fn subscribe(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<SubscribeRequest>,
) -> Result<(StatusCode, Json<SubscribeOutcome>), ApiError> {
    let outcome = billing::subscribe(
        &state,
        &user,
        &request.plan,
        request.interval.as_deref(),
        &request.payment_method,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(outcome)))
}

/// Move my subscription to another plan on offer: an upgrade (a higher plan or another interval)
/// is charged now and applies once paid; a downgrade applies at the end of the paid period.
#[utoipa::path(
    patch, path = "/api/v1/billing/subscription", tag = "billing", security(("bearer" = [])),
    request_body = ChangePlanRequest,
    responses(
        (status = 200, description = "Where my subscription stands now", body = BillingOverview),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 402, description = "`payment_declined`: the upgrade's charge failed; nothing changed", body = ErrorBody),
        (status = 404, description = "Billing is not configured on this server", body = ErrorBody),
        (status = 409, description = "`not_subscribed`, or `past_due`: a renewal is unpaid", body = ErrorBody),
        (status = 422, description = "A plan or interval not on offer", body = ErrorBody),
        (status = 503, description = "`billing_unavailable`: the provider did not answer", body = ErrorBody),
    )
)]
pub async fn change_plan(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<ChangePlanRequest>,
) -> Result<Json<BillingOverview>, ApiError> {
    Ok(Json(billing::change_plan(&state, &user, &request.plan, request.interval.as_deref()).await?))
}

/// Cancel my subscription at the end of the paid period (I keep the plan until then).
#[utoipa::path(
    post, path = "/api/v1/billing/subscription/cancel", tag = "billing", security(("bearer" = [])),
    responses(
        (status = 200, description = "Where my subscription stands now", body = BillingOverview),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "Billing is not configured on this server", body = ErrorBody),
        (status = 409, description = "`not_subscribed`", body = ErrorBody),
        (status = 503, description = "`billing_unavailable`: the provider did not answer", body = ErrorBody),
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<BillingOverview>, ApiError> {
    Ok(Json(billing::set_cancel(&state, &user, true).await?))
}

/// Keep my subscription renewing after all (undo a cancellation before the period ends).
#[utoipa::path(
    post, path = "/api/v1/billing/subscription/resume", tag = "billing", security(("bearer" = [])),
    responses(
        (status = 200, description = "Where my subscription stands now", body = BillingOverview),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "Billing is not configured on this server", body = ErrorBody),
        (status = 409, description = "`not_subscribed`", body = ErrorBody),
        (status = 503, description = "`billing_unavailable`: the provider did not answer", body = ErrorBody),
    )
)]
pub async fn resume(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<BillingOverview>, ApiError> {
    Ok(Json(billing::set_cancel(&state, &user, false).await?))
}

/// Charge my invoices to a newly saved card from now on.
#[utoipa::path(
    put, path = "/api/v1/billing/payment-method", tag = "billing", security(("bearer" = [])),
    request_body = PaymentMethodRequest,
    responses(
        (status = 204, description = "Saved"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "Billing is not configured on this server", body = ErrorBody),
        (status = 409, description = "`not_subscribed`: I have no billing account yet", body = ErrorBody),
        (status = 422, description = "A card that is not mine", body = ErrorBody),
        (status = 503, description = "`billing_unavailable`: the provider did not answer", body = ErrorBody),
    )
)]
pub async fn update_payment_method(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<PaymentMethodRequest>,
) -> Result<StatusCode, ApiError> {
    billing::update_payment_method(&state, &user, &request.payment_method).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// My invoices, newest first.
#[utoipa::path(
    get, path = "/api/v1/billing/invoices", tag = "billing", security(("bearer" = [])),
    responses(
        (status = 200, description = "My invoices", body = InvoiceList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "Billing is not configured on this server", body = ErrorBody),
        (status = 503, description = "`billing_unavailable`: the provider did not answer", body = ErrorBody),
    )
)]
pub async fn invoices(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<InvoiceList>, ApiError> {
    Ok(Json(billing::invoices(&state, &user).await?))
}

/// What a webhook delivery did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookAnswer {
    /// `applied` or `duplicate` (an event delivered before: nothing changed).
    pub result: &'static str,
}

/// The most bytes a webhook delivery may carry. Stripe's events are a few KB (a subscription with
/// its items and latest invoice under 30 KB); the body is read whole before its MAC is checked.
pub const WEBHOOK_MAX_BODY_BYTES: usize = 256 * 1024;

/// Failed signatures one client network may send per minute before its deliveries are refused
/// unchecked (429). The provider's own deliveries never fail; a misconfigured secret still shows
/// in the log and the provider's dashboard.
pub const WEBHOOK_FAILURES_PER_MINUTE: u32 = 20;

/// The billing provider's events (register this URL with the provider). Signed with
/// `Stripe-Signature` over the raw body; each event is applied once. Bodies over 256 KB are
/// refused (413), and a client whose signatures keep failing is refused for a while (429).
#[utoipa::path(
    post, path = "/api/v1/billing/webhook", tag = "billing",
    request_body(content = String, content_type = "application/json", description = "A provider event, exactly as sent"),
    responses(
        (status = 200, description = "Accepted", body = WebhookAnswer),
        (status = 400, description = "`invalid_signature` (nothing changed) or `invalid_event`", body = ErrorBody),
        (status = 404, description = "Billing is not configured on this server", body = ErrorBody),
        (status = 413, description = "A body over 256 KB", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many failed signatures from this network", body = ErrorBody),
        (status = 503, description = "The provider could not be asked about the event; it retries", body = ErrorBody),
    )
)]
pub async fn receive_webhook(
    State(state): State<AppState>,
    client: ClientContext,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookAnswer>, Response> {
    let prefix = state.config.limits.rate_limit_ipv6_prefix;
    let (key, group) = (client_key(client.ip, prefix), network_group(client.ip, prefix));
    let now = Instant::now();
    if let Some(retry_after) = state.webhook_failures.is_limited(&key, &group, now) {
        state.metrics.rate_limited(pingvas_core::metrics::Limiter::Webhook);
        return Err(too_many_requests(retry_after));
    }
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    match webhook::receive(&state, &body, signature).await {
        Ok(delivery) => {
            let result = match delivery {
                webhook::Delivery::Applied(_) => "applied",
                webhook::Delivery::Duplicate => "duplicate",
            };
            Ok(Json(WebhookAnswer { result }))
        }
        Err(error) => {
            if matches!(error, webhook::WebhookError::Signature(_)) {
                state.webhook_failures.check(&key, &group, now);
            }
            Err(ApiError::from(error).into_response())
        }
    }
}
