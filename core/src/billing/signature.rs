//! Checking that a webhook comes from the billing provider (SECURITY.md 48). Stripe signs each
//! delivery with the endpoint's secret: the `Stripe-Signature` header carries a Unix timestamp `t`
//! and one or more `v1` signatures, each an HMAC-SHA256 (hex) of `"{t}.{raw body}"`. A delivery is
//! believed only if one `v1` matches and `t` is within the tolerance of now, so a captured
//! delivery cannot be replayed later; the body is checked exactly as it arrived, before parsing.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a delivery's timestamp may be from now (either way), as Stripe's libraries default.
pub const TOLERANCE_SECONDS: i64 = 300;

/// Why a delivery is not believed; every case is answered 400 and changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Stripe-Signature` header, or one without `t` or `v1`.
    #[error("the Stripe-Signature header is missing or malformed")]
    Malformed,
    /// `t` is further from now than the tolerance.
    #[error("the signature's timestamp is {0} s from now")]
    Stale(i64),
    /// No `v1` signature matches the body.
    #[error("no signature matches the body")]
    Mismatch,
}

/// Checks `header` (the `Stripe-Signature` value) against `body` and `secret` at `now` (Unix
/// seconds).
///
/// # Errors
/// [`SignatureError`] when the delivery is not to be believed.
pub fn verify(secret: &str, header: Option<&str>, body: &[u8], now: i64) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Malformed)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    // Checked before the signature, but both must pass: a stale delivery with a good signature
    // is a replay.
    let skew = now.saturating_sub(timestamp);
    if skew.abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale(skew));
    }
    let matches = signatures.iter().any(|signature| {
        // `verify_slice` compares in constant time.
        mac(secret, timestamp, body).verify_slice(signature).is_ok()
    });
    if matches { Ok(()) } else { Err(SignatureError::Mismatch) }
}

/// The `Stripe-Signature` header the provider would send for `body` at `timestamp`: for tests
/// and for the local development tools that deliver events themselves.
#[must_use]
pub fn sign(secret: &str, body: &[u8], timestamp: i64) -> String {
    let signature = hex::encode(mac(secret, timestamp, body).finalize().into_bytes());
    format!("t={timestamp},v1={signature}")
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"invoice.paid"}"#;
    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_delivery_signed_with_the_secret_within_the_tolerance_is_believed() {
        let header = sign(SECRET, BODY, NOW - 299);
        assert_eq!(verify(SECRET, Some(&header), BODY, NOW), Ok(()));
        assert_eq!(verify(SECRET, Some(&sign(SECRET, BODY, NOW + 299)), BODY, NOW), Ok(()), "clock skew");
    }

    #[test]
    fn the_signature_is_the_documented_hmac_of_timestamp_dot_body() {
        // Computed independently: printf '%s' "1800000000.$BODY" | openssl dgst -sha256 -hmac whsec_test_secret
        let expected = "t=1800000000,v1=f19b688b6c808f2a3c035f501cb82562fd2eb237fd8c2e2df4503a54f42345fb";
        assert_eq!(sign(SECRET, BODY, NOW), expected);
        assert_eq!(verify(SECRET, Some(expected), BODY, NOW), Ok(()));
    }

    #[test]
    fn a_changed_body_a_wrong_secret_or_a_missing_header_is_refused() {
        let header = sign(SECRET, BODY, NOW);
        let changed = br#"{"id":"evt_1","type":"invoice.paid","x":1}"#;
        assert_eq!(verify(SECRET, Some(&header), changed, NOW), Err(SignatureError::Mismatch));
        assert_eq!(verify("whsec_other", Some(&header), BODY, NOW), Err(SignatureError::Mismatch));
        assert_eq!(verify(SECRET, None, BODY, NOW), Err(SignatureError::Malformed));
        assert_eq!(verify(SECRET, Some("v1=00"), BODY, NOW), Err(SignatureError::Malformed));
        assert_eq!(verify(SECRET, Some(&format!("t={NOW}")), BODY, NOW), Err(SignatureError::Malformed));
        assert_eq!(
            verify(SECRET, Some(&format!("t={NOW},v1=zz")), BODY, NOW),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn an_old_delivery_is_a_replay_even_with_a_good_signature() {
        let header = sign(SECRET, BODY, NOW - 301);
        assert_eq!(verify(SECRET, Some(&header), BODY, NOW), Err(SignatureError::Stale(301)));
        let future = sign(SECRET, BODY, NOW + 301);
        assert_eq!(verify(SECRET, Some(&future), BODY, NOW), Err(SignatureError::Stale(-301)));
    }

    #[test]
    fn any_one_matching_signature_is_enough_as_during_a_secret_rotation() {
        let good = sign(SECRET, BODY, NOW);
        let good_v1 = good.split_once(",v1=").map(|(_, s)| s).unwrap_or_default();
        let header = format!("t={NOW},v1={},v1={good_v1},v0=ignored", "00".repeat(32));
        assert_eq!(verify(SECRET, Some(&header), BODY, NOW), Ok(()));
    }
}
