//! What operators' tools reach: who may scrape `/metrics`, and how a stopping web server leaves
//! its load balancer.

use std::{fmt, time::Duration};

use super::{ConfigError, bounded_number};

/// Shortest `METRICS_TOKEN` accepted: a guessable token would be no protection.
const MIN_METRICS_TOKEN_CHARS: usize = 24;

/// How the server is observed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Operations {
    /// `METRICS_TOKEN`: when set, `/metrics` answers only requests that carry it as a bearer
    /// token (Prometheus' `authorization` setting); unset, it answers anyone who reaches it, so
    /// keep it off the public ingress (the chart does).
    pub metrics_token: Option<MetricsToken>,
    /// `SHUTDOWN_DELAY_SECONDS`: how long a web server told to stop keeps accepting requests
    /// while `/readyz` already fails, so that load balancers stop sending before it stops
    /// listening (0–120, default 0; behind Kubernetes' endpoints, a few seconds).
    pub shutdown_delay: Duration,
    /// `DATABASE_SCALER_ROLE`: an existing login role (the operator creates it) that `server
    /// migrate run` lets connect and call `queue_stats()` and nothing else, for KEDA's
    /// PostgreSQL scaler to count queued and running jobs.
    pub scaler_role: Option<String>,
}

/// The bearer token a scraper presents. Its `Debug` output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(String);

impl MetricsToken {
    /// Whether `presented` is this token, in time that does not depend on where they differ.
    #[must_use]
    pub fn matches(&self, presented: &str) -> bool {
        crate::secrets::constant_time_eq(self.0.as_bytes(), presented.as_bytes())
    }
}

impl fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsToken([redacted])")
    }
}

impl Operations {
    /// Reads the variables through `var`.
    ///
    /// # Errors
    /// A token too short to be a secret.
    pub fn parse(var: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let metrics_token = match var("METRICS_TOKEN").map(|t| t.trim().to_owned()) {
            None => None,
            Some(t) if t.is_empty() => None,
            Some(t) if t.chars().count() < MIN_METRICS_TOKEN_CHARS => {
                return Err(ConfigError::Invalid {
                    variable: "METRICS_TOKEN",
                    value: "[redacted]".into(),
                    expected: "at least 24 characters (e.g. `openssl rand -hex 24`)",
                });
            }
            Some(t) => Some(MetricsToken(t)),
        };
        let shutdown_delay = bounded_number(
            var,
            "SHUTDOWN_DELAY_SECONDS",
            0,
            0..=120,
            "a whole number of seconds from 0 to 120",
        )?;
        let scaler_role = match var("DATABASE_SCALER_ROLE").map(|r| r.trim().to_owned()) {
            None => None,
            Some(r) if r.is_empty() => None,
            Some(r) if is_plain_role_name(&r) => Some(r),
            Some(r) => {
                return Err(ConfigError::Invalid {
                    variable: "DATABASE_SCALER_ROLE",
                    value: r,
                    expected: "a role name of 1–63 lower-case letters, digits and underscores, not starting with a digit",
                });
            }
        };
        Ok(Self { metrics_token, shutdown_delay: Duration::from_secs(shutdown_delay), scaler_role })
    }
}

/// A role name that needs no quoting: what operators type in `CREATE ROLE` without quotes.
fn is_plain_role_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<Operations, ConfigError> {
        Operations::parse(&|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn the_scaler_role_is_a_plain_name() {
        assert_eq!(
            parse(&[("DATABASE_SCALER_ROLE", "pingvas_keda")]).unwrap().scaler_role.as_deref(),
            Some("pingvas_keda")
        );
        assert_eq!(parse(&[]).unwrap().scaler_role, None);
        let long = "k".repeat(64);
        for bad in ["Keda", "9keda", "keda; DROP TABLE users", long.as_str()] {
            assert!(parse(&[("DATABASE_SCALER_ROLE", bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_metrics_token_is_long_matched_exactly_and_never_printed() {
        assert_eq!(parse(&[]).unwrap().metrics_token, None);
        assert_eq!(parse(&[("METRICS_TOKEN", " ")]).unwrap().metrics_token, None);
        let short = parse(&[("METRICS_TOKEN", "hunter2")]).unwrap_err().to_string();
        assert!(short.starts_with("METRICS_TOKEN") && !short.contains("hunter2"), "{short}");
        let token = parse(&[("METRICS_TOKEN", "0123456789abcdef01234567")]).unwrap().metrics_token.unwrap();
        assert!(token.matches("0123456789abcdef01234567"));
        assert!(!token.matches("0123456789abcdef0123456"));
        assert!(!format!("{token:?}").contains("0123"));
        assert_eq!(parse(&[]).unwrap().shutdown_delay, Duration::ZERO);
        assert_eq!(parse(&[("SHUTDOWN_DELAY_SECONDS", "5")]).unwrap().shutdown_delay, Duration::from_secs(5));
        assert!(parse(&[("SHUTDOWN_DELAY_SECONDS", "121")]).is_err());
    }
}
