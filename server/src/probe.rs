//! `server probe URL`: one GET, success on a 2xx answer. The images hold no shell or curl, so
//! `helm test` and container health checks ask with the server binary itself.

use std::time::Duration;

/// How long a probe waits for the whole answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Asks `url` once.
///
/// # Errors
/// A message naming the URL and what went wrong: no answer, or a status other than 2xx.
pub async fn probe(url: &str) -> Result<reqwest::StatusCode, String> {
    let client = reqwest::Client::builder().timeout(PROBE_TIMEOUT).build().map_err(|e| e.to_string())?;
    let response = client.get(url).send().await.map_err(|e| format!("{url}: no answer: {e}"))?;
    let status = response.status();
    if status.is_success() { Ok(status) } else { Err(format!("{url} answered {status}")) }
}
