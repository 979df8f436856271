//! Billing: self-service subscriptions with Stripe (or a compatible server). The provider is the
//! source of truth: webhooks (signed, stored once) and our own actions re-read the subscription
//! and apply it through one pure rule ([`lifecycle`]), which decides the plan; [`store`] writes
//! it with its quota and audit entry. A client names a plan and an interval, never a price, and
//! acts only on its own customer (SECURITY.md 49).
//!
//! The REST routes and the UI's server functions both call the functions here.

pub mod erasure;
pub mod lifecycle;
pub mod provider;
pub mod signature;
pub mod store;
pub mod webhook;

pub use erasure::{erase_customer, queue_erasure, retry_erasures};

use contract::{
    billing::{BillingOverview, CardSetup, InvoiceInfo, InvoiceList, Offer, SubscribeOutcome},
    ids::UserId,
    plans::Plan,
};
use time::OffsetDateTime;
use tokio::sync::OnceCell;

use self::{
    lifecycle::{BillingStatus, ProviderStatus, ProviderSubscription, Standing},
    provider::{Provider, ProviderError, Subscription},
    store::{BillingRow, Cause, Whose},
};
use crate::{
    Core,
    accounts::CurrentUser,
    config::{BillingSettings, Interval, Price, is_provider_id},
};

/// Billing, when configured: the settings and the provider's client.
#[derive(Debug, Clone)]
pub struct Billing {
    settings: BillingSettings,
    provider: Provider,
    /// The billing page's address, for mail.
    page_url: String,
    /// The offer with the provider's amounts, read once.
    offers: std::sync::Arc<OnceCell<Vec<Offer>>>,
    /// Where payment notices are queued.
    outbox: crate::mail::Outbox,
}

/// Why a billing request did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// Billing is not configured on this server (404, as if the route did not exist).
    #[error("Not found.")]
    Disabled,
    /// A field is invalid (422).
    #[error("{message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// For people.
        message: String,
    },
    /// A subscription is already running (409): change its plan instead.
    #[error("You already have a subscription; change its plan on the billing page instead.")]
    AlreadySubscribed,
    /// There is no running subscription to change (409).
    #[error("You have no running subscription; choose a plan on the upgrade page first.")]
    NotSubscribed,
    /// A renewal is unpaid (409): the plan cannot be raised until it is paid.
    #[error("Your last payment failed. Update your card so it can be paid, then change your plan.")]
    PastDue,
    /// The provider declined the card (402).
    #[error("{0}")]
    Declined(String),
    /// The provider could not be reached or refused us (503; details logged).
    #[error(transparent)]
    Provider(ProviderError),
    /// The database failed (500).
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<ProviderError> for BillingError {
    fn from(error: ProviderError) -> Self {
        match error {
            ProviderError::Declined { message, .. } => Self::Declined(message),
            other => Self::Provider(other),
        }
    }
}

impl Billing {
    /// Billing for `settings`, for users who reach the app at `public_origin`, queueing its
    /// notices in `outbox`.
    ///
    /// # Errors
    /// The HTTP client could not start its TLS back end.
    pub fn new(
        settings: BillingSettings,
        public_origin: &str,
        outbox: crate::mail::Outbox,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            outbox,
            provider: Provider::new(&settings)?,
            settings,
            page_url: format!("{}/billing", public_origin.trim_end_matches('/')),
            offers: std::sync::Arc::default(),
        })
    }

    /// The offer, with each price's amount as the provider states it (read once; a provider
    /// that cannot be reached leaves the amounts out this time).
    async fn offers(&self) -> Vec<Offer> {
        let read = self
            .offers
            .get_or_try_init(|| async {
                let mut offers = Vec::new();
                for price in &self.settings.prices {
                    let amount = self.provider.price_amount(&price.id).await?;
                    offers.push(offer(price, amount.unit_amount.or(amount.amount), Some(amount.currency)));
                }
                Ok::<_, ProviderError>(offers)
            })
            .await;
        match read {
            Ok(offers) => offers.clone(),
            Err(e) => {
                tracing::warn!(error = %e, "prices not read from the billing provider");
                self.settings.prices.iter().map(|p| offer(p, None, None)).collect()
            }
        }
    }

    /// The price on offer for `plan` every `interval` (names from a request).
    fn price(&self, plan: &str, interval: Option<&str>) -> Result<&Price, BillingError> {
        let plan = Plan::parse(plan.trim()).ok_or_else(|| invalid("plan", "Choose pro or studio."))?;
        let interval = match interval.map(str::trim) {
            None | Some("") => Interval::Month,
            Some(name) => {
                Interval::parse(name).ok_or_else(|| invalid("interval", "Choose month or year."))?
            }
        };
        self.settings.price_for(plan, interval).ok_or_else(|| {
            invalid(
                "plan",
                &format!(
                    "The {} plan is not on offer {}ly; see the upgrade page.",
                    plan.display_name(),
                    interval.as_str()
                ),
            )
        })
    }

    /// What the provider's `subscription` means for plans.
    fn report(&self, subscription: &Subscription) -> Result<ProviderSubscription, BillingError> {
        let status = ProviderStatus::parse(&subscription.status)
            .ok_or_else(|| unreadable(&format!("subscription status {:?}", subscription.status)))?;
        let price_plan = subscription.price_id().and_then(|id| self.settings.plan_of_price(id));
        if price_plan.is_none() {
            tracing::warn!(subscription = %subscription.id, price = ?subscription.price_id(), "subscription to a price that is not on offer");
        }
        let period_end = subscription.period_end().ok_or_else(|| unreadable("subscription period end"))?;
        let invoice_paid_plan = subscription
            .paid_invoice_prices()
            .into_iter()
            .filter_map(|id| self.settings.plan_of_price(id))
            .max();
        Ok(ProviderSubscription {
            status,
            price_plan,
            invoice_paid_plan,
            period_end,
            cancel_at_period_end: subscription.cancel_at_period_end,
        })
    }
}

fn offer(price: &Price, amount: Option<i64>, currency: Option<String>) -> Offer {
    Offer { plan: price.plan, interval: price.interval.as_str().to_owned(), amount, currency }
}

fn invalid(field: &'static str, message: &str) -> BillingError {
    BillingError::Invalid { field, message: message.to_owned() }
}

fn unreadable(what: &str) -> BillingError {
    BillingError::Provider(ProviderError::Unreachable(format!("unreadable {what}")))
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Billing, or 404 where it is not configured.
fn enabled(core: &Core) -> Result<&Billing, BillingError> {
    core.billing.as_ref().ok_or(BillingError::Disabled)
}

async fn row_of(core: &Core, user: UserId) -> Result<BillingRow, BillingError> {
    let mut conn = core.db.acquire().await?;
    store::load(&mut conn, Whose::User(user), false)
        .await?
        .ok_or(BillingError::Database(sqlx::Error::RowNotFound))
}

/// Runs `work` holding `user`'s billing lock: one billing action of a user at a time, on every
/// server instance, from its first read to its last provider call, so a double click cannot create
/// two subscriptions (issue 33, finding 4), and a webhook cannot apply a provider snapshot older
/// than one an action applied meanwhile. An advisory lock, not a row lock: the work writes the
/// user's row on other connections meanwhile. Released whatever `work` returns.
pub(crate) async fn with_billing_lock<T>(
    core: &Core,
    user: UserId,
    work: impl std::future::Future<Output = Result<T, BillingError>>,
) -> Result<T, BillingError> {
    let mut lock = core.db.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('pingvas.billing:' || $1::text, 0))")
        .bind(user.to_string())
        .execute(&mut *lock)
        .await?;
    let outcome = work.await;
    if let Err(e) = lock.rollback().await {
        tracing::warn!(%user, error = %e, "billing lock not released cleanly (its connection is dropped)");
    }
    outcome
}

/// My plan, my subscription and the offer.
///
/// # Errors
/// 404 without billing.
pub async fn overview(core: &Core, user: &CurrentUser) -> Result<BillingOverview, BillingError> {
    let billing = enabled(core)?;
    let row = row_of(core, user.user_id).await?;
    let standing = row.standing();
    Ok(BillingOverview {
        plan: row.plan(),
        status: standing.status.as_str().to_owned(),
        renews_as: standing.price_plan.filter(|_| standing.status != BillingStatus::None),
        period_end: standing.period_end.filter(|_| standing.status != BillingStatus::None),
        cancel_at_period_end: standing.cancel_at_period_end,
        // A grace that ran out is kept only as a record that it was given.
        grace_until: standing.grace_until.filter(|_| standing.status == BillingStatus::PastDue),
        offers: billing.offers().await,
        publishable_key: billing.settings.publishable_key.clone(),
        js_url: billing.settings.js_url.clone(),
    })
}

/// The provider's customer for `user`, made on first use.
async fn customer_of(core: &Core, billing: &Billing, row: &BillingRow) -> Result<String, BillingError> {
    if let Some(id) = &row.billing_customer_id {
        return Ok(id.clone());
    }
    let customer = billing.provider.create_customer(row.user_id, &row.email).await?;
    let mut conn = core.db.acquire().await?;
    Ok(store::keep_customer(&mut conn, row.user_id, &customer.id).await?)
}

/// Starts saving a card: the browser confirms the returned secret with the provider's script,
/// which never lets the card's number reach us.
///
/// # Errors
/// 404 without billing; 503 if the provider fails.
pub async fn card_setup(core: &Core, user: &CurrentUser) -> Result<CardSetup, BillingError> {
    let billing = enabled(core)?;
    let row = row_of(core, user.user_id).await?;
    let customer = customer_of(core, billing, &row).await?;
    let intent = billing.provider.create_setup_intent(&customer).await?;
    Ok(CardSetup { client_secret: intent.client_secret })
}

/// `payment_method`, checked to be a card of `customer`'s: one attached to them (as confirming
/// their card setup does at Stripe), or one attached to no one yet, which becomes theirs. One
/// attached to another customer is refused: a request cannot pay with someone else's card.
async fn own_payment_method(
    billing: &Billing,
    customer: &str,
    payment_method: &str,
) -> Result<String, BillingError> {
    let not_yours = || invalid("payment_method", "Save your card on this page first.");
    let id = payment_method.trim();
    if !is_provider_id(id) {
        return Err(not_yours());
    }
    match billing.provider.payment_method(id).await {
        Ok(method) => match method.customer.as_deref() {
            Some(owner) if owner == customer => Ok(method.id),
            Some(_) => Err(not_yours()),
            None => Ok(billing.provider.attach_payment_method(&method.id, customer).await?.id),
        },
        Err(ProviderError::NotFound(_)) => Err(not_yours()),
        Err(e) => Err(e.into()),
    }
}

/// Subscribes `user` to `plan` every `interval` with a card saved by [`card_setup`]. The plan is
/// raised only when the provider confirms the payment (its webhook); until then the subscription
/// is `pending`.
///
/// # Errors
/// 404 without billing; 422 for a plan not on offer or a card that is not theirs; 409 if they
/// already subscribe; 402 for a declined card.
pub async fn subscribe(
    core: &Core,
    user: &CurrentUser,
    plan: &str,
    interval: Option<&str>,
    payment_method: &str,
) -> Result<SubscribeOutcome, BillingError> {
    let billing = enabled(core)?;
    let price = billing.price(plan, interval)?;
    with_billing_lock(core, user.user_id, subscribe_locked(core, billing, user, price, payment_method)).await
}

async fn subscribe_locked(
    core: &Core,
    billing: &Billing,
    user: &CurrentUser,
    price: &Price,
    payment_method: &str,
) -> Result<SubscribeOutcome, BillingError> {
    let row = row_of(core, user.user_id).await?;
    if matches!(
        row.standing().status,
        BillingStatus::Pending | BillingStatus::Active | BillingStatus::PastDue
    ) {
        return Err(BillingError::AlreadySubscribed);
    }
    let customer = customer_of(core, billing, &row).await?;
    let method = own_payment_method(billing, &customer, payment_method).await?;
    billing.provider.set_default_payment_method(&customer, &method).await?;
    let subscription = billing.provider.create_subscription(&customer, &price.id, user.user_id).await?;
    let action = subscription.payment_needing_action();
    if subscription.status == "incomplete" && action.is_none() {
        // The first payment failed outright: end the attempt so the user can try another card.
        if let Err(e) = billing.provider.cancel_now(&subscription.id).await {
            tracing::warn!(subscription = %subscription.id, error = %e, "declined subscription not cancelled");
        }
        return Err(BillingError::Declined(declined_message(&subscription)));
    }
    let mut tx = core.db.begin().await?;
    let Some(row) = store::load(&mut tx, Whose::User(user.user_id), true).await? else {
        return Err(BillingError::Database(sqlx::Error::RowNotFound));
    };
    // The provider's webhook may have arrived first and applied this subscription already.
    if row.billing_subscription_id.as_deref() != Some(subscription.id.as_str()) {
        let pending = Standing {
            status: BillingStatus::Pending,
            price_plan: Some(price.plan),
            period_end: subscription.period_end(),
            ..Standing::none()
        };
        store::store(&mut tx, &row, &pending, Some(&subscription.id), &Cause::Action("subscribe"), now())
            .await?;
    }
    tx.commit().await?;
    Ok(match action {
        Some(secret) => SubscribeOutcome { status: "requires_action".into(), client_secret: Some(secret) },
        None => SubscribeOutcome { status: "pending".into(), client_secret: None },
    })
}

fn declined_message(subscription: &Subscription) -> String {
    subscription
        .latest_invoice
        .as_ref()
        .and_then(|invoice| invoice.pointer("/payment_intent/last_payment_error/message"))
        .and_then(|m| m.as_str())
        .unwrap_or("Your card was declined.")
        .to_owned()
}

/// `user`'s running subscription at the provider.
async fn running_subscription(
    core: &Core,
    billing: &Billing,
    user: UserId,
) -> Result<Subscription, BillingError> {
    let row = row_of(core, user).await?;
    let running = matches!(row.standing().status, BillingStatus::Active | BillingStatus::PastDue);
    match row.billing_subscription_id {
        Some(id) if running => Ok(billing.provider.subscription(&id).await?),
        _ => Err(BillingError::NotSubscribed),
    }
}

/// Moves `user`'s subscription to `plan` every `interval`. An upgrade (a higher plan, or another
/// interval, which starts a new period) is charged now and applies only once that charge is paid;
/// a declined card changes nothing. A downgrade bills nothing now and applies at the end of the
/// paid period.
///
/// # Errors
/// 404 without billing; 422 for a plan not on offer; 409 without a running subscription or while
/// a renewal is unpaid; 402 when the upgrade's charge is declined.
pub async fn change_plan(
    core: &Core,
    user: &CurrentUser,
    plan: &str,
    interval: Option<&str>,
) -> Result<BillingOverview, BillingError> {
    let billing = enabled(core)?;
    let price = billing.price(plan, interval)?;
    with_billing_lock(core, user.user_id, change_plan_locked(core, billing, user, price)).await?;
    overview(core, user).await
}

async fn change_plan_locked(
    core: &Core,
    billing: &Billing,
    user: &CurrentUser,
    price: &Price,
) -> Result<(), BillingError> {
    let subscription = running_subscription(core, billing, user.user_id).await?;
    let Some(item) = subscription.items.data.first() else {
        return Err(unreadable("subscription without items"));
    };
    if subscription.price_id() == Some(price.id.as_str()) {
        return Ok(());
    }
    // Finding 2: a higher plan bought while a renewal is unpaid would be used unpaid.
    if subscription.status != "active" {
        return Err(BillingError::PastDue);
    }
    let current = subscription.price_id().and_then(|id| billing.settings.price_by_id(id));
    let billed = match current {
        Some(current) if price.interval == current.interval && price.plan < current.plan => {
            provider::PriceChange::AtRenewal
        }
        _ => provider::PriceChange::ChargeNow,
    };
    let updated = billing.provider.change_price(&subscription.id, &item.id, &price.id, billed).await?;
    if updated.pending_update.is_some() {
        // The charge failed; the provider kept the old price (and we keep the old plan).
        return Err(BillingError::Declined(declined_message(&updated)));
    }
    // Re-read with the latest invoice: the upgrade's invoice, paid, is what raises the plan.
    let updated = billing.provider.subscription(&updated.id).await?;
    apply(core, billing, &updated, &Cause::Action("change plan")).await
}

/// Sets whether `user`'s subscription ends at the end of the paid period (`cancel`) or renews.
///
/// # Errors
/// 404 without billing; 409 without a running subscription.
pub async fn set_cancel(
    core: &Core,
    user: &CurrentUser,
    cancel: bool,
) -> Result<BillingOverview, BillingError> {
    let billing = enabled(core)?;
    with_billing_lock(core, user.user_id, async {
        let subscription = running_subscription(core, billing, user.user_id).await?;
        let updated = billing.provider.set_cancel_at_period_end(&subscription.id, cancel).await?;
        let updated = billing.provider.subscription(&updated.id).await?;
        apply(core, billing, &updated, &Cause::Action(if cancel { "cancel" } else { "resume" })).await
    })
    .await?;
    overview(core, user).await
}

/// Charges `user`'s invoices to a newly saved card from now on.
///
/// # Errors
/// 404 without billing; 422 for a card that is not theirs.
pub async fn update_payment_method(
    core: &Core,
    user: &CurrentUser,
    payment_method: &str,
) -> Result<(), BillingError> {
    let billing = enabled(core)?;
    let row = row_of(core, user.user_id).await?;
    let customer = row.billing_customer_id.ok_or(BillingError::NotSubscribed)?;
    let method = own_payment_method(billing, &customer, payment_method).await?;
    billing.provider.set_default_payment_method(&customer, &method).await?;
    Ok(())
}

/// `user`'s invoices, newest first, with the provider's pages and PDFs where it has them.
///
/// # Errors
/// 404 without billing.
pub async fn invoices(core: &Core, user: &CurrentUser) -> Result<InvoiceList, BillingError> {
    let billing = enabled(core)?;
    let row = row_of(core, user.user_id).await?;
    let Some(customer) = row.billing_customer_id else { return Ok(InvoiceList { items: Vec::new() }) };
    let mut items: Vec<InvoiceInfo> = billing
        .provider
        .invoices(&customer)
        .await?
        .into_iter()
        .map(|invoice| InvoiceInfo {
            id: invoice.id,
            number: invoice.number,
            status: invoice.status.unwrap_or_else(|| "draft".into()),
            amount_due: invoice.amount_due,
            amount_paid: invoice.amount_paid,
            currency: invoice.currency,
            created_at: OffsetDateTime::from_unix_timestamp(invoice.created)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            page_url: invoice.hosted_invoice_url,
            pdf_url: invoice.invoice_pdf,
        })
        .collect();
    items.sort_by_key(|invoice| std::cmp::Reverse(invoice.created_at));
    Ok(InvoiceList { items })
}

/// Applies the provider's `subscription` to its user, in its own transaction.
async fn apply(
    core: &Core,
    billing: &Billing,
    subscription: &Subscription,
    cause: &Cause,
) -> Result<(), BillingError> {
    let mut tx = core.db.begin().await?;
    let applied = apply_in(&mut tx, billing, subscription, cause).await?;
    tx.commit().await?;
    if let Some((user, _)) = applied {
        core.accounts.forget_checks_of(user);
    }
    Ok(())
}

/// Applies the provider's `subscription` to the user whose it is, in `conn`'s transaction;
/// returns who and the plan they have after, or `None` when it is no user's or not their
/// current subscription (an old one's late news changes nothing).
async fn apply_in(
    conn: &mut sqlx::PgConnection,
    billing: &Billing,
    subscription: &Subscription,
    cause: &Cause,
) -> Result<Option<(UserId, Plan)>, BillingError> {
    let report = billing.report(subscription)?;
    let row = match store::load(conn, Whose::Subscription(&subscription.id), true).await? {
        Some(row) => row,
        None => match store::load(conn, Whose::Customer(&subscription.customer), true).await? {
            Some(row) => row,
            None => return Ok(None),
        },
    };
    let current = row.billing_subscription_id.as_deref() == Some(subscription.id.as_str());
    let before = row.standing();
    let live =
        matches!(before.status, BillingStatus::Pending | BillingStatus::Active | BillingStatus::PastDue);
    if !current && live {
        // One subscription per user (finding 4): another live one of this customer's must not
        // keep charging. Subscribing is locked per user, so this is a leftover of a failure or
        // of an action outside this server (the provider's dashboard): end it, and tell admins.
        if !matches!(report.status, ProviderStatus::Canceled | ProviderStatus::IncompleteExpired) {
            tracing::error!(user = %row.user_id, subscription = %subscription.id, "a second live subscription of one user: cancelling it at the provider (check for a charge to refund)");
            match billing.provider.cancel_now(&subscription.id).await {
                Ok(_) | Err(ProviderError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        return Ok(None);
    }
    // A new subscription starts from nothing paid; the current one continues its standing.
    let before = if current { before } else { Standing::none() };
    let standing = lifecycle::after_report(&before, &report, now(), billing.settings.grace);
    let plan = store::store(conn, &row, &standing, Some(&subscription.id), cause, now()).await?;
    if standing.status == BillingStatus::PastDue && before.status != BillingStatus::PastDue {
        // Sent if and only if this transaction commits, once per failed renewal.
        let until =
            standing.grace_until.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok());
        let until = until.as_deref().and_then(|t| t.get(..10)).unwrap_or("the end of the grace period");
        let mail =
            crate::mail::templates::payment_failed(&row.email, &billing.page_url, plan.display_name(), until);
        billing.outbox.enqueue(conn, Some(row.user_id), &mail).await?;
    }
    Ok(Some((row.user_id, plan)))
}

/// Applies what time alone changes (periods set to cancel that ended, downgrades due, grace
/// periods run out) for up to `limit` users; returns how many changed. Run periodically.
///
/// # Errors
/// The database failed.
pub async fn sweep(core: &Core, limit: i64) -> Result<usize, BillingError> {
    if core.billing.is_none() {
        return Ok(0);
    }
    let now = now();
    let mut tx = core.db.begin().await?;
    let mut changed = Vec::new();
    for row in store::due(&mut tx, now, limit).await? {
        let before = row.standing();
        let after = lifecycle::after_time(&before, now);
        if after != before {
            store::store(&mut tx, &row, &after, None, &Cause::Sweep, now).await?;
            changed.push(row.user_id);
        }
    }
    tx.commit().await?;
    for &user in &changed {
        core.accounts.forget_checks_of(user);
    }
    Ok(changed.len())
}
