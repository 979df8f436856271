//! The limits no single account may break (SECURITY.md 36, 39, 40, 42): how much an upload may
//! decode to, how many decodes and password hashes run at once, how many event streams one user
//! holds, and how rate limiters key and bound their clients. Per-plan limits (images, jobs at
//! once) live in the plan table instead.

use super::{ConfigError, bounded_number};

/// Server-wide abuse limits, each from its own variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `UPLOAD_MAX_PIXELS`: the most pixels (width × height) an upload may declare; larger ones
    /// are refused from their header, before decoding. Default 40,000,000.
    pub upload_max_pixels: u64,
    /// `UPLOAD_DECODE_CONCURRENCY`: uploads decoded at once; the rest wait their turn, so memory
    /// is bounded by this × the pixel budget × 4 bytes. Default 2.
    pub upload_decode_concurrency: usize,
    /// `UPLOAD_BUFFER_MIB`: memory for upload bodies being received, all together; an upload
    /// waits up to 10 s for room, then is answered 503 `busy`. Default 256.
    pub upload_buffer_mib: u32,
    /// `EXPORT_CONCURRENCY`: account exports written at once on one instance (each writes the
    /// whole gallery to a temporary file); more are refused 503 `busy`. Default 2.
    pub export_concurrency: usize,
    /// `PASSWORD_HASH_CONCURRENCY`: password hashes (argon2, 19 MiB each) computed at once.
    /// Default 4.
    pub password_hash_concurrency: usize,
    /// `PASSWORD_HASH_WAIT_SECONDS`: how long a sign-in waits for a hashing slot before it is
    /// answered 503 with `Retry-After`. Default 5.
    pub password_hash_wait_seconds: u64,
    /// `EVENT_STREAMS_PER_USER`: live progress streams one user may hold open on one server
    /// instance; the next is refused 429 `too_many_streams`. Default 8.
    pub event_streams_per_user: usize,
    /// `RATE_LIMIT_IPV6_PREFIX`: IPv6 clients are rate-limited by this many leading bits of their
    /// address (one customer usually holds a whole /64). 32–128, default 64.
    pub rate_limit_ipv6_prefix: u8,
    /// `RATE_LIMIT_MAX_KEYS`: clients each rate limiter tracks; beyond that, new clients share
    /// one allowance, so memory stays bounded whatever an attacker rotates. Default 100,000.
    pub rate_limit_max_keys: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            upload_max_pixels: 40_000_000,
            upload_decode_concurrency: 2,
            export_concurrency: 2,
            upload_buffer_mib: 256,
            password_hash_concurrency: 4,
            password_hash_wait_seconds: 5,
            event_streams_per_user: 8,
            rate_limit_ipv6_prefix: 64,
            rate_limit_max_keys: 100_000,
        }
    }
}

impl Limits {
    /// Reads the limits, each defaulting as documented.
    ///
    /// # Errors
    /// A variable outside its range.
    pub fn parse(var: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Self::default();
        Ok(Self {
            upload_max_pixels: bounded_number(
                var,
                "UPLOAD_MAX_PIXELS",
                d.upload_max_pixels,
                1..=268_435_456,
                "a whole number of pixels from 1 to 268435456 (16384×16384)",
            )?,
            upload_decode_concurrency: bounded_number(
                var,
                "UPLOAD_DECODE_CONCURRENCY",
                d.upload_decode_concurrency,
                1..=64,
                "a whole number from 1 to 64",
            )?,
            upload_buffer_mib: bounded_number(
                var,
                "UPLOAD_BUFFER_MIB",
                d.upload_buffer_mib,
                1..=65_536,
                "a whole number of MiB from 1 to 65536",
            )?,
            export_concurrency: bounded_number(
                var,
                "EXPORT_CONCURRENCY",
                d.export_concurrency,
                1..=64,
                "a whole number from 1 to 64",
            )?,
            password_hash_concurrency: bounded_number(
                var,
                "PASSWORD_HASH_CONCURRENCY",
                d.password_hash_concurrency,
                1..=256,
                "a whole number from 1 to 256",
            )?,
            password_hash_wait_seconds: bounded_number(
                var,
                "PASSWORD_HASH_WAIT_SECONDS",
                d.password_hash_wait_seconds,
                1..=60,
                "a whole number of seconds from 1 to 60",
            )?,
            event_streams_per_user: bounded_number(
                var,
                "EVENT_STREAMS_PER_USER",
                d.event_streams_per_user,
                1..=1000,
                "a whole number from 1 to 1000",
            )?,
            rate_limit_ipv6_prefix: bounded_number(
                var,
                "RATE_LIMIT_IPV6_PREFIX",
                d.rate_limit_ipv6_prefix,
                32..=128,
                "a prefix length from 32 to 128",
            )?,
            rate_limit_max_keys: bounded_number(
                var,
                "RATE_LIMIT_MAX_KEYS",
                d.rate_limit_max_keys,
                1_000..=10_000_000,
                "a whole number from 1000 to 10000000",
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<Limits, ConfigError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        Limits::parse(&|name: &str| map.get(name).map(|v| (*v).to_owned()))
    }

    #[test]
    fn limits_default_as_documented_and_refuse_values_out_of_range() {
        assert_eq!(parse(&[]).unwrap(), Limits::default());
        let set = parse(&[("UPLOAD_MAX_PIXELS", "1000000"), ("RATE_LIMIT_IPV6_PREFIX", "56")]).unwrap();
        assert_eq!((set.upload_max_pixels, set.rate_limit_ipv6_prefix), (1_000_000, 56));
        for (variable, bad) in [
            ("UPLOAD_MAX_PIXELS", "0"),
            ("UPLOAD_DECODE_CONCURRENCY", "0"),
            ("PASSWORD_HASH_CONCURRENCY", "many"),
            ("PASSWORD_HASH_WAIT_SECONDS", "3600"),
            ("RATE_LIMIT_IPV6_PREFIX", "16"),
            ("RATE_LIMIT_MAX_KEYS", "10"),
        ] {
            let err = parse(&[(variable, bad)]).unwrap_err();
            assert!(err.to_string().starts_with(&format!("{variable}=")), "{err}");
        }
    }
}
