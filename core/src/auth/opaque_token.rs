//! Opaque tokens: random strings (256 bits) that only their holder has — a refresh token in the
//! browser's cookie, a link in an email. The database keeps their SHA-256, so a leaked table
//! cannot be replayed; a plain hash suffices because the token is random, not a password.

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// Random bytes in a token.
pub const TOKEN_BYTES: usize = 32;

/// A token as handed to its holder. Its `Debug` output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct OpaqueToken(String);

impl fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpaqueToken([redacted])")
    }
}

impl OpaqueToken {
    /// A new token from the operating system's random source (43 URL-safe characters).
    ///
    /// # Errors
    /// The random source failed.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0_u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Wraps a token presented by a client (from its cookie or a link).
    #[must_use]
    pub fn from_client(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    /// The token text, for the `Set-Cookie` header or the emailed link only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the database stores and looks tokens up by.
    #[must_use]
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn tokens_carry_256_random_bits_in_url_safe_text() {
        let tokens: HashSet<String> =
            (0..1000).map(|_| OpaqueToken::generate().unwrap().expose().to_owned()).collect();
        assert_eq!(tokens.len(), 1000);
        for token in &tokens {
            assert_eq!(token.len(), 43);
            assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{token}");
            assert_eq!(URL_SAFE_NO_PAD.decode(token).unwrap().len(), TOKEN_BYTES);
        }
    }

    #[test]
    fn the_digest_is_stable_and_differs_from_the_token() {
        let token = OpaqueToken::generate().unwrap();
        let again = OpaqueToken::from_client(token.expose());
        assert_eq!(token.digest(), again.digest());
        assert_ne!(token.digest(), OpaqueToken::generate().unwrap().digest());
        assert!(!format!("{token:?}").contains(token.expose()));
        // Known answer: SHA-256 of "abc".
        assert_eq!(
            hex::encode(OpaqueToken::from_client("abc").digest()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
