//! `POST /api/v1/billing/webhook`: the provider's events (SECURITY.md 48). A delivery is believed
//! only with a valid signature over its raw body; each event is applied once (its id is stored
//! in the transaction that applies it, so a replay finds it and changes nothing, and a failed
//! attempt stores nothing and is retried by the provider); and subscription events apply the
//! subscription as the provider has it *now*, re-read, never the event's snapshot, so events
//! arriving out of order converge to the provider's current state.

use serde::Deserialize;
use time::OffsetDateTime;

use contract::ids::UserId;

use super::{
    BillingError, apply_in, enabled, lifecycle,
    provider::ProviderError,
    signature::{self, SignatureError},
    store::{self, Cause, Whose},
};
use crate::Core;

/// Why a delivery was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Billing is not configured (404).
    #[error("Not found.")]
    Disabled,
    /// Not signed by the provider, or too old (400; nothing changes).
    #[error("The signature does not match: {0}")]
    Signature(#[from] SignatureError),
    /// Not an event (400).
    #[error("This is not an event: {0}")]
    Malformed(String),
    /// Applying it failed on our side or the provider's (500/503: the provider retries).
    #[error(transparent)]
    Failed(#[from] BillingError),
}

impl From<sqlx::Error> for WebhookError {
    fn from(e: sqlx::Error) -> Self {
        Self::Failed(BillingError::Database(e))
    }
}

impl From<ProviderError> for WebhookError {
    fn from(e: ProviderError) -> Self {
        Self::Failed(e.into())
    }
}

/// What became of a delivery (all answered 200).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Applied now, with what it did.
    Applied(String),
    /// This event was applied before; nothing changed.
    Duplicate,
}

#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: serde_json::Value,
}

/// The id in `value`: a string, or an expanded object's `id`.
fn id_in(value: Option<&serde_json::Value>) -> Option<String> {
    let value = value?;
    value.as_str().or_else(|| value.get("id")?.as_str()).map(str::to_owned)
}

/// What an event asks of us.
enum Work {
    /// Re-read this subscription and apply it.
    Subscription(String),
    /// A payment of this customer was refunded or disputed.
    Revoke {
        /// The customer charged.
        customer: String,
    },
    /// Nothing (recorded, so a replay is still a duplicate).
    Nothing,
}

/// Checks, records and applies one delivery of `body` with `signature` (the `Stripe-Signature`
/// header).
///
/// # Errors
/// [`WebhookError`]; nothing changes on any of them.
pub async fn receive(core: &Core, body: &[u8], signature: Option<&str>) -> Result<Delivery, WebhookError> {
    let billing = enabled(core).map_err(|_| WebhookError::Disabled)?;
    let now = OffsetDateTime::now_utc();
    signature::verify(&billing.settings.webhook_secret, signature, body, now.unix_timestamp())?;
    let event: Event = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    if !crate::config::is_provider_id(&event.id) || event.kind.is_empty() || event.kind.len() > 100 {
        return Err(WebhookError::Malformed("unusable event id or type".into()));
    }
    if seen(core, &event.id).await? {
        return Ok(Delivery::Duplicate);
    }
    let object = &event.data.object;
    let work = match event.kind.as_str() {
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            id_in(object.get("id")).map_or(Work::Nothing, Work::Subscription)
        }
        "invoice.paid"
        | "invoice.payment_succeeded"
        | "invoice.payment_failed"
        | "checkout.session.completed" => {
            id_in(object.get("subscription")).map_or(Work::Nothing, Work::Subscription)
        }
        // Only a payment refunded in full withdraws the plan (finding 10: a partial refund, a
        // goodwill credit, did too). The charge is read from the provider, not the event.
        "charge.refunded" => match id_in(object.get("id")) {
            Some(charge) => match billing.provider.charge(&charge).await {
                Ok(charge) => match charge.customer {
                    Some(customer) if charge.fully_refunded() => Work::Revoke { customer },
                    _ => Work::Nothing,
                },
                Err(ProviderError::NotFound(_)) => Work::Nothing,
                Err(e) => return Err(e.into()),
            },
            None => Work::Nothing,
        },
        "charge.dispute.created" => match id_in(object.get("charge")) {
            Some(charge) => billing
                .provider
                .charge(&charge)
                .await?
                .customer
                .map_or(Work::Nothing, |customer| Work::Revoke { customer }),
            None => Work::Nothing,
        },
        _ => Work::Nothing,
    };
    // Subscription news for one of our users is applied under that user's billing lock (finding
    // 10): two deliveries (or a delivery and the user's own action) read the provider one after
    // the other, so an older snapshot can never be applied after a newer one.
    let owner = match &work {
        Work::Subscription(id) => owner_of(core, id, id_in(object.get("customer")).as_deref()).await?,
        _ => None,
    };
    match owner {
        Some(user) => {
            super::with_billing_lock(core, user, async {
                Ok(apply_work(core, billing, &event, &work, now).await)
            })
            .await?
        }
        None => apply_work(core, billing, &event, &work, now).await,
    }
}

/// The user a subscription's news is about, if one of ours: by the subscription, or else by the
/// customer the event names (a new subscription not yet stored).
async fn owner_of(
    core: &Core,
    subscription: &str,
    customer: Option<&str>,
) -> Result<Option<UserId>, sqlx::Error> {
    let mut conn = core.db.acquire().await?;
    if let Some(row) = store::load(&mut conn, Whose::Subscription(subscription), false).await? {
        return Ok(Some(row.user_id));
    }
    match customer {
        Some(customer) => {
            Ok(store::load(&mut conn, Whose::Customer(customer), false).await?.map(|row| row.user_id))
        }
        None => Ok(None),
    }
}

/// Reads what `work` needs from the provider, then applies it and records `event`, in one
/// transaction.
async fn apply_work(
    core: &Core,
    billing: &super::Billing,
    event: &Event,
    work: &Work,
    now: OffsetDateTime,
) -> Result<Delivery, WebhookError> {
    // The provider is read before the transaction opens, so no row lock waits on the network.
    let subscription = match work {
        Work::Subscription(id) => Some(billing.provider.subscription(id).await?),
        _ => None,
    };
    let created = OffsetDateTime::from_unix_timestamp(event.created).unwrap_or(now);
    let cause = Cause::Event(event.id.clone());
    let mut tx = core.db.begin().await?;
    let (user, outcome, to_cancel) = match (work, &subscription) {
        (Work::Subscription(_), Some(subscription)) => match apply_in(&mut tx, billing, subscription, &cause)
            .await?
        {
            Some((user, plan)) => {
                (Some(user), format!("subscription {}: plan {}", subscription.status, plan.as_str()), None)
            }
            None => (None, "not a current subscription of ours".to_owned(), None),
        },
        (Work::Revoke { customer }, _) => revoke(&mut tx, customer, &cause, now).await?,
        _ => (None, "ignored".to_owned(), None),
    };
    let recorded = sqlx::query(
        "INSERT INTO billing_events (event_id, event_type, created_at, user_id, outcome)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(&event.id)
    .bind(&event.kind)
    .bind(created)
    .bind(user)
    .bind(&outcome)
    .execute(&mut *tx)
    .await?;
    if recorded.rows_affected() == 0 {
        // A concurrent delivery of the same event got there first: undo ours.
        return Ok(Delivery::Duplicate);
    }
    tx.commit().await?;
    if let Some(user) = user {
        core.accounts.forget_checks_of(user);
    }
    tracing::info!(event = %event.id, kind = %event.kind, %outcome, "billing event applied");
    if let Some(subscription) = to_cancel {
        // Stop future charges of a revoked subscription; the plan is already Free either way.
        if let Err(e) = billing.provider.cancel_now(&subscription).await {
            tracing::warn!(%subscription, error = %e, "revoked subscription not cancelled at the provider");
        }
    }
    Ok(Delivery::Applied(outcome))
}

async fn seen(core: &Core, event: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM billing_events WHERE event_id = $1)")
        .bind(event)
        .fetch_one(&core.db)
        .await
}

/// Withdraws the paid plan of `customer`'s user; returns who, what happened and the subscription
/// to end at the provider.
async fn revoke(
    conn: &mut sqlx::PgConnection,
    customer: &str,
    cause: &Cause,
    now: OffsetDateTime,
) -> Result<(Option<UserId>, String, Option<String>), WebhookError> {
    let Some(row) = store::load(conn, Whose::Customer(customer), true).await? else {
        return Ok((None, "not a customer of ours".to_owned(), None));
    };
    let standing = lifecycle::revoked(&row.standing());
    let plan = store::store(conn, &row, &standing, None, cause, now).await?;
    Ok((Some(row.user_id), format!("revoked: plan {}", plan.as_str()), row.billing_subscription_id.clone()))
}
