//! Password hashing with argon2id (OWASP password storage cheat sheet parameters), off the async
//! runtime, and verification that costs the same whether or not the account exists.

use std::{
    sync::{Arc, LazyLock},
    time::Duration,
};

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};
use thiserror::Error;
use tokio::sync::Semaphore;

/// Memory cost in KiB (19 MiB), the OWASP minimum for argon2id.
pub const MEMORY_KIB: u32 = 19_456;
/// Passes over memory.
pub const ITERATIONS: u32 = 2;
/// Degree of parallelism.
pub const LANES: u32 = 1;

/// Why a password could not be hashed or checked.
#[derive(Debug, Error)]
pub enum HashError {
    /// Every hashing slot stayed busy for the whole wait; try again after the duration.
    #[error("every password-hashing slot is busy")]
    Busy(Duration),
    /// Only a broken random source or a runtime shutting down can cause this.
    #[error("password hashing failed: {0}")]
    Failed(String),
}

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

/// Password hashing under a concurrency bound (SECURITY.md 42). Each hash holds
/// [`MEMORY_KIB`] of memory for its whole run, so however many sign-ins arrive at once, hashing
/// holds at most `slots × 19 MiB`; a request waits up to `wait` for a slot and is then told to
/// retry. The slot travels with the work onto its blocking thread, so a request that gives up
/// mid-hash still holds it until the memory is freed.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl PasswordHasher {
    /// At most `slots` hashes at once (at least one); callers wait up to `wait` for a turn.
    #[must_use]
    pub fn new(slots: usize, wait: Duration) -> Self {
        Self { slots: Arc::new(Semaphore::new(slots.max(1))), wait }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let slot = tokio::time::timeout(self.wait, Arc::clone(&self.slots).acquire_owned())
            .await
            .map_err(|_| HashError::Busy(Duration::from_secs(self.wait.as_secs().clamp(1, 5))))?
            .map_err(|e| HashError::Failed(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(slot);
            result
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))
    }

    /// Hashes `password` into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`), on a blocking
    /// thread.
    ///
    /// # Errors
    /// See [`HashError`].
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2id().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
        })
        .await?
        .map_err(|e| HashError::Failed(e.to_string()))
    }

    /// Whether `password` matches `stored`. With no stored hash (unknown account, or one that
    /// signs in only with a provider) the same work is done against a dummy hash and the answer
    /// is `false`.
    ///
    /// # Errors
    /// [`HashError::Busy`] when no slot came free in time.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, HashError> {
        let exists = stored.is_some();
        let Some(hash) = stored.or_else(|| DUMMY_HASH.clone()) else { return Ok(false) };
        let matched = self
            .run(move || {
                PasswordHash::new(&hash)
                    .is_ok_and(|parsed| argon2id().verify_password(password.as_bytes(), &parsed).is_ok())
            })
            .await?;
        Ok(exists && matched)
    }
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
    use argon2::PasswordHasher as _;

    use super::*;

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(2, Duration::from_secs(5))
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_owasp_parameters_and_a_fresh_salt() {
        let first = hasher().hash("correct horse battery staple".into()).await.unwrap();
        let second = hasher().hash("correct horse battery staple".into()).await.unwrap();
        assert!(first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{first}");
        assert_ne!(first, second, "each hash has its own salt");
        assert!(!needs_rehash(&first));
    }

    #[tokio::test]
    async fn verification_accepts_only_the_right_password() {
        let h = hasher();
        let stored = h.hash("correct horse battery staple".into()).await.unwrap();
        assert!(h.verify("correct horse battery staple".into(), Some(stored.clone())).await.unwrap());
        assert!(!h.verify("correct horse battery stapler".into(), Some(stored)).await.unwrap());
        assert!(!h.verify("anything".into(), None).await.unwrap());
        assert!(!h.verify("anything".into(), Some("not a phc string".into())).await.unwrap());
    }

    #[tokio::test]
    async fn with_every_slot_taken_a_request_waits_its_turn_then_is_told_to_retry() {
        let h = PasswordHasher::new(1, Duration::from_millis(50));
        let taken = Arc::clone(&h.slots).acquire_owned().await.unwrap();
        match h.verify("pw".into(), None).await {
            Err(HashError::Busy(after)) => assert_eq!(after, Duration::from_secs(1)),
            other => panic!("expected Busy, got {other:?}"),
        }
        // A slot that frees up while a request waits is taken by it.
        let waiting = tokio::spawn({
            let h = PasswordHasher { wait: Duration::from_secs(30), ..h.clone() };
            async move { h.hash("pw".into()).await }
        });
        tokio::task::yield_now().await;
        drop(taken);
        assert!(waiting.await.unwrap().is_ok());
        assert_eq!(h.slots.available_permits(), 1, "the slot is given back");
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
