//! Billing as clients see it: where my subscription stands, what is on offer, and the requests
//! that subscribe, change plan, cancel and save a card. Prices are the provider's; a request names
//! a plan and an interval, never a price, so nothing off the offer can be bought (SECURITY.md 49).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::plans::Plan;

/// A plan on offer, at one interval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Offer {
    /// The plan.
    pub plan: Plan,
    /// `month` or `year`.
    pub interval: String,
    /// What it costs each interval, in minor units (cents), when the provider said.
    pub amount: Option<i64>,
    /// ISO currency code, lower case (`usd`), when the provider said.
    pub currency: Option<String>,
}

/// `GET /api/v1/billing`: my plan and subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BillingOverview {
    /// The plan I have now.
    pub plan: Plan,
    /// `none` (never subscribed), `pending` (first payment not confirmed yet), `active`,
    /// `past_due` (a renewal failed; paid limits kept until `grace_until`), `cancelled` or
    /// `revoked` (a payment was refunded or disputed).
    pub status: String,
    /// The plan that renews (may be lower than `plan` after a downgrade, until `period_end`).
    pub renews_as: Option<Plan>,
    /// When the paid period ends.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub period_end: Option<OffsetDateTime>,
    /// Whether the subscription ends at `period_end` instead of renewing.
    pub cancel_at_period_end: bool,
    /// While past due, until when the paid plan is kept.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub grace_until: Option<OffsetDateTime>,
    /// The plans on offer.
    pub offers: Vec<Offer>,
    /// The browser's key for the card form.
    pub publishable_key: String,
    /// The card form's script.
    pub js_url: String,
}

impl BillingOverview {
    /// Whether I have a subscription that is running (so a new one cannot be started).
    #[must_use]
    pub fn subscribed(&self) -> bool {
        matches!(self.status.as_str(), "pending" | "active" | "past_due")
    }
}

/// `POST /api/v1/billing/card-setup`: what the browser confirms a new card with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CardSetup {
    /// The setup intent's client secret, for the provider's script.
    pub client_secret: String,
}

/// `POST /api/v1/billing/subscription`: subscribe to a plan with a card saved by a card setup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscribeRequest {
    /// `pro` or `studio` (as on offer).
    pub plan: String,
    /// `month` (default) or `year`.
    #[serde(default)]
    pub interval: Option<String>,
    /// The saved card (`pm_…`), from the card setup.
    pub payment_method: String,
}

/// What starting a subscription did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscribeOutcome {
    /// `pending`: the provider is confirming the payment; the plan changes when it has (poll
    /// `GET /api/v1/billing`). `requires_action`: confirm the payment in the browser with
    /// `client_secret` first (e.g. 3-D Secure).
    pub status: String,
    /// For `requires_action`.
    pub client_secret: Option<String>,
}

/// `PATCH /api/v1/billing/subscription`: move my subscription to another plan on offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePlanRequest {
    /// `pro` or `studio`.
    pub plan: String,
    /// `month` (default) or `year`.
    #[serde(default)]
    pub interval: Option<String>,
}

/// `PUT /api/v1/billing/payment-method`: charge a newly saved card from now on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentMethodRequest {
    /// The saved card (`pm_…`), from a card setup.
    pub payment_method: String,
}

/// An invoice of mine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceInfo {
    /// The provider's id.
    pub id: String,
    /// Its number, once final.
    pub number: Option<String>,
    /// `draft`, `open`, `paid`, `void` or `uncollectible`.
    pub status: String,
    /// Minor units.
    pub amount_due: i64,
    /// Minor units.
    pub amount_paid: i64,
    /// ISO currency code, lower case.
    pub currency: String,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    /// The provider's page for it, where it has one.
    pub page_url: Option<String>,
    /// Its PDF, where it has one.
    pub pdf_url: Option<String>,
}

/// `GET /api/v1/billing/invoices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceList {
    /// Newest first.
    pub items: Vec<InvoiceInfo>,
}

/// Currencies without minor units: their amounts are whole units already.
const ZERO_DECIMAL: [&str; 6] = ["jpy", "krw", "vnd", "clp", "pyg", "ugx"];

/// An amount in minor units as people read it, e.g. `$12.00` or `12.00 CHF`.
#[must_use]
pub fn format_amount(amount: i64, currency: &str) -> String {
    let major = if ZERO_DECIMAL.contains(&currency) {
        amount.to_string()
    } else {
        format!("{}.{:02}", amount / 100, (amount % 100).abs())
    };
    match currency {
        "usd" => format!("${major}"),
        "eur" => format!("€{major}"),
        "gbp" => format!("£{major}"),
        other => format!("{major} {}", other.to_uppercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_money() {
        assert_eq!(format_amount(1200, "usd"), "$12.00");
        assert_eq!(format_amount(905, "eur"), "€9.05");
        assert_eq!(format_amount(1000, "jpy"), "1000 JPY");
        assert_eq!(format_amount(1250, "chf"), "12.50 CHF");
    }
}
