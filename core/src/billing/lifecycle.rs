//! Which plan a paying user has, from what the billing provider says about their subscription and
//! what time it is: the plan lifecycle of SECURITY.md 50 as one pure function, so that webhooks,
//! our own billing actions and the periodic sweep all decide it the same way.
//!
//! - An upgrade takes effect as soon as the provider reports the new price on an active
//!   subscription: the plan paid for in the current period is the highest price seen in it.
//! - A downgrade or a cancellation takes effect at the end of the paid period.
//! - A failed renewal (`past_due`) keeps the paid plan through a grace period, then falls to Free.
//! - A subscription that ended, or a payment refunded or disputed, is Free at once.

use contract::plans::Plan;
use time::{Duration, OffsetDateTime};

/// The provider's status of a subscription (Stripe's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderStatus {
    /// Created, first payment not confirmed yet.
    Incomplete,
    /// The first payment never came.
    IncompleteExpired,
    /// In a free trial.
    Trialing,
    /// Paid up.
    Active,
    /// A renewal failed; the provider is retrying.
    PastDue,
    /// Ended.
    Canceled,
    /// Retries ran out.
    Unpaid,
    /// Paused by the provider.
    Paused,
}

impl ProviderStatus {
    /// Parses Stripe's name; `None` for one this code does not know.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "incomplete" => Self::Incomplete,
            "incomplete_expired" => Self::IncompleteExpired,
            "trialing" => Self::Trialing,
            "active" => Self::Active,
            "past_due" => Self::PastDue,
            "canceled" => Self::Canceled,
            "unpaid" => Self::Unpaid,
            "paused" => Self::Paused,
            _ => return None,
        })
    }
}

/// Where a user's subscription stands, as kept in `users.billing_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillingStatus {
    /// Never subscribed: the plan is whatever an administrator set (Free by default).
    None,
    /// Subscribed, first payment not confirmed: nothing raised yet.
    Pending,
    /// Paid up (possibly set to cancel at the period's end).
    Active,
    /// A renewal failed: paid limits kept until `grace_until`.
    PastDue,
    /// The subscription ended.
    Cancelled,
    /// A payment was refunded or disputed: the paid plan is withdrawn.
    Revoked,
}

impl BillingStatus {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Pending => "pending",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Cancelled => "cancelled",
            Self::Revoked => "revoked",
        }
    }

    /// Parses a stored name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        [Self::None, Self::Pending, Self::Active, Self::PastDue, Self::Cancelled, Self::Revoked]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// The facts kept about a user's subscription, from which their plan follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// Where it stands.
    pub status: BillingStatus,
    /// The plan of the subscription's current price (what renews).
    pub price_plan: Option<Plan>,
    /// The highest plan paid for in the current period.
    pub paid_plan: Option<Plan>,
    /// When the current period ends.
    pub period_end: Option<OffsetDateTime>,
    /// Whether it ends at `period_end` instead of renewing.
    pub cancel_at_period_end: bool,
    /// While past due, until when the paid plan is kept.
    pub grace_until: Option<OffsetDateTime>,
}

impl Standing {
    /// A user who never subscribed.
    #[must_use]
    pub const fn none() -> Self {
        Self {
            status: BillingStatus::None,
            price_plan: None,
            paid_plan: None,
            period_end: None,
            cancel_at_period_end: false,
            grace_until: None,
        }
    }

    /// The plan these facts give at `now`; `None` when billing does not decide it (never
    /// subscribed, or the first payment is not confirmed yet): the plan stays as it is.
    #[must_use]
    pub fn plan_at(&self, now: OffsetDateTime) -> Option<Plan> {
        let period_over = self.period_end.is_none_or(|end| end <= now);
        match self.status {
            BillingStatus::None | BillingStatus::Pending => None,
            BillingStatus::Cancelled | BillingStatus::Revoked => Some(Plan::Free),
            BillingStatus::Active if period_over && self.cancel_at_period_end => Some(Plan::Free),
            // The period is over and no renewal reported yet: what renews is what counts.
            BillingStatus::Active if period_over => Some(self.price_plan.unwrap_or(Plan::Free)),
            BillingStatus::Active => Some(self.paid_or_price()),
            BillingStatus::PastDue => {
                let in_grace = self.grace_until.is_some_and(|until| now < until);
                Some(if in_grace { self.paid_or_price() } else { Plan::Free })
            }
        }
    }

    fn paid_or_price(&self) -> Plan {
        self.paid_plan.max(self.price_plan).unwrap_or(Plan::Free)
    }

    /// When [`Standing::plan_at`] will next change by time alone (a period or grace ending), for
    /// the sweep.
    #[must_use]
    pub fn changes_at(&self) -> Option<OffsetDateTime> {
        match self.status {
            BillingStatus::Active => self.period_end,
            BillingStatus::PastDue => self.grace_until,
            _ => None,
        }
    }
}

/// The provider's subscription, as far as plans are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSubscription {
    /// Its status.
    pub status: ProviderStatus,
    /// The plan its price belongs to (`None`: a price not in our configuration).
    pub price_plan: Option<Plan>,
    /// When the current period ends.
    pub period_end: OffsetDateTime,
    /// Whether it ends at `period_end`.
    pub cancel_at_period_end: bool,
}

/// The standing after the provider reported `subscription` at `now`, given the standing
/// before. Applying the same report twice gives the same standing, and so does applying an
/// older report after a newer one as long as each is the provider's *current* state, which is
/// why callers re-read the subscription instead of trusting an event's snapshot.
#[must_use]
pub fn after_report(
    before: &Standing,
    subscription: &ProviderSubscription,
    now: OffsetDateTime,
    grace: Duration,
) -> Standing {
    let same_period = before.period_end == Some(subscription.period_end);
    // Within one period the highest plan paid for stays (a downgrade waits for the period's end);
    // a new period starts from what was paid for it.
    let paid_plan =
        if same_period { before.paid_plan.max(subscription.price_plan) } else { subscription.price_plan };
    let status = match subscription.status {
        ProviderStatus::Active | ProviderStatus::Trialing => BillingStatus::Active,
        ProviderStatus::PastDue => BillingStatus::PastDue,
        ProviderStatus::Incomplete => BillingStatus::Pending,
        ProviderStatus::IncompleteExpired
        | ProviderStatus::Canceled
        | ProviderStatus::Unpaid
        | ProviderStatus::Paused => BillingStatus::Cancelled,
    };
    // A refund or dispute is final for this subscription: later reports of it do not restore it.
    let status = if before.status == BillingStatus::Revoked { BillingStatus::Revoked } else { status };
    let grace_until = match status {
        // The grace period starts when the renewal first failed and is not extended by retries.
        BillingStatus::PastDue => {
            before.grace_until.filter(|_| before.status == BillingStatus::PastDue).or(Some(now + grace))
        }
        _ => None,
    };
    // A pending first payment has paid for nothing yet.
    let paid_plan = if status == BillingStatus::Pending && before.status != BillingStatus::Active {
        None
    } else {
        paid_plan
    };
    Standing {
        status,
        price_plan: subscription.price_plan,
        paid_plan,
        period_end: Some(subscription.period_end),
        cancel_at_period_end: subscription.cancel_at_period_end,
        grace_until,
    }
}

/// The standing once `now` has come: a subscription set to cancel has ended at its period's
/// end, a downgrade has taken effect, a grace period has run out. Unchanged when time changes
/// nothing (the provider's own report of a renewal or an ending may still come, and agrees).
#[must_use]
pub fn after_time(standing: &Standing, now: OffsetDateTime) -> Standing {
    let over = |at: Option<OffsetDateTime>| at.is_some_and(|at| at <= now);
    let mut next = standing.clone();
    match standing.status {
        BillingStatus::Active if over(standing.period_end) && standing.cancel_at_period_end => {
            next.status = BillingStatus::Cancelled;
            next.paid_plan = None;
        }
        BillingStatus::Active if over(standing.period_end) => next.paid_plan = standing.price_plan,
        BillingStatus::PastDue if over(standing.grace_until) => {
            next.status = BillingStatus::Cancelled;
            next.paid_plan = None;
            next.grace_until = None;
        }
        _ => {}
    }
    next
}

/// The standing after a payment of the subscription was refunded or disputed: Free at once,
/// whatever the provider reports later about this subscription.
#[must_use]
pub fn revoked(before: &Standing) -> Standing {
    Standing { status: BillingStatus::Revoked, paid_plan: None, grace_until: None, ..before.clone() }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-12-04 12:00 UTC);
    const GRACE: Duration = Duration::days(7);

    fn report(status: ProviderStatus, plan: Plan, period_end: OffsetDateTime) -> ProviderSubscription {
        ProviderSubscription { status, price_plan: Some(plan), period_end, cancel_at_period_end: false }
    }

    fn end() -> OffsetDateTime {
        NOW + Duration::days(30)
    }

    #[test]
    fn nothing_is_raised_before_the_first_payment_is_confirmed() {
        let pending = after_report(
            &Standing::none(),
            &report(ProviderStatus::Incomplete, Plan::Pro, end()),
            NOW,
            GRACE,
        );
        assert_eq!(pending.status, BillingStatus::Pending);
        assert_eq!(pending.plan_at(NOW), None, "the plan stays what it was");
        let paid = after_report(&pending, &report(ProviderStatus::Active, Plan::Pro, end()), NOW, GRACE);
        assert_eq!(paid.plan_at(NOW), Some(Plan::Pro));
    }

    #[test]
    fn an_upgrade_is_at_once_and_a_downgrade_waits_for_the_end_of_the_paid_period() {
        let pro =
            after_report(&Standing::none(), &report(ProviderStatus::Active, Plan::Pro, end()), NOW, GRACE);
        let studio = after_report(&pro, &report(ProviderStatus::Active, Plan::Studio, end()), NOW, GRACE);
        assert_eq!(studio.plan_at(NOW), Some(Plan::Studio), "upgrade at once");
        let back_to_pro =
            after_report(&studio, &report(ProviderStatus::Active, Plan::Pro, end()), NOW, GRACE);
        assert_eq!(back_to_pro.plan_at(NOW), Some(Plan::Studio), "Studio was paid for until the period ends");
        assert_eq!(back_to_pro.plan_at(end()), Some(Plan::Pro), "then what renews");
        assert_eq!(back_to_pro.changes_at(), Some(end()));
        let renewed = after_report(
            &back_to_pro,
            &report(ProviderStatus::Active, Plan::Pro, end() + Duration::days(31)),
            end(),
            GRACE,
        );
        assert_eq!(renewed.plan_at(end()), Some(Plan::Pro), "the new period paid for Pro only");
    }

    #[test]
    fn a_cancellation_keeps_the_plan_until_the_period_ends_then_free() {
        let pro =
            after_report(&Standing::none(), &report(ProviderStatus::Active, Plan::Pro, end()), NOW, GRACE);
        let cancelling = ProviderSubscription {
            cancel_at_period_end: true,
            ..report(ProviderStatus::Active, Plan::Pro, end())
        };
        let cancelling = after_report(&pro, &cancelling, NOW, GRACE);
        assert_eq!(cancelling.plan_at(NOW), Some(Plan::Pro));
        assert_eq!(cancelling.plan_at(end() - Duration::seconds(1)), Some(Plan::Pro));
        assert_eq!(cancelling.plan_at(end()), Some(Plan::Free));
        let ended =
            after_report(&cancelling, &report(ProviderStatus::Canceled, Plan::Pro, end()), end(), GRACE);
        assert_eq!((ended.status, ended.plan_at(end())), (BillingStatus::Cancelled, Some(Plan::Free)));
    }

    #[test]
    fn a_failed_renewal_keeps_the_paid_plan_through_the_grace_period_then_free() {
        let pro =
            after_report(&Standing::none(), &report(ProviderStatus::Active, Plan::Pro, end()), NOW, GRACE);
        let failed_at = end() + Duration::hours(1);
        let past_due =
            after_report(&pro, &report(ProviderStatus::PastDue, Plan::Pro, end()), failed_at, GRACE);
        assert_eq!(past_due.grace_until, Some(failed_at + GRACE));
        assert_eq!(past_due.plan_at(failed_at + Duration::days(6)), Some(Plan::Pro));
        assert_eq!(past_due.plan_at(failed_at + GRACE), Some(Plan::Free));
        let retried = after_report(
            &past_due,
            &report(ProviderStatus::PastDue, Plan::Pro, end()),
            failed_at + Duration::days(3),
            GRACE,
        );
        assert_eq!(retried.grace_until, past_due.grace_until, "retries do not extend the grace period");
        let recovered = after_report(
            &retried,
            &report(ProviderStatus::Active, Plan::Pro, end() + Duration::days(31)),
            failed_at + Duration::days(4),
            GRACE,
        );
        assert_eq!((recovered.status, recovered.grace_until), (BillingStatus::Active, None));
        assert_eq!(recovered.plan_at(failed_at + Duration::days(20)), Some(Plan::Pro));
    }

    #[test]
    fn time_ends_cancelled_periods_applies_downgrades_and_ends_grace_and_changes_nothing_else() {
        let pro =
            after_report(&Standing::none(), &report(ProviderStatus::Active, Plan::Pro, end()), NOW, GRACE);
        assert_eq!(after_time(&pro, end()), pro, "an ordinary renewal is the provider's to report");
        let cancelling = Standing { cancel_at_period_end: true, ..pro.clone() };
        assert_eq!(after_time(&cancelling, NOW), cancelling);
        let ended = after_time(&cancelling, end());
        assert_eq!((ended.status, ended.plan_at(end())), (BillingStatus::Cancelled, Some(Plan::Free)));
        let downgraded = Standing { paid_plan: Some(Plan::Studio), ..pro.clone() };
        let renewed = after_time(&downgraded, end());
        assert_eq!((renewed.paid_plan, renewed.plan_at(end())), (Some(Plan::Pro), Some(Plan::Pro)));
        assert_eq!(after_time(&renewed, end()), renewed, "applied once");
        let past_due = Standing { status: BillingStatus::PastDue, grace_until: Some(end()), ..pro };
        assert_eq!(after_time(&past_due, NOW), past_due);
        assert_eq!(after_time(&past_due, end()).plan_at(end()), Some(Plan::Free));
    }

    #[test]
    fn the_same_report_twice_changes_nothing_the_second_time() {
        let sub = report(ProviderStatus::Active, Plan::Studio, end());
        let once = after_report(&Standing::none(), &sub, NOW, GRACE);
        assert_eq!(after_report(&once, &sub, NOW + Duration::minutes(5), GRACE), once);
    }

    #[test]
    fn a_refund_or_dispute_revokes_the_plan_and_later_reports_do_not_restore_it() {
        let pro =
            after_report(&Standing::none(), &report(ProviderStatus::Active, Plan::Pro, end()), NOW, GRACE);
        let revoked = revoked(&pro);
        assert_eq!(revoked.plan_at(NOW), Some(Plan::Free));
        let late = after_report(&revoked, &report(ProviderStatus::Active, Plan::Pro, end()), NOW, GRACE);
        assert_eq!(late.plan_at(NOW), Some(Plan::Free));
    }

    #[test]
    fn an_unknown_price_gives_nothing_paid() {
        let unknown =
            ProviderSubscription { price_plan: None, ..report(ProviderStatus::Active, Plan::Pro, end()) };
        assert_eq!(after_report(&Standing::none(), &unknown, NOW, GRACE).plan_at(NOW), Some(Plan::Free));
    }

    #[test]
    fn statuses_round_trip_through_their_stored_names() {
        for status in [
            BillingStatus::None,
            BillingStatus::Pending,
            BillingStatus::Active,
            BillingStatus::PastDue,
            BillingStatus::Cancelled,
            BillingStatus::Revoked,
        ] {
            assert_eq!(BillingStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(ProviderStatus::parse("past_due"), Some(ProviderStatus::PastDue));
        assert_eq!(ProviderStatus::parse("weird"), None);
    }
}
