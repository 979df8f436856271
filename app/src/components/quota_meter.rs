//! The monthly-quota meter in the header of signed-in pages: images used of the allowance, when
//! it resets, and a warning colour as the allowance runs out.

use leptos::prelude::*;
use time::format_description::well_known::Rfc3339;

use crate::auth::Auth;
use contract::account::Quota;

/// How close to the limit the user is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaLevel {
    /// Plenty left (or unlimited).
    Comfortable,
    /// 10 % or less left.
    Low,
    /// Nothing left this month.
    Exhausted,
}

impl QuotaLevel {
    /// The CSS class that colours the meter.
    #[must_use]
    pub fn class(self) -> &'static str {
        match self {
            Self::Comfortable => "quota-meter",
            Self::Low => "quota-meter low",
            Self::Exhausted => "quota-meter exhausted",
        }
    }
}

/// The meter's reading of a quota.
#[must_use]
pub fn quota_level(quota: &Quota) -> QuotaLevel {
    match (quota.limit, quota.remaining) {
        (Some(_), Some(0)) => QuotaLevel::Exhausted,
        (Some(limit), Some(remaining)) if remaining * 10 <= limit => QuotaLevel::Low,
        _ => QuotaLevel::Comfortable,
    }
}

/// "37 / 100 images" or "Unlimited images".
#[must_use]
pub fn quota_label(quota: &Quota) -> String {
    match quota.limit {
        Some(limit) => format!("{} / {limit} images", quota.used),
        None => "Unlimited images".to_owned(),
    }
}

/// The reset date as `YYYY-MM-DD`.
#[must_use]
pub fn reset_date(quota: &Quota) -> String {
    quota.resets_at.format(&Rfc3339).ok().and_then(|s| s.get(..10).map(str::to_owned)).unwrap_or_default()
}

/// The meter, for the signed-in user (nothing otherwise).
#[component]
pub fn QuotaMeter() -> impl IntoView {
    let auth = Auth::get();
    move || {
        auth.user().map(|user| {
            let quota = user.quota;
            let level = quota_level(&quota);
            let resets = reset_date(&quota);
            let title = format!("Monthly images; the count resets on {resets}");
            view! {
                <a href="/upgrade" class=level.class() title=title data-testid="quota-meter">
                    <span data-testid="quota-label">{quota_label(&quota)}</span>
                    <span class="quota-reset">" · resets " {resets}</span>
                </a>
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn quota(limit: Option<i32>, used: i32) -> Quota {
        Quota {
            limit,
            used,
            remaining: limit.map(|l| (l - used).max(0)),
            resets_at: datetime!(2026-12-01 00:00 UTC),
        }
    }

    #[test]
    fn the_meter_warns_at_ten_percent_left_and_when_empty() {
        assert_eq!(quota_level(&quota(Some(100), 0)), QuotaLevel::Comfortable);
        assert_eq!(quota_level(&quota(Some(100), 89)), QuotaLevel::Comfortable);
        assert_eq!(quota_level(&quota(Some(100), 90)), QuotaLevel::Low);
        assert_eq!(quota_level(&quota(Some(100), 100)), QuotaLevel::Exhausted);
        assert_eq!(quota_level(&quota(None, 12_345)), QuotaLevel::Comfortable);
    }

    #[test]
    fn labels_show_use_of_the_allowance_and_the_reset_day() {
        assert_eq!(quota_label(&quota(Some(100), 37)), "37 / 100 images");
        assert_eq!(quota_label(&quota(None, 5)), "Unlimited images");
        assert_eq!(reset_date(&quota(Some(100), 0)), "2026-12-01");
    }
}
