//! Access tokens checked a moment ago, so that the hot path (every authenticated request) does
//! not ask PostgreSQL again about a token it vouched for seconds before.
//!
//! A cached check is only as good as its invalidation, so the rules are strict:
//! - Triggers on `users`, `user_sessions` and `revoked_access_tokens` (migration
//!   `20261204000013_auth_changes`) send `pingvas_auth` at commit, naming the user or the token.
//!   [`follow_changes`] drops what they name, on every instance.
//! - This instance's own revocations drop the user's checks themselves right after they commit
//!   ([`RecentChecks::forget_user`]), so a response that says "signed out" is never followed by
//!   an answer from the cache, however late the notification.
//! - A check read from the database is kept only if nothing was forgotten while it was read (the
//!   generation counter), so a read racing a revocation cannot put the old answer back.
//! - While the listener is not connected nothing is served or kept (notifications may be lost).
//! - An entry lives at most its `max_age` (`AUTH_CHECK_CACHE_SECONDS`, 30 s by default; 0 turns
//!   the cache off), and never past its token's or its session's end.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, OnceLock, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use sqlx::PgPool;
use uuid::Uuid;

use super::CurrentUser;
use contract::ids::{SessionId, UserId};

/// The channel the triggers notify.
pub const CHANNEL: &str = "pingvas_auth";

/// Checks kept at most; past it, new ones are not kept until old ones expire.
const MAX_ENTRIES: usize = 100_000;

/// What a notification names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Something about this user or one of their sessions changed.
    User(UserId),
    /// This access token was revoked.
    Token(Uuid),
    /// Unreadable: forget everything.
    Unknown,
}

impl Change {
    /// Reads a payload: `user:<uuid>` or `token:<uuid>`.
    #[must_use]
    pub fn parse(payload: &str) -> Self {
        let id = |rest: &str| Uuid::parse_str(rest).ok();
        if let Some(user) = payload.strip_prefix("user:").and_then(id) {
            Self::User(UserId(user))
        } else if let Some(token) = payload.strip_prefix("token:").and_then(id) {
            Self::Token(token)
        } else {
            Self::Unknown
        }
    }
}

#[derive(Debug)]
struct Entry {
    user: CurrentUser,
    until: Instant,
}

#[derive(Debug, Default)]
struct Table {
    /// By access-token id.
    entries: HashMap<Uuid, Entry>,
    /// Bumped by every forget, so a check read before it is not kept after it.
    generation: u64,
}

/// The recent checks of one process.
#[derive(Debug, Default)]
pub struct RecentChecks {
    /// The longest a check is believed without asking again: the bound on a notification that
    /// was lost without the connection failing. Zero: nothing is kept.
    max_age: Duration,
    table: Mutex<Table>,
    /// Whether the listener is connected, so that changes reach us.
    live: AtomicBool,
    /// The listener is started with the first check.
    started: OnceLock<()>,
    /// Served from the cache (for tests and diagnostics).
    hits: AtomicU64,
}

/// Where a check may be kept: the generation when its read began, or nowhere while not live.
#[derive(Debug, Clone, Copy)]
pub struct ReadTicket(Option<u64>);

impl RecentChecks {
    /// Checks kept at most `max_age` each (zero keeps none and never listens).
    #[must_use]
    pub fn new(max_age: Duration) -> Self {
        Self { max_age, ..Self::default() }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The check of token `jti` (of `user`'s `session`), if one was kept and is still good at `now`.
    #[must_use]
    pub fn get(&self, jti: Uuid, user: UserId, session: SessionId, now: Instant) -> Option<CurrentUser> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        let table = self.table();
        let entry = table.entries.get(&jti)?;
        // The same token id always carries the same user and session; checked anyway.
        let good = entry.until > now && entry.user.user_id == user && entry.user.session == session;
        let found = good.then(|| entry.user.clone());
        drop(table);
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// Taken before reading a check from the database; [`RecentChecks::keep`] needs it.
    #[must_use]
    pub fn ticket(&self) -> ReadTicket {
        let live = self.live.load(Ordering::Acquire);
        ReadTicket(live.then(|| self.table().generation))
    }

    /// Keeps `user`'s check until `until` (at most `max_age` after `now`), unless something was
    /// forgotten since `ticket` was taken or the listener is not connected.
    pub fn keep(&self, ticket: ReadTicket, user: CurrentUser, now: Instant, until: Instant) {
        let Some(generation) = ticket.0 else { return };
        let until = until.min(now + self.max_age);
        if until <= now {
            return;
        }
        let mut table = self.table();
        if table.generation != generation || !self.live.load(Ordering::Acquire) {
            return;
        }
        if table.entries.len() >= MAX_ENTRIES {
            table.entries.retain(|_, entry| entry.until > now);
            if table.entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        table.entries.insert(user.jti, Entry { user, until });
    }

    /// Forgets every check of `user` (after this instance committed a change to them).
    pub fn forget_user(&self, user: UserId) {
        self.apply(Change::User(user));
    }

    /// Forgets what `change` names.
    pub fn apply(&self, change: Change) {
        let mut table = self.table();
        table.generation += 1;
        match change {
            Change::User(user) => table.entries.retain(|_, entry| entry.user.user_id != user),
            Change::Token(jti) => {
                table.entries.remove(&jti);
            }
            Change::Unknown => table.entries.clear(),
        }
    }

    /// Marks the listener (dis)connected; either way what is kept may have missed changes.
    fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::Release);
        self.apply(Change::Unknown);
    }

    /// How many checks were answered from the cache so far.
    #[must_use]
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Whether the listener is connected (tests wait for it).
    #[must_use]
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// Starts [`follow_changes`] once (call inside the Tokio runtime), unless nothing is kept.
    pub fn start(self: &Arc<Self>, pool: &PgPool) {
        if self.max_age.is_zero() {
            return;
        }
        self.started.get_or_init(|| {
            let checks = Arc::clone(self);
            let pool = pool.clone();
            tokio::spawn(async move { follow_changes(&checks, &pool).await });
        });
    }
}

/// Listens for `pingvas_auth` and forgets what each notification names, forever; while the
/// connection is down the cache is off, and it starts empty after every reconnection.
pub async fn follow_changes(checks: &RecentChecks, pool: &PgPool) {
    loop {
        match crate::db::listen(pool, &[CHANNEL]).await {
            Ok(mut listener) => {
                checks.set_live(true);
                loop {
                    match listener.try_recv().await {
                        Ok(Some(note)) => checks.apply(Change::parse(note.payload())),
                        Ok(None) => {
                            tracing::warn!("the sign-in change listener lost its connection");
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "the sign-in change listener failed");
                            break;
                        }
                    }
                }
                checks.set_live(false);
            }
            Err(e) => tracing::warn!(error = %e, "cannot listen for sign-in changes"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contract::plans::Plan;
    use time::OffsetDateTime;

    fn user(id: u128, jti: u128) -> CurrentUser {
        CurrentUser {
            user_id: UserId(Uuid::from_u128(id)),
            email: format!("{id}@example.com"),
            session: SessionId(Uuid::from_u128(id + 1000)),
            jti: Uuid::from_u128(jti),
            token_expires_at: OffsetDateTime::UNIX_EPOCH,
            is_staff: false,
            is_superuser: false,
            plan: Plan::Free,
            email_verified: true,
        }
    }

    const MAX_AGE: Duration = Duration::from_secs(30);

    fn live() -> RecentChecks {
        let checks = RecentChecks::new(MAX_AGE);
        checks.set_live(true);
        checks
    }

    fn lookup(checks: &RecentChecks, u: &CurrentUser, now: Instant) -> Option<CurrentUser> {
        checks.get(u.jti, u.user_id, u.session, now)
    }

    #[test]
    fn a_kept_check_is_served_until_it_expires_and_never_past_max_age() {
        let checks = live();
        let now = Instant::now();
        let ada = user(1, 11);
        checks.keep(checks.ticket(), ada.clone(), now, now + Duration::from_secs(3600));
        assert_eq!(lookup(&checks, &ada, now + Duration::from_secs(1)), Some(ada.clone()));
        assert_eq!(lookup(&checks, &ada, now + MAX_AGE), None, "kept at most MAX_AGE");
        let bob = user(2, 22);
        checks.keep(checks.ticket(), bob.clone(), now, now + Duration::from_secs(5));
        assert_eq!(lookup(&checks, &bob, now + Duration::from_secs(5)), None, "not past its token");
        assert_eq!(checks.hits(), 1);
    }

    #[test]
    fn the_token_must_name_the_same_user_and_session() {
        let checks = live();
        let now = Instant::now();
        let ada = user(1, 11);
        checks.keep(checks.ticket(), ada.clone(), now, now + MAX_AGE);
        assert_eq!(checks.get(ada.jti, UserId(Uuid::from_u128(2)), ada.session, now), None);
        assert_eq!(checks.get(ada.jti, ada.user_id, SessionId(Uuid::nil()), now), None);
    }

    #[test]
    fn a_change_forgets_its_user_or_its_token_and_nothing_else() {
        let checks = live();
        let now = Instant::now();
        let (ada, ada2, bob) = (user(1, 11), user(1, 12), user(2, 22));
        for u in [&ada, &ada2, &bob] {
            checks.keep(checks.ticket(), u.clone(), now, now + MAX_AGE);
        }
        checks.apply(Change::parse(&format!("user:{}", ada.user_id.0)));
        assert_eq!(lookup(&checks, &ada, now), None);
        assert_eq!(lookup(&checks, &ada2, now), None);
        assert_eq!(lookup(&checks, &bob, now), Some(bob.clone()));
        checks.apply(Change::parse(&format!("token:{}", bob.jti)));
        assert_eq!(lookup(&checks, &bob, now), None);
        checks.keep(checks.ticket(), ada.clone(), now, now + MAX_AGE);
        checks.apply(Change::parse("something else"));
        assert_eq!(lookup(&checks, &ada, now), None, "an unreadable change forgets everything");
    }

    #[test]
    fn a_check_read_while_something_was_forgotten_is_not_kept() {
        let checks = live();
        let now = Instant::now();
        let ada = user(1, 11);
        let ticket = checks.ticket();
        // The read began; a revocation committed and was applied before the read returned.
        checks.forget_user(ada.user_id);
        checks.keep(ticket, ada.clone(), now, now + MAX_AGE);
        assert_eq!(lookup(&checks, &ada, now), None);
        checks.keep(checks.ticket(), ada.clone(), now, now + MAX_AGE);
        assert_eq!(lookup(&checks, &ada, now), Some(ada));
    }

    #[test]
    fn without_a_connected_listener_nothing_is_served_or_kept() {
        let checks = RecentChecks::new(MAX_AGE);
        let now = Instant::now();
        let ada = user(1, 11);
        checks.keep(checks.ticket(), ada.clone(), now, now + MAX_AGE);
        checks.set_live(true);
        assert_eq!(lookup(&checks, &ada, now), None, "kept before the listener connected");
        checks.keep(checks.ticket(), ada.clone(), now, now + MAX_AGE);
        let ticket = checks.ticket();
        checks.set_live(false);
        assert_eq!(lookup(&checks, &ada, now), None, "not served while disconnected");
        checks.set_live(true);
        assert_eq!(lookup(&checks, &ada, now), None, "a reconnection starts empty");
        checks.keep(ticket, ada.clone(), now, now + MAX_AGE);
        assert_eq!(lookup(&checks, &ada, now), None, "a read from before the outage is not kept");
    }

    #[test]
    fn a_zero_max_age_keeps_nothing() {
        let checks = RecentChecks::new(Duration::ZERO);
        checks.set_live(true);
        let now = Instant::now();
        let ada = user(1, 11);
        checks.keep(checks.ticket(), ada.clone(), now, now + MAX_AGE);
        assert_eq!(lookup(&checks, &ada, now), None);
    }

    #[test]
    fn payloads_are_read_strictly() {
        let id = Uuid::from_u128(7);
        assert_eq!(Change::parse(&format!("user:{id}")), Change::User(UserId(id)));
        assert_eq!(Change::parse(&format!("token:{id}")), Change::Token(id));
        assert_eq!(Change::parse(&format!("user:{id}x")), Change::Unknown);
        assert_eq!(Change::parse(""), Change::Unknown);
    }
}
