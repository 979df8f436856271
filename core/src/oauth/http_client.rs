//! The HTTP client for calls to sign-in providers. It follows no redirects: a provider endpoint
//! that answers 3xx is an error, never a hop to an address someone else chose (SSRF,
//! SECURITY.md 19). Short timeouts keep a slow provider from tying up requests.

use std::time::Duration;

/// A client for provider calls.
///
/// # Errors
/// The TLS back end could not be initialised.
pub fn provider_http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .user_agent(concat!("PingvasAI/", env!("CARGO_PKG_VERSION")))
        .build()
}
