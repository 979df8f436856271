//! An exact sliding-window rate limiter: at most `limit` events per key in any `window`.
//!
//! Pure and in memory: the clock is passed in, so tests need no sleeping. Each key keeps at most
//! `limit` timestamps, and [`RateLimiter::prune`] drops keys that have gone quiet. Memory is
//! bounded whatever keys an attacker rotates (SECURITY.md 40): at most `max_keys` keys are
//! tracked. Once that many are active, a new key counts in its *group*'s log instead (the caller
//! names it: the client's wider network, [`network_group`]), so a flood of fresh keys limits the
//! network it comes from, not every newcomer on the Internet: one /48 filling the table locks out
//! only that /48 (issue 33, finding 6). Groups are bounded by `max_keys` too; only when both tables
//! are full of active entries (as many distinct networks as `max_keys`, a botnet) do newcomers
//! share one last log. IPv6 clients are keyed by their network prefix ([`client_key`]), since one
//! /64 hands its owner endless fresh addresses. (Limits are per server instance; a shared store
//! can replace this behind the same API when we run several.)

use std::{
    collections::{HashMap, VecDeque},
    hash::Hash,
    net::{IpAddr, Ipv6Addr},
    sync::Mutex,
    time::{Duration, Instant},
};

/// The key a client address counts under: IPv4 addresses as they are, IPv6 addresses cut to
/// their first `ipv6_prefix` bits (an IPv4 address mapped into IPv6 counts as the IPv4 one).
#[must_use]
pub fn client_key(ip: IpAddr, ipv6_prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let bits = u32::from(ipv6_prefix.min(128));
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

/// The wider network a client address belongs to, the group its events count in while the
/// limiter's key table is full: an IPv4 address's /24, an IPv6 address's /48 (or its key's own
/// prefix where that is wider). One holder of such a network has only itself to lock out.
#[must_use]
pub fn network_group(ip: IpAddr, ipv6_prefix: u8) -> IpAddr {
    match client_key(ip, ipv6_prefix) {
        IpAddr::V4(v4) => IpAddr::V4(std::net::Ipv4Addr::from(u32::from(v4) & 0xffff_ff00)),
        v6 => client_key(v6, ipv6_prefix.min(48)),
    }
}

/// The outcome of [`RateLimiter::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead; this many more events fit in the window.
    Allowed {
        /// Events left before the limit.
        remaining: u32,
    },
    /// Over the limit; retry after this long (whole seconds, at least 1, for `Retry-After`).
    Limited {
        /// When the oldest event in the window expires.
        retry_after: Duration,
    },
}

/// How many keys a limiter tracks unless told otherwise.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// Counts events per key.
#[derive(Debug)]
pub struct RateLimiter<K> {
    limit: u32,
    window: Duration,
    max_keys: usize,
    state: Mutex<Logs<K>>,
}

#[derive(Debug)]
struct Logs<K> {
    per_key: HashMap<K, VecDeque<Instant>>,
    /// Per group, for keys that arrived while `per_key` was full.
    per_group: HashMap<K, VecDeque<Instant>>,
    /// Shared by keys that arrived while both tables were full.
    last_resort: VecDeque<Instant>,
    last_full_prune: Option<Instant>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// At most `limit` events per key in any `window`, tracking up to [`DEFAULT_MAX_KEYS`] keys.
    #[must_use]
    pub fn new(limit: u32, window: Duration) -> Self {
        Self::with_max_keys(limit, window, DEFAULT_MAX_KEYS)
    }

    /// At most `limit` events per key in any `window`, tracking up to `max_keys` keys.
    #[must_use]
    pub fn with_max_keys(limit: u32, window: Duration, max_keys: usize) -> Self {
        let state = Logs {
            per_key: HashMap::new(),
            per_group: HashMap::new(),
            last_resort: VecDeque::new(),
            last_full_prune: None,
        };
        Self { limit, window, max_keys: max_keys.max(1), state: Mutex::new(state) }
    }

    /// Records an event for `key` at `now` if it fits, and says whether it did. `group` is where
    /// the event counts instead when the key table is full (see the module's notes); pass the key
    /// itself where keys have no wider group.
    pub fn check(&self, key: &K, group: &K, now: Instant) -> Decision {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let state = &mut *state;
        let full = |table: &HashMap<K, VecDeque<Instant>>, k: &K| {
            !table.contains_key(k) && table.len() >= self.max_keys
        };
        if full(&state.per_key, key) && full(&state.per_group, group) {
            // Full: drop quiet entries, at most once a second (a prune walks the whole tables,
            // and a flood of new keys must not make every request pay for one).
            if state
                .last_full_prune
                .is_none_or(|at| now.saturating_duration_since(at) >= Duration::from_secs(1))
            {
                state.last_full_prune = Some(now);
                self.retain_active(&mut state.per_key, now);
                self.retain_active(&mut state.per_group, now);
            }
        }
        let log = if !full(&state.per_key, key) {
            state.per_key.entry(key.clone()).or_default()
        } else if !full(&state.per_group, group) {
            state.per_group.entry(group.clone()).or_default()
        } else {
            &mut state.last_resort
        };
        self.record(log, now)
    }

    fn record(&self, log: &mut VecDeque<Instant>, now: Instant) -> Decision {
        while log.front().is_some_and(|&t| now.saturating_duration_since(t) >= self.window) {
            log.pop_front();
        }
        let used = u32::try_from(log.len()).unwrap_or(u32::MAX);
        if used < self.limit {
            log.push_back(now);
            Decision::Allowed { remaining: self.limit - used - 1 }
        } else {
            Decision::Limited { retry_after: self.retry_after(log.front().copied().unwrap_or(now), now) }
        }
    }

    /// How long until the event at `oldest` leaves the window: whole seconds, at least one
    /// (Retry-After has no fractions, and early retries fail).
    fn retry_after(&self, oldest: Instant, now: Instant) -> Duration {
        let wait = self.window.saturating_sub(now.saturating_duration_since(oldest));
        Duration::from_secs((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1))
    }

    fn retain_active(&self, per_key: &mut HashMap<K, VecDeque<Instant>>, now: Instant) {
        per_key.retain(|_, log| log.back().is_some_and(|&t| now.saturating_duration_since(t) < self.window));
    }

    /// Forgets keys and groups with no event inside the window (call periodically).
    pub fn prune(&self, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let state = &mut *state;
        self.retain_active(&mut state.per_key, now);
        self.retain_active(&mut state.per_group, now);
    }

    /// How long `key` (or, when it has no log of its own, its `group`) must wait before its
    /// next event at `now`; `None` when one would be allowed. Records nothing: for limits on
    /// failures, which are counted with [`RateLimiter::check`] only once they happen.
    pub fn is_limited(&self, key: &K, group: &K, now: Instant) -> Option<Duration> {
        let state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let log = state.per_key.get(key).or_else(|| state.per_group.get(group))?;
        let mut in_window = log.iter().copied().filter(|&t| now.saturating_duration_since(t) < self.window);
        let oldest = in_window.next()?;
        let count = 1 + in_window.count();
        (u32::try_from(count).unwrap_or(u32::MAX) >= self.limit).then(|| self.retry_after(oldest, now))
    }

    /// How many keys are tracked.
    pub fn tracked_keys(&self) -> usize {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner).per_key.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn the_sixth_attempt_within_a_minute_is_limited_with_a_retry_after() {
        let limiter = RateLimiter::new(5, MINUTE);
        let start = Instant::now();
        for i in 0..5_u32 {
            let at = start + Duration::from_secs(u64::from(i) * 10);
            assert_eq!(
                limiter.check(&"203.0.113.7", &"203.0.113.7", at),
                Decision::Allowed { remaining: 4 - i }
            );
        }
        // At t=45 s the first attempt (t=0) is 45 s old: 15 s to wait.
        let decision = limiter.check(&"203.0.113.7", &"203.0.113.7", start + Duration::from_secs(45));
        assert_eq!(decision, Decision::Limited { retry_after: Duration::from_secs(15) });
    }

    #[test]
    fn the_window_slides_rather_than_resetting_at_a_boundary() {
        let limiter = RateLimiter::new(2, MINUTE);
        let start = Instant::now();
        assert!(matches!(limiter.check(&1, &1, start + Duration::from_secs(50)), Decision::Allowed { .. }));
        assert!(matches!(limiter.check(&1, &1, start + Duration::from_secs(59)), Decision::Allowed { .. }));
        // A fixed window would reset at t=60; a sliding one still counts both.
        assert!(matches!(limiter.check(&1, &1, start + Duration::from_secs(61)), Decision::Limited { .. }));
        // At t=110 the first event (t=50) has left the window.
        assert!(matches!(limiter.check(&1, &1, start + Duration::from_secs(110)), Decision::Allowed { .. }));
    }

    #[test]
    fn keys_are_independent_and_limited_attempts_do_not_extend_the_wait() {
        let limiter = RateLimiter::new(1, MINUTE);
        let start = Instant::now();
        assert!(matches!(limiter.check(&"a", &"a", start), Decision::Allowed { remaining: 0 }));
        assert!(matches!(limiter.check(&"b", &"b", start), Decision::Allowed { remaining: 0 }));
        for s in 1..60 {
            assert!(matches!(
                limiter.check(&"a", &"a", start + Duration::from_secs(s)),
                Decision::Limited { .. }
            ));
        }
        assert!(matches!(limiter.check(&"a", &"a", start + MINUTE), Decision::Allowed { .. }));
    }

    #[test]
    fn retry_after_is_whole_seconds_and_never_zero() {
        let limiter = RateLimiter::new(1, MINUTE);
        let start = Instant::now();
        limiter.check(&"k", &"k", start);
        let decision = limiter.check(&"k", &"k", start + Duration::from_millis(59_999));
        assert_eq!(decision, Decision::Limited { retry_after: Duration::from_secs(1) });
        let decision = limiter.check(&"k", &"k", start + Duration::from_millis(500));
        assert_eq!(decision, Decision::Limited { retry_after: Duration::from_secs(60) });
    }

    #[test]
    fn a_flood_of_new_keys_is_bounded_and_locks_out_only_its_own_group() {
        // Keys 0..100 fill the table; the flood's fresh keys all come from group "attacker".
        let limiter = RateLimiter::with_max_keys(2, MINUTE, 100);
        let start = Instant::now();
        assert!(matches!(limiter.check(&0_u32, &0, start), Decision::Allowed { remaining: 1 }));
        for key in 1..100_u32 {
            limiter.check(&key, &key, start);
        }
        assert_eq!(limiter.tracked_keys(), 100);
        let later = start + Duration::from_secs(1);
        let attacker = 1_000_000_u32;
        assert!(matches!(limiter.check(&1_000, &attacker, later), Decision::Allowed { remaining: 1 }));
        assert!(matches!(limiter.check(&1_001, &attacker, later), Decision::Allowed { remaining: 0 }));
        for key in 1_002..50_000_u32 {
            assert!(matches!(limiter.check(&key, &attacker, later), Decision::Limited { .. }), "key {key}");
        }
        assert_eq!(limiter.tracked_keys(), 100, "memory stays bounded");
        // A newcomer from another network is not locked out by the flood (issue 33, finding 6).
        assert!(matches!(limiter.check(&60_000, &2_000_000, later), Decision::Allowed { remaining: 1 }));
        // A key already known is still counted on its own.
        assert!(matches!(limiter.check(&0, &0, later), Decision::Allowed { remaining: 0 }));
        // Once the old keys go quiet, a newcomer gets a slot of its own again.
        let after_window = start + MINUTE + Duration::from_secs(2);
        assert!(matches!(
            limiter.check(&77_777, &attacker, after_window),
            Decision::Allowed { remaining: 1 }
        ));
        assert!(limiter.tracked_keys() <= 100);
    }

    #[test]
    fn groups_are_bounded_too_and_a_limit_can_be_read_without_counting() {
        let limiter = RateLimiter::with_max_keys(1, MINUTE, 10);
        let start = Instant::now();
        for key in 0..10_000_u32 {
            limiter.check(&key, &(key + 1_000_000), start);
        }
        let state = limiter.state.lock().unwrap();
        assert_eq!((state.per_key.len(), state.per_group.len()), (10, 10));
        drop(state);
        assert_eq!(limiter.is_limited(&5, &5, start), Some(MINUTE));
        assert_eq!(limiter.is_limited(&5, &5, start + MINUTE), None);
        assert_eq!(limiter.is_limited(&123_456, &9, start), None, "unknown keys are not limited");
        assert_eq!(limiter.is_limited(&123_456, &1_000_012, start), Some(MINUTE), "but their group may be");
    }

    #[test]
    fn network_groups_are_an_ipv4_slash_24_and_an_ipv6_slash_48() {
        let group = |text: &str, prefix| network_group(text.parse().unwrap(), prefix);
        assert_eq!(group("203.0.113.7", 64), "203.0.113.0".parse::<IpAddr>().unwrap());
        assert_eq!(group("2001:db8:1:2::1", 64), "2001:db8:1::".parse::<IpAddr>().unwrap());
        assert_eq!(group("2001:db8:1:2::1", 32), "2001:db8::".parse::<IpAddr>().unwrap());
        assert_ne!(group("2001:db8:1::1", 64), group("2001:db8:2::1", 64));
    }

    #[test]
    fn ipv6_clients_count_by_prefix_and_ipv4_by_address() {
        let key = |text: &str, prefix| client_key(text.parse().unwrap(), prefix);
        assert_eq!(key("2001:db8:1:2:aaaa::1", 64), key("2001:db8:1:2:ffff:ffff:ffff:ffff", 64));
        assert_ne!(key("2001:db8:1:2::1", 64), key("2001:db8:1:3::1", 64));
        assert_eq!(key("2001:db8:1:2::1", 64), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        assert_eq!(key("2001:db8:1:2::1", 48), key("2001:db8:1:ffff::1", 48));
        assert_ne!(key("2001:db8::1", 128), key("2001:db8::2", 128));
        assert_eq!(key("203.0.113.7", 64), "203.0.113.7".parse::<IpAddr>().unwrap());
        assert_ne!(key("203.0.113.7", 64), key("203.0.113.8", 64));
        assert_eq!(key("::ffff:203.0.113.7", 64), "203.0.113.7".parse::<IpAddr>().unwrap());
        assert_eq!(key("2001:db8::1", 0), "::".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn prune_forgets_quiet_keys_only() {
        let limiter = RateLimiter::new(3, MINUTE);
        let start = Instant::now();
        limiter.check(&"quiet", &"quiet", start);
        limiter.check(&"busy", &"busy", start + Duration::from_secs(30));
        limiter.prune(start + Duration::from_secs(61));
        assert_eq!(limiter.tracked_keys(), 1);
        assert!(matches!(
            limiter.check(&"busy", &"busy", start + Duration::from_secs(61)),
            Decision::Allowed { remaining: 1 }
        ));
    }
}
