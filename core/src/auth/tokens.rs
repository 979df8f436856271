//! Access tokens: HS256 JWTs that live 15 minutes, validated strictly (one algorithm, issuer,
//! audience, token type, expiry with a tiny leeway). Revocation by `jti` is checked by the
//! caller against the database; this module is pure.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

use crate::config::JwtSecret;
use contract::ids::{SessionId, UserId};

/// How long an access token is valid unless configured otherwise.
pub const ACCESS_TOKEN_SECONDS: i64 = 15 * 60;
/// Who issues tokens (`iss`).
pub const ISSUER: &str = "pingvas";
/// Who accepts them (`aud`).
pub const AUDIENCE: &str = "pingvas-api";
/// Clock skew tolerated on `exp`, in seconds.
const LEEWAY_SECONDS: u64 = 5;

/// What a token is for; only `access` tokens are JWTs here (refresh tokens are opaque), but the
/// claim is checked so a token minted for another purpose can never pass as an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenType {
    /// Authorises API calls.
    Access,
    /// Any other purpose.
    Refresh,
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user.
    pub sub: UserId,
    /// Their email when the token was issued.
    pub email: String,
    /// Always [`TokenType::Access`] for a valid access token.
    #[serde(rename = "type")]
    pub token_type: TokenType,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Unique id, for revocation at logout.
    pub jti: Uuid,
    /// The sign-in session (refresh-token family) it was issued to: revoking the session
    /// revokes its access tokens at once.
    pub sid: SessionId,
    /// [`ISSUER`].
    pub iss: String,
    /// [`AUDIENCE`].
    pub aud: String,
}

/// Why a token was refused. Callers answer 401 for all of them alike.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TokenError {
    /// Signature, algorithm, issuer, audience, expiry or format is wrong.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// A well-formed token of another type.
    #[error("not an access token")]
    WrongType,
    /// Signing failed (a broken key).
    #[error("cannot sign token: {0}")]
    Signing(String),
}

/// Signs and checks access tokens with the configured secret.
pub struct TokenKeys {
    lifetime_seconds: i64,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys([redacted])")
    }
}

impl TokenKeys {
    /// Keys from the configured secret, issuing tokens that live `lifetime_seconds`.
    #[must_use]
    pub fn new(secret: &JwtSecret, lifetime_seconds: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        Self {
            lifetime_seconds,
            encoding: EncodingKey::from_secret(secret.expose()),
            decoding: DecodingKey::from_secret(secret.expose()),
            validation,
        }
    }

    /// Seconds a new token lives.
    #[must_use]
    pub fn lifetime_seconds(&self) -> i64 {
        self.lifetime_seconds
    }

    /// A new access token for `user` in `session`, issued at `now` (seconds since the epoch;
    /// passed in so tests control time).
    ///
    /// # Errors
    /// [`TokenError::Signing`] if the key cannot sign.
    pub fn issue_access(
        &self,
        user: UserId,
        email: &str,
        session: SessionId,
        now: i64,
    ) -> Result<(String, AccessClaims), TokenError> {
        let claims = AccessClaims {
            sub: user,
            email: email.to_owned(),
            token_type: TokenType::Access,
            iat: now,
            exp: now + self.lifetime_seconds,
            jti: Uuid::new_v4(),
            sid: session,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
        };
        let token = self.sign(&claims)?;
        Ok((token, claims))
    }

    /// Signs arbitrary access-token-shaped claims (also used by tests to forge bad ones).
    ///
    /// # Errors
    /// [`TokenError::Signing`] if the key cannot sign.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))
    }

    /// Checks a presented access token against the current clock.
    ///
    /// # Errors
    /// [`TokenError`] for anything but a valid, unexpired access token of ours.
    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let data = decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        if data.claims.token_type != TokenType::Access {
            return Err(TokenError::WrongType);
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(
            &JwtSecret::new(b"an-access-token-secret-of-32-bytes!!".to_vec()),
            ACCESS_TOKEN_SECONDS,
        )
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap()
    }

    fn user() -> UserId {
        UserId(Uuid::new_v4())
    }

    fn session() -> SessionId {
        SessionId(Uuid::new_v4())
    }

    #[test]
    fn a_fresh_access_token_verifies_with_every_claim() {
        let keys = keys();
        let user = user();
        let (token, issued) = keys.issue_access(user, "ada@example.com", session(), now()).unwrap();
        let claims = keys.verify_access(&token).unwrap();
        assert_eq!(claims, issued);
        assert_eq!(claims.sub, user);
        assert_eq!(claims.exp - claims.iat, 900);
        assert_eq!((claims.iss.as_str(), claims.aud.as_str()), (ISSUER, AUDIENCE));
        let (_, other) = keys.issue_access(user, "ada@example.com", session(), now()).unwrap();
        assert_ne!(claims.jti, other.jti, "every token has its own jti");
    }

    #[test]
    fn unsigned_alg_none_tokens_are_refused() {
        let keys = keys();
        let (_, claims) = keys.issue_access(user(), "ada@example.com", session(), now()).unwrap();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        for token in [format!("{header}.{body}."), format!("{header}.{body}")] {
            assert!(matches!(keys.verify_access(&token), Err(TokenError::Invalid(_))), "{token}");
        }
    }

    #[test]
    fn tokens_signed_with_another_key_are_refused() {
        let other = TokenKeys::new(
            &JwtSecret::new(b"somebody-else's-secret-of-32-bytes!!".to_vec()),
            ACCESS_TOKEN_SECONDS,
        );
        let (token, _) = other.issue_access(user(), "ada@example.com", session(), now()).unwrap();
        assert!(matches!(keys().verify_access(&token), Err(TokenError::Invalid(_))));
    }

    #[test]
    fn wrong_issuer_audience_or_type_is_refused() {
        let keys = keys();
        let (_, claims) = keys.issue_access(user(), "ada@example.com", session(), now()).unwrap();
        let forged = [
            AccessClaims { iss: "someone-else".into(), ..claims.clone() },
            AccessClaims { aud: "another-api".into(), ..claims.clone() },
        ];
        for bad in forged {
            assert!(matches!(keys.verify_access(&keys.sign(&bad).unwrap()), Err(TokenError::Invalid(_))));
        }
        let refresh = AccessClaims { token_type: TokenType::Refresh, ..claims };
        assert_eq!(keys.verify_access(&keys.sign(&refresh).unwrap()), Err(TokenError::WrongType));
    }

    #[test]
    fn expired_tokens_are_refused_beyond_a_few_seconds_of_leeway() {
        let keys = keys();
        // Issued 15 minutes and 10 seconds ago: expired 10 s ago, past the 5 s leeway.
        let (token, _) = keys
            .issue_access(user(), "ada@example.com", session(), now() - ACCESS_TOKEN_SECONDS - 10)
            .unwrap();
        assert!(matches!(keys.verify_access(&token), Err(TokenError::Invalid(_))));
        // Expired 2 s ago: inside the leeway.
        let (token, _) = keys
            .issue_access(user(), "ada@example.com", session(), now() - ACCESS_TOKEN_SECONDS - 2)
            .unwrap();
        assert!(keys.verify_access(&token).is_ok());
    }

    #[test]
    fn garbage_is_refused() {
        for token in ["", "a.b.c", "not-a-jwt"] {
            assert!(keys().verify_access(token).is_err(), "{token:?}");
        }
    }
}
