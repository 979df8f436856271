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
        Ok(Self { metrics_token, shutdown_delay: Duration::from_secs(shutdown_delay) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<Operations, ConfigError> {
        Operations::parse(&|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
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
