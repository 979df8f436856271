//! Password hashing with argon2id (OWASP password storage cheat sheet parameters), off the async
//! runtime, and verification that costs the same whether or not the account exists.

use std::sync::LazyLock;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};
use thiserror::Error;

/// Memory cost in KiB (19 MiB), the OWASP minimum for argon2id.
pub const MEMORY_KIB: u32 = 19_456;
/// Passes over memory.
pub const ITERATIONS: u32 = 2;
/// Degree of parallelism.
pub const LANES: u32 = 1;

/// Hashing failed; only a broken random source or a runtime shutting down can cause it.
#[derive(Debug, Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// The hasher with this project's parameters.
fn argon2id() -> Argon2<'static> {
    // The constants above are valid, so `new` cannot fail; should it, the crate's defaults are
    // the same OWASP values (a test pins the resulting hash format).
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None).unwrap_or(Params::DEFAULT);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a random password, checked against when an account does not exist, so an unknown
/// email takes as long to refuse as a wrong password.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    argon2id().hash_password(salt.as_str().as_bytes(), &salt).ok().map(|h| h.to_string())
});

/// Hashes `password` into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`), on a blocking thread.
///
/// # Errors
/// See [`HashError`].
pub async fn hash_password(password: String) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2id().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|e| HashError(e.to_string()))?
    .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches `stored`. With no stored hash (unknown account, or one that signs
/// in only with a provider) the same work is done against a dummy hash and the answer is `false`.
pub async fn verify_password(password: String, stored: Option<String>) -> bool {
    let exists = stored.is_some();
    let Some(hash) = stored.or_else(|| DUMMY_HASH.clone()) else { return false };
    let matched = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .is_ok_and(|parsed| argon2id().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false);
    exists && matched
}

/// Whether `stored` was made with other parameters than today's, so a successful sign-in should
/// store a fresh hash.
#[must_use]
pub fn needs_rehash(stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else { return true };
    let current = (Algorithm::Argon2id.ident(), MEMORY_KIB, ITERATIONS, LANES);
    match Params::try_from(&parsed) {
        Ok(params) => (parsed.algorithm, params.m_cost(), params.t_cost(), params.p_cost()) != current,
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_owasp_parameters_and_a_fresh_salt() {
        let first = hash_password("correct horse battery staple".into()).await.unwrap();
        let second = hash_password("correct horse battery staple".into()).await.unwrap();
        assert!(first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{first}");
        assert_ne!(first, second, "each hash has its own salt");
        assert!(!needs_rehash(&first));
    }

    #[tokio::test]
    async fn verification_accepts_only_the_right_password() {
        let stored = hash_password("correct horse battery staple".into()).await.unwrap();
        assert!(verify_password("correct horse battery staple".into(), Some(stored.clone())).await);
        assert!(!verify_password("correct horse battery stapler".into(), Some(stored)).await);
        assert!(!verify_password("anything".into(), None).await);
        assert!(!verify_password("anything".into(), Some("not a phc string".into())).await);
    }

    #[test]
    fn weaker_or_foreign_hashes_need_rehashing() {
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(4096, 1, 1, None).unwrap())
            .hash_password(b"pw", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(needs_rehash(&weak));
        assert!(needs_rehash("$2b$12$abcdefghijklmnopqrstuuN5e2mQdCkN2oV2m5V7kVb6o1W6n5e"));
    }
}
