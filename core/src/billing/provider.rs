//! The billing provider's API (Stripe's, or a compatible local server's), as far as
//! subscriptions need it: form-encoded requests with the secret key, JSON answers read leniently
//! (only the fields used, each optional where API versions differ), so that both current Stripe
//! and the local test server are understood.

use serde::Deserialize;
use time::OffsetDateTime;

use contract::ids::UserId;

use crate::config::BillingSettings;

/// Why a provider call failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider could not be reached, or answered something unreadable (500; retried by
    /// the provider for webhooks).
    #[error("billing provider: {0}")]
    Unreachable(String),
    /// The provider refused the request for a reason people can act on, e.g. a declined card
    /// (402 from Stripe).
    #[error("{message}")]
    Declined {
        /// The provider's code, e.g. `card_declined`.
        code: String,
        /// The provider's sentence for people.
        message: String,
    },
    /// The provider refused the request otherwise (our mistake or theirs; 500).
    #[error("billing provider refused ({status}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// What it said.
        message: String,
    },
    /// No such object at the provider.
    #[error("billing provider: no such {0}")]
    NotFound(&'static str),
}

/// A list as the provider pages it.
#[derive(Debug, Clone, Deserialize)]
pub struct List<T> {
    /// The items.
    pub data: Vec<T>,
}

/// Something with an id (a price or a plan inside a subscription item).
#[derive(Debug, Clone, Deserialize)]
pub struct Named {
    /// The id.
    pub id: String,
}

/// A customer.
#[derive(Debug, Clone, Deserialize)]
pub struct Customer {
    /// The id (`cus_…`).
    pub id: String,
}

/// A subscription's item: one price.
#[derive(Debug, Clone, Deserialize)]
pub struct SubscriptionItem {
    /// The id (`si_…`).
    pub id: String,
    /// Its price (current API versions).
    pub price: Option<Named>,
    /// Its plan (older versions and the local test server).
    pub plan: Option<Named>,
    /// The period's end, where current API versions keep it.
    pub current_period_end: Option<i64>,
}

/// A subscription.
#[derive(Debug, Clone, Deserialize)]
pub struct Subscription {
    /// The id (`sub_…`).
    pub id: String,
    /// The customer's id.
    pub customer: String,
    /// `active`, `past_due`, … (see `lifecycle::ProviderStatus`).
    pub status: String,
    /// The period's end, where older API versions keep it.
    pub current_period_end: Option<i64>,
    /// Whether it ends at the period's end.
    #[serde(default)]
    pub cancel_at_period_end: bool,
    /// Its items (we sell one price per subscription).
    pub items: List<SubscriptionItem>,
    /// The latest invoice, expanded when asked for.
    pub latest_invoice: Option<serde_json::Value>,
    /// A price change waiting for its payment (`payment_behavior=pending_if_incomplete`): set
    /// when the charge for an upgrade failed and the price stayed as it was.
    pub pending_update: Option<serde_json::Value>,
}

impl Subscription {
    /// The id of its price (or plan).
    #[must_use]
    pub fn price_id(&self) -> Option<&str> {
        let item = self.items.data.first()?;
        item.price.as_ref().or(item.plan.as_ref()).map(|named| named.id.as_str())
    }

    /// When its current period ends.
    #[must_use]
    pub fn period_end(&self) -> Option<OffsetDateTime> {
        let seconds =
            self.current_period_end.or_else(|| self.items.data.first().and_then(|i| i.current_period_end))?;
        OffsetDateTime::from_unix_timestamp(seconds).ok()
    }

    /// The price ids charged (a positive amount) on the latest invoice, if it is expanded and
    /// paid: what the subscription has paid for, as opposed to what its price asks.
    #[must_use]
    pub fn paid_invoice_prices(&self) -> Vec<&str> {
        let Some(invoice) =
            self.latest_invoice.as_ref().filter(|i| i.get("status").and_then(|s| s.as_str()) == Some("paid"))
        else {
            return Vec::new();
        };
        let lines = invoice.pointer("/lines/data").and_then(|l| l.as_array()).map_or(&[][..], Vec::as_slice);
        lines
            .iter()
            .filter(|line| line.get("amount").and_then(serde_json::Value::as_i64).is_some_and(|a| a > 0))
            .filter_map(|line| {
                // Current API versions: `pricing.price_details.price`; earlier: `price.id`;
                // servers that predate prices: `plan.id`.
                line.pointer("/pricing/price_details/price")
                    .or_else(|| line.pointer("/price/id"))
                    .or_else(|| line.pointer("/plan/id"))
                    .and_then(|id| id.as_str())
            })
            .collect()
    }

    /// The client secret of the latest invoice's payment when the customer must still act on it
    /// in the browser (e.g. 3-D Secure).
    #[must_use]
    pub fn payment_needing_action(&self) -> Option<String> {
        let intent = self.latest_invoice.as_ref()?.get("payment_intent")?;
        (intent.get("status")?.as_str()? == "requires_action")
            .then(|| intent.get("client_secret")?.as_str().map(str::to_owned))
            .flatten()
    }
}

/// A setup intent: how the browser saves a card for later charges.
#[derive(Debug, Clone, Deserialize)]
pub struct SetupIntent {
    /// What the browser confirms it with.
    pub client_secret: String,
}

/// A saved payment method.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentMethod {
    /// The id (`pm_…`).
    pub id: String,
    /// The customer it is attached to.
    pub customer: Option<String>,
}

/// An invoice.
#[derive(Debug, Clone, Deserialize)]
pub struct Invoice {
    /// The id (`in_…`).
    pub id: String,
    /// Its number, once finalised.
    pub number: Option<String>,
    /// `draft`, `open`, `paid`, `void`, `uncollectible`.
    pub status: Option<String>,
    /// Minor units.
    #[serde(default)]
    pub amount_due: i64,
    /// Minor units.
    #[serde(default)]
    pub amount_paid: i64,
    /// ISO currency code, lower case.
    #[serde(default)]
    pub currency: String,
    /// Unix seconds.
    pub created: i64,
    /// The provider's page for it.
    pub hosted_invoice_url: Option<String>,
    /// Its PDF.
    pub invoice_pdf: Option<String>,
}

/// A charge (read when a refund or dispute names one).
#[derive(Debug, Clone, Deserialize)]
pub struct Charge {
    /// The customer charged.
    pub customer: Option<String>,
    /// Minor units charged.
    #[serde(default)]
    pub amount: i64,
    /// Minor units refunded so far.
    #[serde(default)]
    pub amount_refunded: i64,
    /// Whether it was refunded in full.
    #[serde(default)]
    pub refunded: bool,
}

impl Charge {
    /// Whether all of it was given back (not a partial refund).
    #[must_use]
    pub fn fully_refunded(&self) -> bool {
        self.refunded || (self.amount > 0 && self.amount_refunded >= self.amount)
    }
}

/// A price's amount (a price, or a plan on servers that predate prices).
#[derive(Debug, Clone, Deserialize)]
pub struct PriceAmount {
    /// Minor units (prices).
    pub unit_amount: Option<i64>,
    /// Minor units (plans).
    pub amount: Option<i64>,
    /// ISO currency code, lower case.
    pub currency: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// How a price change is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceChange {
    /// An upgrade: the difference is invoiced and charged now, and the change applies only if
    /// that charge succeeds.
    ChargeNow,
    /// A downgrade: nothing is billed or credited now; the new price is charged from the next
    /// renewal (the plan paid for is kept until then).
    AtRenewal,
}

/// A client of the provider's API.
#[derive(Clone)]
pub struct Provider {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider").field("base", &self.base).finish_non_exhaustive()
    }
}

type Form<'a> = Vec<(&'a str, String)>;

/// `form` with the subscription item's price. It travels as `items[0][plan]`: Stripe takes a
/// recurring price's id there (prices are compatible with plans), and servers that predate
/// prices, like the local test server, know no other field.
fn item_price<'a>(mut form: Form<'a>, price: &str) -> Form<'a> {
    form.push(("items[0][plan]", price.to_owned()));
    form
}

impl Provider {
    /// A client for `settings`.
    ///
    /// # Errors
    /// The TLS back end could not be initialised.
    pub fn new(settings: &BillingSettings) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: crate::oauth::http_client::provider_http_client()?,
            base: settings.api_base.clone(),
            key: settings.secret_key.clone(),
        })
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &Form<'_>,
        what: &'static str,
    ) -> Result<T, ProviderError> {
        let url = format!("{}{path}", self.base);
        // Every POST carries a key of its own, and is sent at most twice with it: when the
        // first answer is lost (a broken connection, a 5xx), the provider answers the retry with
        // the first outcome instead of acting twice (e.g. charging twice).
        let key = (method == reqwest::Method::POST).then(|| uuid::Uuid::new_v4().to_string());
        let send = || {
            let request = self.http.request(method.clone(), &url).bearer_auth(&self.key);
            let request =
                if method == reqwest::Method::GET { request.query(form) } else { request.form(form) };
            let request = match &key {
                Some(key) => request.header("Idempotency-Key", key),
                None => request,
            };
            async move {
                let response = request.send().await.map_err(|e| ProviderError::Unreachable(e.to_string()))?;
                let status = response.status();
                let body = response.bytes().await.map_err(|e| ProviderError::Unreachable(e.to_string()))?;
                Ok::<_, ProviderError>((status, body))
            }
        };
        let first = send().await;
        let lost = match &first {
            Err(_) => true,
            Ok((status, _)) => status.is_server_error(),
        };
        let (status, body) = if lost && key.is_some() { send().await? } else { first? };
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| ProviderError::Unreachable(format!("{what} did not decode: {e}")));
        }
        let detail = serde_json::from_slice::<ErrorBody>(&body).ok().map(|b| b.error);
        let message = detail.as_ref().and_then(|d| d.message.clone()).unwrap_or_else(|| status.to_string());
        match status.as_u16() {
            402 => Err(ProviderError::Declined {
                code: detail.and_then(|d| d.code).unwrap_or_else(|| "card_declined".into()),
                message,
            }),
            404 => Err(ProviderError::NotFound(what)),
            code => Err(ProviderError::Refused { status: code, message }),
        }
    }

    /// Creates the customer for `user`.
    ///
    /// # Errors
    /// [`ProviderError`].
    pub async fn create_customer(&self, user: UserId, email: &str) -> Result<Customer, ProviderError> {
        let form = vec![("email", email.to_owned()), ("metadata[user_id]", user.to_string())];
        self.call(reqwest::Method::POST, "/v1/customers", &form, "customer").await
    }

    /// A setup intent for `customer`, so the browser can save a card for subscriptions.
    ///
    /// # Errors
    /// [`ProviderError`].
    pub async fn create_setup_intent(&self, customer: &str) -> Result<SetupIntent, ProviderError> {
        let form = vec![("customer", customer.to_owned()), ("usage", "off_session".to_owned())];
        self.call(reqwest::Method::POST, "/v1/setup_intents", &form, "setup intent").await
    }

    /// A payment method.
    ///
    /// # Errors
    /// [`ProviderError`].
    pub async fn payment_method(&self, id: &str) -> Result<PaymentMethod, ProviderError> {
        self.call(reqwest::Method::GET, &format!("/v1/payment_methods/{id}"), &vec![], "payment method").await
    }

    /// Attaches `payment_method` (saved without a customer) to `customer`.
    ///
    /// # Errors
    /// [`ProviderError`], e.g. a card the provider declines to save.
    pub async fn attach_payment_method(
        &self,
        payment_method: &str,
        customer: &str,
    ) -> Result<PaymentMethod, ProviderError> {
        let form = vec![("customer", customer.to_owned())];
        self.call(
            reqwest::Method::POST,
            &format!("/v1/payment_methods/{payment_method}/attach"),
            &form,
            "payment method",
        )
        .await
    }

    /// Makes `payment_method` the one `customer`'s invoices are charged to.
    ///
    /// # Errors
    /// [`ProviderError`].
    pub async fn set_default_payment_method(
        &self,
        customer: &str,
        payment_method: &str,
    ) -> Result<(), ProviderError> {
        let form = vec![("invoice_settings[default_payment_method]", payment_method.to_owned())];
        let _: Customer =
            self.call(reqwest::Method::POST, &format!("/v1/customers/{customer}"), &form, "customer").await?;
        Ok(())
    }

    /// Subscribes `customer` (our `user`) to `price`, charging their default payment method now.
    ///
    /// # Errors
    /// [`ProviderError`], e.g. a declined card.
    pub async fn create_subscription(
        &self,
        customer: &str,
        price: &str,
        user: UserId,
    ) -> Result<Subscription, ProviderError> {
        let form = vec![
            ("customer", customer.to_owned()),
            ("metadata[user_id]", user.to_string()),
            ("payment_behavior", "allow_incomplete".to_owned()),
            ("expand[]", "latest_invoice.payment_intent".to_owned()),
        ];
        self.call(reqwest::Method::POST, "/v1/subscriptions", &item_price(form, price), "subscription").await
    }

    /// The subscription as the provider has it now, with its latest invoice (what was paid).
    ///
    /// # Errors
    /// [`ProviderError`].
    pub async fn subscription(&self, id: &str) -> Result<Subscription, ProviderError> {
        let query = vec![("expand[]", "latest_invoice".to_owned())];
        self.call(reqwest::Method::GET, &format!("/v1/subscriptions/{id}"), &query, "subscription").await
    }

    /// `customer`'s subscriptions that may still charge them (every status but ended ones).
    ///
    /// # Errors
    /// [`ProviderError`].
    pub async fn live_subscriptions(&self, customer: &str) -> Result<Vec<Subscription>, ProviderError> {
        let query = vec![("customer", customer.to_owned()), ("limit", "100".to_owned())];
        let list: List<Subscription> =
            self.call(reqwest::Method::GET, "/v1/subscriptions", &query, "subscriptions").await?;
        Ok(list
            .data
            .into_iter()
            .filter(|s| !matches!(s.status.as_str(), "canceled" | "incomplete_expired"))
            .collect())
    }

    /// Moves subscription `id`'s one item to `price`, billed as `billing` says.
    ///
    /// # Errors
    /// [`ProviderError`].
    pub async fn change_price(
        &self,
        id: &str,
        item: &str,
        price: &str,
        billing: PriceChange,
    ) -> Result<Subscription, ProviderError> {
        let mut form = item_price(vec![("items[0][id]", item.to_owned())], price);
        match billing {
            PriceChange::ChargeNow => {
                // Invoiced and charged now; if the charge fails, the price stays as it was and
                // the change waits (`pending_update`) instead of applying unpaid.
                form.push(("proration_behavior", "always_invoice".to_owned()));
                form.push(("payment_behavior", "pending_if_incomplete".to_owned()));
                form.push(("expand[]", "latest_invoice.payment_intent".to_owned()));
            }
            PriceChange::AtRenewal => form.push(("proration_behavior", "none".to_owned())),
        }
        self.call(reqwest::Method::POST, &format!("/v1/subscriptions/{id}"), &form, "subscription").await
    }

    /// Deletes `customer` at the provider, with their saved cards (a deleted account).
    ///
    /// # Errors
    /// [`ProviderError`].
    pub async fn delete_customer(&self, customer: &str) -> Result<(), ProviderError> {
        let _: serde_json::Value = self
            .call(reqwest::Method::DELETE, &format!("/v1/customers/{customer}"), &vec![], "customer")
            .await?;
        Ok(())
    }

    /// Sets whether subscription `id` ends at its period's end.
    ///
    /// # Errors
    /// [`ProviderError`].
    pub async fn set_cancel_at_period_end(
        &self,
        id: &str,
        cancel: bool,
    ) -> Result<Subscription, ProviderError> {
        let form = vec![("cancel_at_period_end", cancel.to_string())];
        self.call(reqwest::Method::POST, &format!("/v1/subscriptions/{id}"), &form, "subscription").await
    }

    /// Ends subscription `id` now (a revoked plan, a deleted account).
    ///
    /// # Errors
    /// [`ProviderError`].
    pub async fn cancel_now(&self, id: &str) -> Result<Subscription, ProviderError> {
        self.call(reqwest::Method::DELETE, &format!("/v1/subscriptions/{id}"), &vec![], "subscription").await
    }

    /// `customer`'s invoices, newest first.
    ///
    /// # Errors
    /// [`ProviderError`].
    pub async fn invoices(&self, customer: &str) -> Result<Vec<Invoice>, ProviderError> {
        let query = vec![("customer", customer.to_owned()), ("limit", "24".to_owned())];
        let list: List<Invoice> = self.call(reqwest::Method::GET, "/v1/invoices", &query, "invoices").await?;
        Ok(list.data)
    }

    /// A charge.
    ///
    /// # Errors
    /// [`ProviderError`].
    pub async fn charge(&self, id: &str) -> Result<Charge, ProviderError> {
        self.call(reqwest::Method::GET, &format!("/v1/charges/{id}"), &vec![], "charge").await
    }

    /// What `price` costs: read as a price, or as a plan where the server has no prices.
    ///
    /// # Errors
    /// [`ProviderError`].
    pub async fn price_amount(&self, price: &str) -> Result<PriceAmount, ProviderError> {
        match self.call(reqwest::Method::GET, &format!("/v1/prices/{price}"), &vec![], "price").await {
            Err(ProviderError::NotFound(_)) => {
                self.call(reqwest::Method::GET, &format!("/v1/plans/{price}"), &vec![], "plan").await
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription(latest_invoice: serde_json::Value) -> Subscription {
        serde_json::from_value(serde_json::json!({
            "id": "sub_1", "customer": "cus_1", "status": "active", "current_period_end": 1_800_000_000,
            "items": { "data": [{ "id": "si_1", "plan": { "id": "price_studio" } }] },
            "latest_invoice": latest_invoice,
        }))
        .unwrap()
    }

    #[test]
    fn only_a_paid_latest_invoice_tells_what_was_paid_for_in_any_api_version() {
        let lines = serde_json::json!({ "data": [
            { "amount": 3900, "plan": { "id": "price_studio" } },
            { "amount": -1200, "plan": { "id": "price_pro" } },
            { "amount": 500, "price": { "id": "price_new_style" } },
            { "amount": 700, "pricing": { "price_details": { "price": "price_basil" } } },
        ]});
        let paid = subscription(serde_json::json!({ "status": "paid", "lines": lines }));
        assert_eq!(
            paid.paid_invoice_prices(),
            ["price_studio", "price_new_style", "price_basil"],
            "credits are not payments"
        );
        let open = subscription(serde_json::json!({ "status": "open", "lines": lines }));
        assert!(open.paid_invoice_prices().is_empty());
        assert!(subscription(serde_json::json!("in_not_expanded")).paid_invoice_prices().is_empty());
        assert!(subscription(serde_json::Value::Null).paid_invoice_prices().is_empty());
    }

    #[test]
    fn a_charge_counts_as_refunded_only_in_full() {
        let charge =
            |amount, amount_refunded, refunded| Charge { customer: None, amount, amount_refunded, refunded };
        assert!(!charge(1200, 200, false).fully_refunded());
        assert!(charge(1200, 1200, false).fully_refunded());
        assert!(charge(1200, 0, true).fully_refunded());
        assert!(!charge(0, 0, false).fully_refunded());
    }
}
