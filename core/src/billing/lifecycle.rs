//! Which plan a paying user has, from what the billing provider says about their subscription and
//! what time it is: the plan lifecycle of SECURITY.md 50 as one pure function, so that webhooks,
//! our own billing actions and the periodic sweep all decide it the same way.
//!
//! - A plan is what was paid for. Within a period, a higher price raises the plan only once the
//!   provider reports an invoice covering it paid ([`ProviderSubscription::invoice_paid_plan`]);
//!   a new price alone raises nothing (issue 33, finding 2: an upgrade billed "later" and undone
//!   by a downgrade before paying used to keep the higher plan to the period's end). A period the
//!   provider reports `active` from its start (a first payment, a renewal) was paid at its price.
//! - A downgrade or a cancellation takes effect at the end of the paid period.
//! - A failed renewal (`past_due`) keeps the plan paid before through one grace period, then falls
//!   to Free. The grace is granted once per failure: the provider's later retry notices neither
//!   extend it nor, once it has run out, start another (finding 3); only a payment ends it.
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
            // What was paid for, never merely the price asked (finding 2).
            BillingStatus::Active => Some(self.paid_plan.unwrap_or(Plan::Free)),
            BillingStatus::PastDue => {
                let in_grace = self.grace_until.is_some_and(|until| now < until);
                Some(if in_grace { self.paid_plan.unwrap_or(Plan::Free) } else { Plan::Free })
            }
        }
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
    /// The highest plan whose price is charged on the subscription's latest invoice, if that
    /// invoice is paid: the evidence that an upgrade within the period was paid for.
    pub invoice_paid_plan: Option<Plan>,
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
    let was_running = matches!(before.status, BillingStatus::Active | BillingStatus::PastDue);
    let continues = was_running && before.period_end == Some(subscription.period_end);
    let paid_plan = if continues {
        // Within a period only a paid invoice raises the plan, and a downgrade waits for the end.
        before.paid_plan.max(subscription.invoice_paid_plan)
    } else {
        match status {
            // A period reported active from its start was paid at its price.
            BillingStatus::Active => subscription.price_plan,
            // A failed renewal keeps at most what was paid before, and never a price not paid.
            BillingStatus::PastDue => before.paid_plan.min(subscription.price_plan),
            _ => None,
        }
    };
    // The grace period starts when the renewal first failed; retries neither extend nor renew
    // it. A grace that ran out (the sweep cancelled, keeping `grace_until`) stays run out.
    let grace_used = before
        .grace_until
        .filter(|_| matches!(before.status, BillingStatus::PastDue | BillingStatus::Cancelled));
    let (status, paid_plan, grace_until) = match status {
        BillingStatus::PastDue => match grace_used {
            Some(until) if until <= now => (BillingStatus::Cancelled, None, Some(until)),
            Some(until) => (status, paid_plan, Some(until)),
            None => (status, paid_plan, Some(now + grace)),
        },
        _ => (status, paid_plan, None),
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
            // `grace_until` stays: the provider's next retry notice must not grant another.
            next.status = BillingStatus::Cancelled;
            next.paid_plan = None;
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

    /// A report whose latest invoice, paid, was for `plan` (as after a payment at that price).
    fn report(status: ProviderStatus, plan: Plan, period_end: OffsetDateTime) -> ProviderSubscription {
        ProviderSubscription {
            status,
            price_plan: Some(plan),
            invoice_paid_plan: Some(plan),
            period_end,
            cancel_at_period_end: false,
        }
    }

    /// A report of a new price whose invoice is not paid (yet): the latest paid one was `paid`.
    fn unpaid_price(
        status: ProviderStatus,
        plan: Plan,
        paid: Plan,
        end: OffsetDateTime,
    ) -> ProviderSubscription {
        ProviderSubscription { invoice_paid_plan: Some(paid), ..report(status, plan, end) }
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
    fn an_upgrade_starts_when_its_invoice_is_paid_and_a_downgrade_waits_for_the_end_of_the_paid_period() {
        let pro =
            after_report(&Standing::none(), &report(ProviderStatus::Active, Plan::Pro, end()), NOW, GRACE);
        let asked = after_report(
            &pro,
            &unpaid_price(ProviderStatus::Active, Plan::Studio, Plan::Pro, end()),
            NOW,
            GRACE,
        );
        assert_eq!(asked.plan_at(NOW), Some(Plan::Pro), "a new price alone raises nothing");
        let studio = after_report(&asked, &report(ProviderStatus::Active, Plan::Studio, end()), NOW, GRACE);
        assert_eq!(studio.plan_at(NOW), Some(Plan::Studio), "raised once its invoice is paid");
        let back_to_pro = after_report(
            &studio,
            &unpaid_price(ProviderStatus::Active, Plan::Pro, Plan::Studio, end()),
            NOW,
            GRACE,
        );
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
    fn an_upgrade_undone_before_paying_never_gives_the_higher_plan() {
        // Issue 33, finding 2: Pro → Studio (billed "later") → Pro kept Studio to the period's end.
        let pro =
            after_report(&Standing::none(), &report(ProviderStatus::Active, Plan::Pro, end()), NOW, GRACE);
        let up = after_report(
            &pro,
            &unpaid_price(ProviderStatus::Active, Plan::Studio, Plan::Pro, end()),
            NOW,
            GRACE,
        );
        let down = after_report(&up, &report(ProviderStatus::Active, Plan::Pro, end()), NOW, GRACE);
        for standing in [&up, &down] {
            assert_eq!(standing.plan_at(NOW), Some(Plan::Pro));
            assert_eq!(standing.plan_at(end() - Duration::seconds(1)), Some(Plan::Pro));
        }
        assert_eq!(after_time(&down, end()).plan_at(end()), Some(Plan::Pro));
        // While past due, a higher price gives nothing either.
        let failed_at = end() + Duration::hours(1);
        let past_due = after_report(
            &pro,
            &report(ProviderStatus::PastDue, Plan::Pro, end() + Duration::days(30)),
            failed_at,
            GRACE,
        );
        let raised = after_report(
            &past_due,
            &unpaid_price(ProviderStatus::PastDue, Plan::Studio, Plan::Pro, end() + Duration::days(30)),
            failed_at,
            GRACE,
        );
        assert_eq!(raised.plan_at(failed_at), Some(Plan::Pro));
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
    fn a_grace_period_that_ran_out_is_not_granted_again_by_a_later_retry_notice() {
        // Issue 33, finding 3: after the sweep ended the grace, the next `past_due` notice
        // started a new one.
        let pro =
            after_report(&Standing::none(), &report(ProviderStatus::Active, Plan::Pro, end()), NOW, GRACE);
        let failed_at = end() + Duration::hours(1);
        let past_due =
            after_report(&pro, &report(ProviderStatus::PastDue, Plan::Pro, end()), failed_at, GRACE);
        let ran_out = after_time(&past_due, failed_at + GRACE);
        assert_eq!(
            (ran_out.status, ran_out.plan_at(failed_at + GRACE)),
            (BillingStatus::Cancelled, Some(Plan::Free))
        );
        let retry_at = failed_at + GRACE + Duration::days(1);
        let retried =
            after_report(&ran_out, &report(ProviderStatus::PastDue, Plan::Pro, end()), retry_at, GRACE);
        assert_eq!((retried.status, retried.plan_at(retry_at)), (BillingStatus::Cancelled, Some(Plan::Free)));
        assert_eq!(retried.changes_at(), None, "nothing left for the sweep");
        // Paying the late invoice restores the plan, and a later failure gets a grace of its own.
        let paid = after_report(
            &retried,
            &report(ProviderStatus::Active, Plan::Pro, end() + Duration::days(30)),
            retry_at,
            GRACE,
        );
        assert_eq!(
            (paid.status, paid.grace_until, paid.plan_at(retry_at)),
            (BillingStatus::Active, None, Some(Plan::Pro))
        );
        let later = end() + Duration::days(31);
        let again = after_report(
            &paid,
            &report(ProviderStatus::PastDue, Plan::Pro, end() + Duration::days(30)),
            later,
            GRACE,
        );
        assert_eq!(again.grace_until, Some(later + GRACE));
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
