//! The UI's server functions for billing. Each calls the same core function as the REST API
//! (`pingvas_core::billing`), so the billing page and the API refuse the same things.

use leptos::prelude::*;

use contract::{
    billing::{BillingOverview, CardSetup, InvoiceList, SubscribeOutcome},
    error::UiError,
};

#[cfg(feature = "ssr")]
use super::call::as_user;
#[cfg(feature = "ssr")]
use pingvas_core::billing;

/// My plan, my subscription and the offer.
#[server(prefix = "/api/v1/ui", endpoint = "billing")]
pub async fn ui_billing(access_token: String) -> Result<BillingOverview, UiError> {
    as_user(&access_token, async |core, user| billing::overview(core, &user).await).await
}

/// Start saving a card (the provider's script confirms the secret).
#[server(prefix = "/api/v1/ui", endpoint = "billing/card-setup")]
pub async fn ui_card_setup(access_token: String) -> Result<CardSetup, UiError> {
    as_user(&access_token, async |core, user| billing::card_setup(core, &user).await).await
}

/// Subscribe to a plan on offer with a saved card.
#[server(prefix = "/api/v1/ui", endpoint = "billing/subscribe")]
pub async fn ui_subscribe(
    access_token: String,
    plan: String,
    interval: String,
    payment_method: String,
) -> Result<SubscribeOutcome, UiError> {
    as_user(&access_token, async |core, user| {
        billing::subscribe(core, &user, &plan, Some(&interval), &payment_method).await
    })
    .await
}

/// Move my subscription to another plan on offer.
#[server(prefix = "/api/v1/ui", endpoint = "billing/change-plan")]
pub async fn ui_change_plan(
    access_token: String,
    plan: String,
    interval: String,
) -> Result<BillingOverview, UiError> {
    as_user(&access_token, async |core, user| billing::change_plan(core, &user, &plan, Some(&interval)).await)
        .await
}

/// Cancel my subscription at the end of the paid period (`cancel`), or keep it renewing.
#[server(prefix = "/api/v1/ui", endpoint = "billing/cancel")]
pub async fn ui_set_cancel(access_token: String, cancel: bool) -> Result<BillingOverview, UiError> {
    as_user(&access_token, async |core, user| billing::set_cancel(core, &user, cancel).await).await
}

/// Charge my invoices to a newly saved card.
#[server(prefix = "/api/v1/ui", endpoint = "billing/payment-method")]
pub async fn ui_update_payment_method(access_token: String, payment_method: String) -> Result<(), UiError> {
    as_user(&access_token, async |core, user| {
        billing::update_payment_method(core, &user, &payment_method).await
    })
    .await
}

/// My invoices, newest first.
#[server(prefix = "/api/v1/ui", endpoint = "billing/invoices")]
pub async fn ui_invoices(access_token: String) -> Result<InvoiceList, UiError> {
    as_user(&access_token, async |core, user| billing::invoices(core, &user).await).await
}
