//! Authenticated encryption of sign-in providers' tokens at rest (SECURITY.md 20).
//!
//! XChaCha20-Poly1305 with a random 192-bit nonce per message, so nonces never repeat in
//! practice. The sealed form is `version || nonce || ciphertext+tag`; the version byte leaves
//! room for key rotation. A context (e.g. provider and user id) is bound as associated data, so a
//! ciphertext copied into another row fails to open.

use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, AeadCore, OsRng, Payload},
};
use thiserror::Error;

use crate::config::EncryptionKey;

/// The format version written in front of every sealed value.
const VERSION: u8 = 1;
const NONCE_BYTES: usize = 24;

/// A sealed value could not be opened (wrong key or context, or tampered with), or sealing failed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CipherError {
    /// Encryption failed.
    #[error("encryption failed")]
    Seal,
    /// Decryption or authentication failed.
    #[error("encrypted value is unreadable: wrong key or context, or tampered with")]
    Open,
}

/// Seals and opens secrets with the configured key.
pub struct TokenCipher(XChaCha20Poly1305);

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher([redacted])")
    }
}

impl TokenCipher {
    /// A cipher with `key`.
    #[must_use]
    pub fn new(key: &EncryptionKey) -> Self {
        Self(XChaCha20Poly1305::new(key.expose().into()))
    }

    /// Encrypts `secret`, binding it to `context`.
    ///
    /// # Errors
    /// [`CipherError::Seal`] (only on a broken random source).
    pub fn seal(&self, secret: &str, context: &[u8]) -> Result<Vec<u8>, CipherError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = self
            .0
            .encrypt(&nonce, Payload { msg: secret.as_bytes(), aad: context })
            .map_err(|_| CipherError::Seal)?;
        let mut sealed = Vec::with_capacity(1 + NONCE_BYTES + ciphertext.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Decrypts what [`TokenCipher::seal`] produced with the same key and context.
    ///
    /// # Errors
    /// [`CipherError::Open`] for anything else.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<String, CipherError> {
        let (&version, rest) = sealed.split_first().ok_or(CipherError::Open)?;
        if version != VERSION || rest.len() < NONCE_BYTES {
            return Err(CipherError::Open);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_BYTES);
        let plain = self
            .0
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: context })
            .map_err(|_| CipherError::Open)?;
        String::from_utf8(plain).map_err(|_| CipherError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(byte: u8) -> TokenCipher {
        TokenCipher::new(&EncryptionKey::from_hex(&format!("{byte:02x}").repeat(32)).unwrap())
    }

    const SECRET: &str = "ya29.a0AfB_provider-access-token";

    #[test]
    fn sealed_values_open_with_the_same_key_and_context_and_never_show_the_secret() {
        let cipher = cipher(1);
        let sealed = cipher.seal(SECRET, b"google:user-1").unwrap();
        assert_eq!(cipher.open(&sealed, b"google:user-1").unwrap(), SECRET);
        assert!(!sealed.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()), "no plaintext at rest");
        assert_ne!(sealed, cipher.seal(SECRET, b"google:user-1").unwrap(), "a fresh nonce each time");
    }

    #[test]
    fn the_wrong_key_context_or_a_flipped_bit_fails_to_open() {
        let sealed = cipher(1).seal(SECRET, b"google:user-1").unwrap();
        assert_eq!(cipher(2).open(&sealed, b"google:user-1"), Err(CipherError::Open));
        assert_eq!(cipher(1).open(&sealed, b"google:user-2"), Err(CipherError::Open));
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            assert_eq!(cipher(1).open(&tampered, b"google:user-1"), Err(CipherError::Open), "byte {i}");
        }
        assert_eq!(cipher(1).open(&[], b""), Err(CipherError::Open));
        assert_eq!(cipher(1).open(&sealed[..10], b"google:user-1"), Err(CipherError::Open));
    }
}
