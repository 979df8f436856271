//! Checking that a webhook comes from the billing provider (SECURITY.md 48). Stripe signs each
//! delivery with the endpoint's secret: the `Stripe-Signature` header carries a Unix timestamp `t`
//! and one or more `v1` signatures, each an HMAC-SHA256 (hex) of `"{t}.{raw body}"`. A delivery is
//! believed only if one `v1` matches and `t` is within the tolerance of now, so a captured
//! delivery cannot be replayed later; the body is checked exactly as it arrived, before parsing.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a delivery's timestamp may be from now (either way), as Stripe's libraries default.
pub const TOLERANCE_SECONDS: i64 = 300;

/// The longest `Stripe-Signature` header read. Stripe sends a timestamp and one `v1` per active
/// secret (two during a rotation), under 300 bytes; anything far longer is not Stripe.
pub const MAX_HEADER_BYTES: usize = 1024;

/// The most `v1` signatures compared. The MAC is computed once whatever the count, but a bound
/// keeps the comparisons (and the header's parse) small as well.
pub const MAX_SIGNATURES: usize = 8;

/// A `v1` signature: HMAC-SHA256, 32 bytes.
const SIGNATURE_BYTES: usize = 32;

/// Why a delivery is not believed; every case is answered 400 and changes nothing. The messages
/// say which rule failed and nothing more: the clock offset of a stale delivery goes to the log
/// only ([`SignatureError::Stale`]'s field), since telling it would help forge the timing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Stripe-Signature` header, or one without `t` or a well-formed `v1`.
    #[error("the Stripe-Signature header is missing or malformed")]
    Malformed,
    /// A header longer than [`MAX_HEADER_BYTES`] or with more than [`MAX_SIGNATURES`] `v1`
    /// entries: refused before any MAC is computed.
    #[error("the Stripe-Signature header is too long")]
    TooLong,
    /// `t` is this many seconds from now, further than the tolerance.
    #[error("the signature's timestamp is outside the accepted window")]
    Stale(i64),
    /// No `v1` signature matches the body.
    #[error("no signature matches the body")]
    Mismatch,
}

/// Checks `header` (the `Stripe-Signature` value) against `body` and `secret` at `now` (Unix
/// seconds). The cost is one HMAC over the body at most, whatever the header holds.
///
/// # Errors
/// [`SignatureError`] when the delivery is not to be believed.
pub fn verify(secret: &str, header: Option<&str>, body: &[u8], now: i64) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Malformed)?;
    if header.len() > MAX_HEADER_BYTES {
        return Err(SignatureError::TooLong);
    }
    let mut timestamp = None;
    let mut signatures: Vec<[u8; SIGNATURE_BYTES]> = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => {
                if signatures.len() == MAX_SIGNATURES {
                    return Err(SignatureError::TooLong);
                }
                // Anything but 64 hex digits cannot match: not counted as a signature.
                let mut signature = [0_u8; SIGNATURE_BYTES];
                if hex::decode_to_slice(value, &mut signature).is_ok() {
                    signatures.push(signature);
                }
            }
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
    // The body is hashed once; each comparison only finishes a copy of that state (two blocks).
    let hashed = mac(secret, timestamp, body);
    // `verify_slice` compares in constant time.
    let matches = signatures.iter().any(|signature| hashed.clone().verify_slice(signature).is_ok());
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
    fn a_header_with_a_hundred_thousand_entries_is_refused_before_any_mac() {
        // Each `v1=` once cost an HMAC over the whole body (finding 1 of issue 33).
        let flood = format!("t={NOW}{}", ",v1=".repeat(100_000));
        assert_eq!(verify(SECRET, Some(&flood), BODY, NOW), Err(SignatureError::TooLong));
        let good = sign(SECRET, BODY, NOW);
        let many = format!("{good}{}", format!(",v1={}", "00".repeat(32)).repeat(MAX_SIGNATURES));
        assert!(many.len() <= MAX_HEADER_BYTES, "short enough to reach the count check");
        assert_eq!(verify(SECRET, Some(&many), BODY, NOW), Err(SignatureError::TooLong));
        let empties = format!("t={NOW},v1=,v1=,v1=");
        assert_eq!(
            verify(SECRET, Some(&empties), BODY, NOW),
            Err(SignatureError::Malformed),
            "empty entries are not signatures"
        );
    }

    #[test]
    fn a_stale_delivery_is_refused_without_telling_the_clock_offset() {
        let error = verify(SECRET, Some(&sign(SECRET, BODY, NOW - 4321)), BODY, NOW).unwrap_err();
        assert_eq!(error, SignatureError::Stale(4321));
        assert!(!error.to_string().contains("4321"), "{error}");
    }

    #[test]
    fn any_one_matching_signature_is_enough_as_during_a_secret_rotation() {
        let good = sign(SECRET, BODY, NOW);
        let good_v1 = good.split_once(",v1=").map(|(_, s)| s).unwrap_or_default();
        let header = format!("t={NOW},v1={},v1={good_v1},v0=ignored", "00".repeat(32));
        assert_eq!(verify(SECRET, Some(&header), BODY, NOW), Ok(()));
    }
}
