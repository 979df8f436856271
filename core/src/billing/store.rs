//! A user's billing facts in `users`, and the one write that changes them: it stores the new
//! standing, sets the plan it gives and that plan's quota limit in the same statement (used
//! images stay used), and writes the change to the audit log with its cause (SECURITY.md 50).

use contract::{ids::UserId, plans::Plan};
use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::lifecycle::{BillingStatus, Standing};

/// Why billing facts changed, for the audit log.
#[derive(Debug, Clone)]
pub enum Cause {
    /// A webhook event, by its id.
    Event(String),
    /// The user's own action through our billing page or API.
    Action(&'static str),
    /// A period or grace period ended.
    Sweep,
}

impl Cause {
    fn describe(&self) -> serde_json::Value {
        match self {
            Self::Event(id) => json!({ "event_id": id }),
            Self::Action(what) => json!({ "action": what }),
            Self::Sweep => json!({ "sweep": "period or grace period ended" }),
        }
    }
}

/// What `users` holds about one user's billing.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BillingRow {
    /// Whose.
    pub user_id: UserId,
    /// Their address (for a new provider customer).
    pub email: String,
    /// The plan they have now.
    pub subscription_plan: String,
    /// See [`BillingStatus`].
    pub billing_status: String,
    /// The plan that renews.
    pub billing_price_plan: Option<String>,
    /// The highest plan paid for in the current period.
    pub billing_paid_plan: Option<String>,
    /// When the period ends.
    pub billing_period_end: Option<OffsetDateTime>,
    /// Whether it ends then.
    pub billing_cancel_at_period_end: bool,
    /// While past due, until when.
    pub billing_grace_until: Option<OffsetDateTime>,
    /// The provider's customer.
    pub billing_customer_id: Option<String>,
    /// The provider's subscription.
    pub billing_subscription_id: Option<String>,
}

const COLUMNS: &str = "user_id, email, subscription_plan, billing_status, billing_price_plan, billing_paid_plan, \
     billing_period_end, billing_cancel_at_period_end, billing_grace_until, billing_customer_id, \
     billing_subscription_id";

impl BillingRow {
    /// The plan they have now (the column's CHECK allows only known plans).
    #[must_use]
    pub fn plan(&self) -> Plan {
        Plan::parse(&self.subscription_plan).unwrap_or(Plan::Free)
    }

    /// The stored standing.
    #[must_use]
    pub fn standing(&self) -> Standing {
        Standing {
            status: BillingStatus::parse(&self.billing_status).unwrap_or(BillingStatus::None),
            price_plan: self.billing_price_plan.as_deref().and_then(Plan::parse),
            paid_plan: self.billing_paid_plan.as_deref().and_then(Plan::parse),
            period_end: self.billing_period_end,
            cancel_at_period_end: self.billing_cancel_at_period_end,
            grace_until: self.billing_grace_until,
        }
    }
}

/// How a row is looked up.
#[derive(Debug, Clone, Copy)]
pub enum Whose<'a> {
    /// By our id.
    User(UserId),
    /// By the provider's customer id.
    Customer(&'a str),
    /// By the provider's subscription id.
    Subscription(&'a str),
}

/// The billing row of `whose`, locked until the transaction ends when `lock` (so concurrent
/// events for one user apply one after the other).
///
/// # Errors
/// The database failed.
pub async fn load(
    conn: &mut PgConnection,
    whose: Whose<'_>,
    lock: bool,
) -> Result<Option<BillingRow>, sqlx::Error> {
    let (column, lock) = (
        match whose {
            Whose::User(_) => "user_id = $1",
            Whose::Customer(_) => "billing_customer_id = $2",
            Whose::Subscription(_) => "billing_subscription_id = $2",
        },
        if lock { "FOR UPDATE" } else { "" },
    );
    let (id, text) = match whose {
        Whose::User(id) => (Some(id), None),
        Whose::Customer(text) | Whose::Subscription(text) => (None, Some(text)),
    };
    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM users WHERE {column} {lock}")))
        .bind(id)
        .bind(text)
        .fetch_optional(conn)
        .await
}

/// Stores `standing` for `row`'s user (with `subscription` as theirs when given), sets the plan
/// it gives at `now` with that plan's quota limit, and audits a plan change with `cause`.
/// Returns the plan they have afterwards.
///
/// # Errors
/// The database failed.
pub async fn store(
    conn: &mut PgConnection,
    row: &BillingRow,
    standing: &Standing,
    subscription: Option<&str>,
    cause: &Cause,
    now: OffsetDateTime,
) -> Result<Plan, sqlx::Error> {
    let before = row.plan();
    let after = standing.plan_at(now).unwrap_or(before);
    let changed = after != before;
    // The seed design's status column, kept meaningful for readers of `users`.
    let legacy_status = match standing.status {
        BillingStatus::Cancelled => "cancelled",
        BillingStatus::Revoked => "expired",
        _ => "active",
    };
    sqlx::query(
        "UPDATE users SET
             billing_status = $2, billing_price_plan = $3, billing_paid_plan = $4,
             billing_period_end = $5, billing_cancel_at_period_end = $6, billing_grace_until = $7,
             billing_subscription_id = coalesce($8, billing_subscription_id),
             subscription_plan = $9,
             monthly_image_quota = CASE WHEN $10 THEN $11 ELSE monthly_image_quota END,
             subscription_status = $12,
             subscription_start_date = CASE WHEN $2 = 'active' THEN coalesce(subscription_start_date, now())
                                            ELSE subscription_start_date END,
             subscription_end_date = $5,
             billing_updated_at = now()
         WHERE user_id = $1",
    )
    .bind(row.user_id)
    .bind(standing.status.as_str())
    .bind(standing.price_plan.map(Plan::as_str))
    .bind(standing.paid_plan.map(Plan::as_str))
    .bind(standing.period_end)
    .bind(standing.cancel_at_period_end)
    .bind(standing.grace_until)
    .bind(subscription)
    .bind(after.as_str())
    .bind(changed)
    .bind(after.limits().monthly_images)
    .bind(legacy_status)
    .execute(&mut *conn)
    .await?;
    if changed {
        let changes = json!({
            "subscription_plan": { "from": before.as_str(), "to": after.as_str() },
            "billing_status": standing.status.as_str(),
            "cause": cause.describe(),
        });
        // No actor: the provider's word (or time) changed it, not a person.
        sqlx::query(
            "INSERT INTO admin_audit_log (actor_id, target_id, action, changes)
             VALUES (NULL, $1, 'billing_plan_change', $2::jsonb)",
        )
        .bind(row.user_id)
        .bind(changes.to_string())
        .execute(&mut *conn)
        .await?;
        tracing::info!(user = %row.user_id, from = before.as_str(), to = after.as_str(), ?cause, "plan changed by billing");
    }
    Ok(after)
}

/// Records `customer` as `user`'s unless they have one already; returns the one they have.
///
/// # Errors
/// The database failed.
pub async fn keep_customer(
    conn: &mut PgConnection,
    user: UserId,
    customer: &str,
) -> Result<String, sqlx::Error> {
    let kept: Option<String> = sqlx::query_scalar(
        "UPDATE users SET billing_customer_id = $2 WHERE user_id = $1 AND billing_customer_id IS NULL
         RETURNING billing_customer_id",
    )
    .bind(user)
    .bind(customer)
    .fetch_optional(&mut *conn)
    .await?;
    match kept {
        Some(id) => Ok(id),
        // Another request made one first: theirs is the user's (ours stays unused at the provider).
        None => sqlx::query_scalar("SELECT billing_customer_id FROM users WHERE user_id = $1")
            .bind(user)
            .fetch_one(conn)
            .await
            .map(|id: Option<String>| id.unwrap_or_else(|| customer.to_owned())),
    }
}

/// Users for whom time alone changes something by `now` (see `lifecycle::after_time`), for
/// the sweep (at most `limit`, locked, skipping rows another sweep holds).
///
/// # Errors
/// The database failed.
pub async fn due(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<BillingRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users
         WHERE (billing_status = 'active' AND billing_period_end <= $1
                AND (billing_cancel_at_period_end OR billing_paid_plan IS DISTINCT FROM billing_price_plan))
            OR (billing_status = 'past_due' AND billing_grace_until <= $1)
         ORDER BY billing_period_end LIMIT $2 FOR UPDATE SKIP LOCKED"
    )))
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await
}
