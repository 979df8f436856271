//! Google's ID tokens, validated in full (SECURITY.md 14): RS256 only, a signing key from the
//! provider's published set, our client id as `aud`, the configured `iss`, an unexpired `exp`,
//! and the `nonce` this browser's sign-in sent. The validation is pure; fetching and caching the
//! key set is [`JwksCache`].

use std::{
    sync::RwLock,
    time::{Duration, Instant},
};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
use serde::{Deserialize, Deserializer};

/// Clock skew tolerated on `exp`/`iat`, in seconds.
const LEEWAY_SECONDS: u64 = 60;
/// How long a fetched key set is trusted before it is fetched again.
const KEYS_FRESH_FOR: Duration = Duration::from_secs(60 * 60);
/// Unknown key ids trigger a re-fetch at most this often (keys rotate; attackers send junk).
const REFETCH_AT_MOST_EVERY: Duration = Duration::from_secs(60);

/// The claims we use from a Google ID token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GoogleClaims {
    /// Google's stable account id.
    pub sub: String,
    /// The account's email.
    pub email: Option<String>,
    /// Whether Google verified that email.
    #[serde(default, deserialize_with = "bool_or_string")]
    pub email_verified: bool,
    /// Display name.
    pub name: Option<String>,
    /// Avatar URL.
    pub picture: Option<String>,
    /// Echo of the nonce sent with the authorization request.
    pub nonce: Option<String>,
}

/// Some issuers send `"true"` rather than `true`.
fn bool_or_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    Ok(match Flag::deserialize(deserializer)? {
        Flag::Bool(b) => b,
        Flag::Text(t) => t.eq_ignore_ascii_case("true"),
    })
}

/// Why an ID token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    /// Not a JWS, or signed with another algorithm than RS256.
    #[error("malformed ID token or unexpected algorithm: {0}")]
    Malformed(String),
    /// No published key has its `kid`.
    #[error("the ID token's signing key is unknown")]
    UnknownKey,
    /// Signature, `aud`, `iss` or `exp` is wrong.
    #[error("invalid ID token: {0}")]
    Invalid(String),
    /// The `nonce` is missing or not ours.
    #[error("the ID token's nonce does not match this sign-in")]
    NonceMismatch,
}

/// The issuers accepted for `configured`: Google documents both spellings of its own.
fn accepted_issuers(configured: &str) -> Vec<String> {
    if configured == "https://accounts.google.com" {
        vec![configured.to_owned(), "accounts.google.com".to_owned()]
    } else {
        vec![configured.to_owned()]
    }
}

/// Validates `token` against `keys`.
///
/// # Errors
/// See [`IdTokenError`].
pub fn validate_id_token(
    token: &str,
    keys: &JwkSet,
    client_id: &str,
    issuer: &str,
    nonce: &str,
) -> Result<GoogleClaims, IdTokenError> {
    let header = decode_header(token).map_err(|e| IdTokenError::Malformed(e.to_string()))?;
    if header.alg != Algorithm::RS256 {
        return Err(IdTokenError::Malformed(format!("{:?}", header.alg)));
    }
    let jwk = match &header.kid {
        Some(kid) => keys.find(kid),
        None if keys.keys.len() == 1 => keys.keys.first(),
        None => None,
    }
    .ok_or(IdTokenError::UnknownKey)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| IdTokenError::Malformed(e.to_string()))?;

    let mut validation = Validation::new(Algorithm::RS256);
    validation.algorithms = vec![Algorithm::RS256];
    validation.set_audience(&[client_id]);
    validation.set_issuer(&accepted_issuers(issuer));
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    validation.leeway = LEEWAY_SECONDS;
    let claims = decode::<GoogleClaims>(token, &key, &validation)
        .map_err(|e| IdTokenError::Invalid(e.to_string()))?
        .claims;
    let nonce_ok = claims.nonce.as_deref().is_some_and(|n| {
        n.len() == nonce.len() && n.bytes().zip(nonce.bytes()).fold(0_u8, |acc, (a, b)| acc | (a ^ b)) == 0
    });
    if !nonce_ok {
        return Err(IdTokenError::NonceMismatch);
    }
    Ok(claims)
}

/// The provider's signing keys, fetched over the no-redirect client and kept for an hour.
#[derive(Debug)]
pub struct JwksCache {
    url: String,
    cached: RwLock<Option<(JwkSet, Instant)>>,
}

impl JwksCache {
    /// A cache for the key set at `url`.
    #[must_use]
    pub fn new(url: String) -> Self {
        Self { url, cached: RwLock::new(None) }
    }

    fn current(&self) -> Option<(JwkSet, Instant)> {
        self.cached.read().ok().and_then(|guard| guard.clone())
    }

    /// The key set, fetched when missing, stale, or lacking `kid` (at most once a minute).
    ///
    /// # Errors
    /// The key set could not be fetched or parsed.
    pub async fn keys(&self, http: &reqwest::Client, kid: Option<&str>) -> Result<JwkSet, String> {
        if let Some((set, fetched)) = self.current() {
            let fresh = fetched.elapsed() < KEYS_FRESH_FOR;
            let has_kid = kid.is_none_or(|kid| set.find(kid).is_some());
            if fresh && (has_kid || fetched.elapsed() < REFETCH_AT_MOST_EVERY) {
                return Ok(set);
            }
        }
        let response = http.get(&self.url).send().await.map_err(|e| format!("fetching {}: {e}", self.url))?;
        if !response.status().is_success() {
            return Err(format!("{} answered {}", self.url, response.status()));
        }
        let set: JwkSet = response.json().await.map_err(|e| format!("reading {}: {e}", self.url))?;
        if let Ok(mut guard) = self.cached.write() {
            *guard = Some((set.clone(), Instant::now()));
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn googles_two_issuer_spellings_are_accepted_only_for_google() {
        assert_eq!(accepted_issuers("https://accounts.google.com").len(), 2);
        assert_eq!(accepted_issuers("http://127.0.0.1:9000"), ["http://127.0.0.1:9000"]);
    }

    #[test]
    fn email_verified_reads_booleans_and_strings() {
        let claims: GoogleClaims =
            serde_json::from_str(r#"{"sub":"1","email_verified":"true","nonce":"n"}"#).unwrap();
        assert!(claims.email_verified);
        let claims: GoogleClaims = serde_json::from_str(r#"{"sub":"1","email_verified":false}"#).unwrap();
        assert!(!claims.email_verified);
        let claims: GoogleClaims = serde_json::from_str(r#"{"sub":"1"}"#).unwrap();
        assert!(!claims.email_verified);
    }

    #[test]
    fn tokens_that_are_not_rs256_jws_are_refused_before_any_key_is_used() {
        let keys = JwkSet { keys: vec![] };
        let hs256 = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &serde_json::json!({"sub": "1"}),
            &jsonwebtoken::EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        assert!(matches!(validate_id_token(&hs256, &keys, "c", "i", "n"), Err(IdTokenError::Malformed(_))));
        assert!(matches!(validate_id_token("junk", &keys, "c", "i", "n"), Err(IdTokenError::Malformed(_))));
    }
}
