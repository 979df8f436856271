//! An exact sliding-window rate limiter: at most `limit` events per key in any `window`.
//!
//! Pure and in memory: the clock is passed in, so tests need no sleeping. Each key keeps at most
//! `limit` timestamps, and [`RateLimiter::prune`] drops keys that have gone quiet. (Limits are
//! per server instance; a shared store can replace this behind the same API when we run several.)

use std::{
    collections::{HashMap, VecDeque},
    hash::Hash,
    sync::Mutex,
    time::{Duration, Instant},
};

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

/// Counts events per key.
#[derive(Debug)]
pub struct RateLimiter<K> {
    limit: u32,
    window: Duration,
    events: Mutex<HashMap<K, VecDeque<Instant>>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// At most `limit` events per key in any `window`.
    #[must_use]
    pub fn new(limit: u32, window: Duration) -> Self {
        Self { limit, window, events: Mutex::new(HashMap::new()) }
    }

    /// Records an event for `key` at `now` if it fits, and says whether it did.
    pub fn check(&self, key: &K, now: Instant) -> Decision {
        let mut events = self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let log = events.entry(key.clone()).or_default();
        while log.front().is_some_and(|&t| now.saturating_duration_since(t) >= self.window) {
            log.pop_front();
        }
        let used = u32::try_from(log.len()).unwrap_or(u32::MAX);
        if used < self.limit {
            log.push_back(now);
            Decision::Allowed { remaining: self.limit - used - 1 }
        } else {
            let oldest = log.front().copied().unwrap_or(now);
            let wait = self.window.saturating_sub(now.saturating_duration_since(oldest));
            // Round up to whole seconds: Retry-After has no fractions, and early retries fail.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            Decision::Limited { retry_after: Duration::from_secs(seconds.max(1)) }
        }
    }

    /// Forgets keys with no event inside the window (call periodically).
    pub fn prune(&self, now: Instant) {
        let mut events = self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        events.retain(|_, log| log.back().is_some_and(|&t| now.saturating_duration_since(t) < self.window));
    }

    /// How many keys are tracked.
    pub fn tracked_keys(&self) -> usize {
        self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
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
            assert_eq!(limiter.check(&"203.0.113.7", at), Decision::Allowed { remaining: 4 - i });
        }
        // At t=45 s the first attempt (t=0) is 45 s old: 15 s to wait.
        let decision = limiter.check(&"203.0.113.7", start + Duration::from_secs(45));
        assert_eq!(decision, Decision::Limited { retry_after: Duration::from_secs(15) });
    }

    #[test]
    fn the_window_slides_rather_than_resetting_at_a_boundary() {
        let limiter = RateLimiter::new(2, MINUTE);
        let start = Instant::now();
        assert!(matches!(limiter.check(&1, start + Duration::from_secs(50)), Decision::Allowed { .. }));
        assert!(matches!(limiter.check(&1, start + Duration::from_secs(59)), Decision::Allowed { .. }));
        // A fixed window would reset at t=60; a sliding one still counts both.
        assert!(matches!(limiter.check(&1, start + Duration::from_secs(61)), Decision::Limited { .. }));
        // At t=110 the first event (t=50) has left the window.
        assert!(matches!(limiter.check(&1, start + Duration::from_secs(110)), Decision::Allowed { .. }));
    }

    #[test]
    fn keys_are_independent_and_limited_attempts_do_not_extend_the_wait() {
        let limiter = RateLimiter::new(1, MINUTE);
        let start = Instant::now();
        assert!(matches!(limiter.check(&"a", start), Decision::Allowed { remaining: 0 }));
        assert!(matches!(limiter.check(&"b", start), Decision::Allowed { remaining: 0 }));
        for s in 1..60 {
            assert!(matches!(limiter.check(&"a", start + Duration::from_secs(s)), Decision::Limited { .. }));
        }
        assert!(matches!(limiter.check(&"a", start + MINUTE), Decision::Allowed { .. }));
    }

    #[test]
    fn retry_after_is_whole_seconds_and_never_zero() {
        let limiter = RateLimiter::new(1, MINUTE);
        let start = Instant::now();
        limiter.check(&"k", start);
        let decision = limiter.check(&"k", start + Duration::from_millis(59_999));
        assert_eq!(decision, Decision::Limited { retry_after: Duration::from_secs(1) });
        let decision = limiter.check(&"k", start + Duration::from_millis(500));
        assert_eq!(decision, Decision::Limited { retry_after: Duration::from_secs(60) });
    }

    #[test]
    fn prune_forgets_quiet_keys_only() {
        let limiter = RateLimiter::new(3, MINUTE);
        let start = Instant::now();
        limiter.check(&"quiet", start);
        limiter.check(&"busy", start + Duration::from_secs(30));
        limiter.prune(start + Duration::from_secs(61));
        assert_eq!(limiter.tracked_keys(), 1);
        assert!(matches!(
            limiter.check(&"busy", start + Duration::from_secs(61)),
            Decision::Allowed { remaining: 1 }
        ));
    }
}
