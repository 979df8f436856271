//! Billing settings: the provider's keys and the prices on offer. Billing is on only when the
//! secret key, the webhook secret and at least one price are set; otherwise it is hidden and its
//! routes answer 404, as an unconfigured sign-in provider is. The API's address is configurable so
//! that tests (and development) can use a local Stripe-compatible server.

use contract::plans::Plan;
use time::Duration;

use super::ConfigError;

/// How often a price charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    /// Every month.
    Month,
    /// Every year.
    Year,
}

impl Interval {
    /// The name in requests and the UI.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Month => "month",
            Self::Year => "year",
        }
    }

    /// The interval a request names.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Month, Self::Year].into_iter().find(|i| i.as_str() == name)
    }
}

/// A price on offer: the provider's id, the plan it buys and how often it charges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    /// The provider's price id (`price_…`; a plan id on servers that predate prices).
    pub id: String,
    /// The plan it buys.
    pub plan: Plan,
    /// How often it charges.
    pub interval: Interval,
}

/// Billing settings, when billing is on.
#[derive(Clone)]
pub struct BillingSettings {
    /// `STRIPE_SECRET_KEY`: the server's API key.
    pub secret_key: String,
    /// `STRIPE_WEBHOOK_SECRET`: the secret webhooks are signed with (`whsec_…`).
    pub webhook_secret: String,
    /// `STRIPE_PUBLISHABLE_KEY`: the browser's key for the card form (`pk_…`).
    pub publishable_key: String,
    /// `STRIPE_API_BASE`: default `https://api.stripe.com`.
    pub api_base: String,
    /// `STRIPE_JS_URL`: the card form's script, default `https://js.stripe.com/v3/`.
    pub js_url: String,
    /// `STRIPE_PRICE_{PRO,STUDIO}_{MONTHLY,YEARLY}`: the prices on offer (Enterprise is "contact us").
    pub prices: Vec<Price>,
    /// `BILLING_GRACE_DAYS`: how long a failed renewal keeps the paid plan, 0–60, default 7.
    pub grace: Duration,
    /// `BILLING_SWEEP_SECONDS`: how often periods and grace periods that ended are applied,
    /// 1–3600, default 60.
    pub sweep_every: std::time::Duration,
}

impl std::fmt::Debug for BillingSettings {
    // The keys stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillingSettings")
            .field("api_base", &self.api_base)
            .field("prices", &self.prices)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

/// The price variables, with the plan and interval each sells.
const PRICE_VARIABLES: [(&str, Plan, Interval); 4] = [
    ("STRIPE_PRICE_PRO_MONTHLY", Plan::Pro, Interval::Month),
    ("STRIPE_PRICE_PRO_YEARLY", Plan::Pro, Interval::Year),
    ("STRIPE_PRICE_STUDIO_MONTHLY", Plan::Studio, Interval::Month),
    ("STRIPE_PRICE_STUDIO_YEARLY", Plan::Studio, Interval::Year),
];

impl BillingSettings {
    /// Reads the `STRIPE_*` and `BILLING_*` variables; `None` (billing off) unless the secret
    /// key, the webhook secret and a price are all set.
    ///
    /// # Errors
    /// Some but not all of what billing needs, or a value that cannot be used.
    pub fn parse(var: &impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let prices: Vec<Price> = PRICE_VARIABLES
            .iter()
            .filter_map(|(variable, plan, interval)| {
                var(variable).map(|id| Price { id: id.trim().to_owned(), plan: *plan, interval: *interval })
            })
            .collect();
        let (secret_key, webhook_secret) = (var("STRIPE_SECRET_KEY"), var("STRIPE_WEBHOOK_SECRET"));
        let (Some(secret_key), Some(webhook_secret)) = (secret_key.clone(), webhook_secret.clone()) else {
            if secret_key.is_some() || webhook_secret.is_some() || !prices.is_empty() {
                return Err(incomplete());
            }
            return Ok(None);
        };
        if prices.is_empty() {
            return Err(incomplete());
        }
        if let Some(bad) = prices.iter().find(|p| !is_provider_id(&p.id)) {
            return Err(ConfigError::Invalid {
                variable: "STRIPE_PRICE_*",
                value: bad.id.clone(),
                expected: "a price id: letters, digits and underscores",
            });
        }
        let api_base = var("STRIPE_API_BASE").unwrap_or_else(|| "https://api.stripe.com".into());
        let js_url = var("STRIPE_JS_URL").unwrap_or_else(|| "https://js.stripe.com/v3/".into());
        for (variable, url) in [("STRIPE_API_BASE", &api_base), ("STRIPE_JS_URL", &js_url)] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError::Invalid {
                    variable,
                    value: url.clone(),
                    expected: "an http(s) URL",
                });
            }
        }
        let grace_days = super::bounded_number(var, "BILLING_GRACE_DAYS", 7_i64, 0..=60, "0 to 60 days")?;
        let sweep =
            super::bounded_number(var, "BILLING_SWEEP_SECONDS", 60_u64, 1..=3600, "1 to 3600 seconds")?;
        Ok(Some(Self {
            secret_key,
            webhook_secret,
            publishable_key: var("STRIPE_PUBLISHABLE_KEY").unwrap_or_default(),
            api_base: api_base.trim_end_matches('/').to_owned(),
            js_url,
            prices,
            grace: Duration::days(grace_days),
            sweep_every: std::time::Duration::from_secs(sweep),
        }))
    }

    /// The price on offer for `plan` every `interval`.
    #[must_use]
    pub fn price_for(&self, plan: Plan, interval: Interval) -> Option<&Price> {
        self.prices.iter().find(|p| p.plan == plan && p.interval == interval)
    }

    /// The origin of the card-form script: the one billing origin pages may run scripts from.
    #[must_use]
    pub fn script_origin(&self) -> Option<String> {
        origin_of(&self.js_url)
    }

    /// The origins the billing page talks to: the card-form script's, the API's, and for Stripe
    /// its 3-D Secure frames', for the page's Content-Security-Policy.
    #[must_use]
    pub fn origins(&self) -> Vec<String> {
        let mut origins: Vec<String> =
            [&self.js_url, &self.api_base].into_iter().filter_map(|url| origin_of(url)).collect();
        if self.js_url.starts_with("https://js.stripe.com/") {
            origins.push("https://hooks.stripe.com".to_owned());
        }
        origins.dedup();
        origins
    }

    /// The plan a provider price id buys, if it is one of ours.
    #[must_use]
    pub fn plan_of_price(&self, id: &str) -> Option<Plan> {
        self.price_by_id(id).map(|p| p.plan)
    }

    /// The price on offer with the provider's id `id`.
    #[must_use]
    pub fn price_by_id(&self, id: &str) -> Option<&Price> {
        self.prices.iter().find(|p| p.id == id)
    }
}

/// `scheme://host[:port]` of an http(s) URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty())?;
    Some(format!("{scheme}://{host}"))
}

fn incomplete() -> ConfigError {
    ConfigError::Invalid {
        variable: "STRIPE_SECRET_KEY",
        value: "[some billing variables set]".into(),
        expected: "all of STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET and at least one STRIPE_PRICE_*, or none",
    }
}

/// Whether `id` looks like a provider id (it travels in form bodies and URLs).
pub(crate) fn is_provider_id(id: &str) -> bool {
    (1..=255).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<Option<BillingSettings>, ConfigError> {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        BillingSettings::parse(&|name| vars.get(name).map(|v| (*v).to_owned()))
    }

    const FULL: [(&str, &str); 4] = [
        ("STRIPE_SECRET_KEY", "sk_test_1"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_1"),
        ("STRIPE_PRICE_PRO_MONTHLY", "price_pro"),
        ("STRIPE_PRICE_STUDIO_MONTHLY", "price_studio"),
    ];

    #[test]
    fn nothing_set_is_billing_off_and_a_partial_setup_is_refused() {
        assert!(parse(&[]).unwrap().is_none());
        assert!(parse(&FULL[..2]).is_err(), "no price");
        assert!(parse(&FULL[1..]).is_err(), "no secret key");
        assert!(parse(&[FULL[2]]).is_err(), "a price alone");
    }

    #[test]
    fn prices_map_to_plans_and_intervals() {
        let billing = parse(&FULL).unwrap().unwrap();
        assert_eq!(billing.plan_of_price("price_studio"), Some(Plan::Studio));
        assert_eq!(billing.plan_of_price("price_other"), None);
        assert_eq!(billing.price_for(Plan::Pro, Interval::Month).map(|p| p.id.as_str()), Some("price_pro"));
        assert_eq!(billing.price_for(Plan::Pro, Interval::Year), None);
        assert_eq!(billing.api_base, "https://api.stripe.com");
        assert_eq!(billing.grace, Duration::days(7));
        assert!(!format!("{billing:?}").contains("sk_test_1"), "keys stay out of logs");
        assert_eq!(
            billing.origins(),
            ["https://js.stripe.com", "https://api.stripe.com", "https://hooks.stripe.com"]
                .map(str::to_owned)
        );
    }

    #[test]
    fn odd_values_are_refused() {
        let mut vars = FULL.to_vec();
        vars.push(("STRIPE_PRICE_PRO_YEARLY", "price pro; drop"));
        assert!(parse(&vars).is_err());
        let mut vars = FULL.to_vec();
        vars.push(("STRIPE_API_BASE", "ftp://x"));
        assert!(parse(&vars).is_err());
        let mut vars = FULL.to_vec();
        vars.push(("BILLING_GRACE_DAYS", "90"));
        assert!(parse(&vars).is_err());
    }
}
