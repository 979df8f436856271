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
        let request = self.http.request(method.clone(), &url).bearer_auth(&self.key);
        let request = if method == reqwest::Method::GET { request.query(form) } else { request.form(form) };
        let response = request.send().await.map_err(|e| ProviderError::Unreachable(e.to_string()))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| ProviderError::Unreachable(e.to_string()))?;
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

    /// The subscription as the provider has it now.
    ///
    /// # Errors
    /// [`ProviderError`].
    pub async fn subscription(&self, id: &str) -> Result<Subscription, ProviderError> {
        self.call(reqwest::Method::GET, &format!("/v1/subscriptions/{id}"), &vec![], "subscription").await
    }

    /// Moves subscription `id`'s one item to `price`.
    ///
    /// # Errors
    /// [`ProviderError`].
    pub async fn change_price(
        &self,
        id: &str,
        item: &str,
        price: &str,
    ) -> Result<Subscription, ProviderError> {
        let form = item_price(vec![("items[0][id]", item.to_owned())], price);
        self.call(reqwest::Method::POST, &format!("/v1/subscriptions/{id}"), &form, "subscription").await
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
