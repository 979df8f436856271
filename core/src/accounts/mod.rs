//! The accounts core: sessions (start, token rotation, sign-out, authentication, listing and
//! revoking) here; passwords (`passwords.rs`), profile (`profile.rs`), email flows
//! (`email_flows.rs`) and provider linking (`linking.rs`) beside it.
//!
//! Both edges call these functions: the REST API (`server::http::rest::auth`, `rest::users`) and the
//! UI's server functions. They take validated inputs, talk to PostgreSQL and return
//! [`AccountError`]s that each edge turns into its own answer.

pub mod device;
pub mod email_flows;
pub mod email_tokens;
pub mod error;
pub mod linking;
mod passwords;
pub mod profile;
pub mod recent_checks;
pub mod sessions;

use std::{net::IpAddr, sync::Arc, time::Duration};

use contract::{
    account::{AccessToken, SessionInfo, SignedIn, UserProfile},
    plans::Plan,
};
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

pub use self::{error::AccountError, sessions::ClientContext};
use self::{
    recent_checks::RecentChecks,
    sessions::{PresentedToken, Revoke, TokenRow},
};
use crate::{
    auth::{
        email::Email, password_hash::PasswordHasher, password_policy::check_new_password,
        refresh_token::RefreshToken, token_cipher::TokenCipher, tokens::TokenKeys,
    },
    config::{Config, PublicUrl},
    mail::Outbox,
    rate_limit::{Decision, RateLimiter, client_key, network_group},
};
use contract::ids::{SessionId, UserId};

/// Who is making an authenticated request, from a verified, unrevoked access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    /// The user.
    pub user_id: UserId,
    /// Their email.
    pub email: String,
    /// The session the token belongs to.
    pub session: SessionId,
    /// The token's id.
    pub jti: Uuid,
    /// When the token expires.
    pub token_expires_at: OffsetDateTime,
    /// Staff may read everyone's data.
    pub is_staff: bool,
    /// Superusers administer users.
    pub is_superuser: bool,
    /// Their subscription plan.
    pub plan: Plan,
    /// Whether they proved they hold their address (SECURITY.md 44); generating needs it.
    pub email_verified: bool,
}

/// A new access token and the refresh token that goes into the cookie.
#[derive(Debug)]
pub struct IssuedTokens {
    /// Whose they are.
    pub user: UserId,
    /// For the response body.
    pub access: AccessToken,
    /// For the cookie only.
    pub refresh: RefreshToken,
    /// The session's absolute end, which the cookie's lifetime follows.
    pub refresh_expires_at: OffsetDateTime,
}

impl IssuedTokens {
    /// Seconds the refresh cookie should live.
    #[must_use]
    pub fn refresh_max_age(&self) -> i64 {
        (self.refresh_expires_at - OffsetDateTime::now_utc()).whole_seconds().max(0)
    }
}

/// The result of registering or signing in.
#[derive(Debug)]
pub struct SignedInSession {
    /// Tokens for the new session.
    pub tokens: IssuedTokens,
    /// Who signed in.
    pub user: UserProfile,
}

impl SignedInSession {
    /// What the response body says (access token and user), and the tokens for the cookie.
    #[must_use]
    pub fn into_body(self) -> (SignedIn, IssuedTokens) {
        let body = SignedIn {
            access_token: self.tokens.access.access_token.clone(),
            token_type: self.tokens.access.token_type.clone(),
            expires_in: self.tokens.access.expires_in,
            user: self.user,
        };
        (body, self.tokens)
    }
}

/// The accounts service: the database plus the keys that sign and seal.
#[derive(Clone)]
pub struct Accounts {
    db: PgPool,
    keys: Arc<TokenKeys>,
    cipher: Arc<TokenCipher>,
    /// Mail with links goes out sealed.
    outbox: Outbox,
    attempts: Arc<RateLimiter<String>>,
    ipv6_prefix: u8,
    hasher: PasswordHasher,
    public_url: PublicUrl,
    /// Access tokens checked a moment ago (see [`recent_checks`]).
    recent: Arc<RecentChecks>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
}

fn internal(error: impl std::fmt::Display) -> AccountError {
    AccountError::Internal(error.to_string())
}

/// An email from a request, or a 422 for `email`.
fn parse_email(raw: &str) -> Result<Email, AccountError> {
    Email::parse(raw).map_err(|e| AccountError::invalid("invalid_email", "email", e.to_string()))
}

/// A 422 for `field` unless `password` passes the policy for new passwords.
fn check_policy(password: &str, field: &'static str) -> Result<(), AccountError> {
    check_new_password(password).map_err(|e| AccountError::invalid("weak_password", field, e.to_string()))
}

impl Accounts {
    /// The service over `db` with the configured keys and limits.
    #[must_use]
    pub fn new(db: PgPool, config: &Config) -> Self {
        Self {
            db,
            keys: Arc::new(TokenKeys::new(&config.jwt_secret, config.access_token_seconds)),
            cipher: Arc::new(TokenCipher::new(&config.token_encryption_key)),
            outbox: Outbox::new(&config.token_encryption_key),
            attempts: Arc::new(RateLimiter::with_max_keys(
                config.auth_attempts_per_minute,
                Duration::from_secs(60),
                config.limits.rate_limit_max_keys,
            )),
            ipv6_prefix: config.limits.rate_limit_ipv6_prefix,
            hasher: PasswordHasher::new(
                config.limits.password_hash_concurrency,
                Duration::from_secs(config.limits.password_hash_wait_seconds),
            ),
            public_url: config.public_url.clone(),
            recent: Arc::new(RecentChecks::new(Duration::from_secs(config.auth_check_cache_seconds))),
        }
    }

    /// The access tokens checked a moment ago.
    #[must_use]
    pub fn recent_checks(&self) -> &RecentChecks {
        &self.recent
    }

    /// Forgets `user`'s recently checked tokens: called right after this instance commits a
    /// change to their account or sessions, so the next request is checked against it.
    pub fn forget_checks_of(&self, user: UserId) {
        self.recent.forget_user(user);
    }

    /// The access-token keys (tests forge tokens with them).
    #[must_use]
    pub fn keys(&self) -> &TokenKeys {
        &self.keys
    }

    /// The cipher for provider tokens.
    #[must_use]
    pub fn cipher(&self) -> &TokenCipher {
        &self.cipher
    }

    /// The pool.
    #[must_use]
    pub fn db(&self) -> &PgPool {
        &self.db
    }

    /// Counts one attempt of `action` by `ip` (an IPv6 address by its network prefix) and by
    /// `email`; refuses beyond the per-minute limit for either, so neither rotating addresses nor
    /// rotating accounts escapes it. Only a parsed address counts as an email key: raw input
    /// (megabytes of it, or endless spellings of one address) never becomes a key.
    fn count_attempt(&self, action: &str, ip: IpAddr, email: &str) -> Result<(), AccountError> {
        let now = std::time::Instant::now();
        let ip_key = format!("{action} ip {}", client_key(ip, self.ipv6_prefix));
        let email_key = Email::parse(email).ok().map(|email| format!("{action} email {}", email.as_str()));
        // While the table is full, new keys (fresh addresses or fresh emails) count against the
        // network they come from, so a flood locks out its own network only.
        let group = format!("{action} network {}", network_group(ip, self.ipv6_prefix));
        for key in std::iter::once(ip_key).chain(email_key) {
            if let Decision::Limited { retry_after } = self.attempts.check(&key, &group, now) {
                tracing::warn!(%ip, action, "sign-in attempts limited");
                return Err(AccountError::RateLimited(retry_after));
            }
        }
        Ok(())
    }

    /// Counts one attempt of `action` on the signed-in account `email` (no client address: the
    /// caller is signed in, and guesses at its password are what is limited), refusing beyond the
    /// per-minute limit.
    fn count_account_attempt(&self, action: &str, email: &str) -> Result<(), AccountError> {
        let key = format!("{action} account {email}");
        match self.attempts.check(&key, &key, std::time::Instant::now()) {
            Decision::Limited { retry_after } => {
                tracing::warn!(action, "password confirmations limited");
                Err(AccountError::RateLimited(retry_after))
            }
            Decision::Allowed { .. } => Ok(()),
        }
    }

    /// Forgets attempt counts older than the window (called periodically).
    pub fn prune_attempts(&self) {
        self.attempts.prune(std::time::Instant::now());
    }

    /// Starts a new session family for `user` (after any successful sign-in).
    ///
    /// # Errors
    /// Signing, randomness or the database failed.
    pub async fn start_session(
        &self,
        conn: &mut PgConnection,
        user: UserId,
        email: &str,
        client: &ClientContext,
    ) -> Result<IssuedTokens, AccountError> {
        let family = SessionId(Uuid::new_v4());
        let (access, jti) = self.issue_access(user, email, family)?;
        let refresh = RefreshToken::generate().map_err(internal)?;
        let row = TokenRow { family, user, token: &refresh, access_jti: jti, client };
        let refresh_expires_at = sessions::insert_first(conn, &row).await?;
        Ok(IssuedTokens { user, access, refresh, refresh_expires_at })
    }

    fn issue_access(
        &self,
        user: UserId,
        email: &str,
        family: SessionId,
    ) -> Result<(AccessToken, Uuid), AccountError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let (token, claims) = self.keys.issue_access(user, email, family, now).map_err(internal)?;
        let access = AccessToken {
            access_token: token,
            token_type: "bearer".into(),
            expires_in: self.keys.lifetime_seconds(),
        };
        Ok((access, claims.jti))
    }

    /// Exchanges a refresh token for a new access token and a new refresh token. A token that
    /// was already exchanged revokes its whole session (someone replayed it).
    ///
    /// # Errors
    /// 401 for an unknown, rotated, revoked or expired token or an inactive user.
    pub async fn refresh(
        &self,
        token: &RefreshToken,
        client: &ClientContext,
    ) -> Result<IssuedTokens, AccountError> {
        let mut tx = self.db.begin().await?;
        let Some(presented) = sessions::find_for_update(&mut tx, token).await? else {
            return Err(AccountError::Unauthenticated);
        };
        if presented.rotated && !presented.revoked {
            tracing::warn!(
                user = %presented.user_id,
                session = %presented.family_id,
                "a rotated refresh token was presented again: revoking its session"
            );
            sessions::revoke(
                &mut tx,
                presented.user_id,
                Revoke::Only(presented.family_id),
                self.keys.lifetime_seconds(),
            )
            .await?;
            tx.commit().await?;
            self.forget_checks_of(presented.user_id);
            return Err(AccountError::Unauthenticated);
        }
        if !is_usable(&presented) {
            return Err(AccountError::Unauthenticated);
        }
        let (access, jti) = self.issue_access(presented.user_id, &presented.email, presented.family_id)?;
        let refresh = RefreshToken::generate().map_err(internal)?;
        let successor = TokenRow {
            family: presented.family_id,
            user: presented.user_id,
            token: &refresh,
            access_jti: jti,
            client,
        };
        sessions::rotate(&mut tx, &presented, &successor).await?;
        tx.commit().await?;
        Ok(IssuedTokens {
            user: presented.user_id,
            access,
            refresh,
            refresh_expires_at: presented.expires_at,
        })
    }

    /// Ends the session of the refresh token and/or access token presented, and revokes that
    /// access token at once. Signing out twice is not an error.
    ///
    /// # Errors
    /// The database failed.
    pub async fn logout(
        &self,
        refresh: Option<&RefreshToken>,
        bearer: Option<&str>,
    ) -> Result<(), AccountError> {
        let ttl = self.keys.lifetime_seconds();
        let mut tx = self.db.begin().await?;
        let mut signed_out = Vec::new();
        if let Some(token) = refresh
            && let Some(presented) = sessions::find_for_update(&mut tx, token).await?
        {
            sessions::revoke(&mut tx, presented.user_id, Revoke::Only(presented.family_id), ttl).await?;
            signed_out.push(presented.user_id);
        }
        if let Some(claims) = bearer.and_then(|token| self.keys.verify_access(token).ok()) {
            let expires_at = OffsetDateTime::from_unix_timestamp(claims.exp).map_err(internal)?;
            sessions::revoke_access_token(&mut tx, claims.jti, expires_at).await?;
            sessions::revoke(&mut tx, claims.sub, Revoke::Only(claims.sid), ttl).await?;
            signed_out.push(claims.sub);
        }
        tx.commit().await?;
        for user in signed_out {
            self.forget_checks_of(user);
        }
        Ok(())
    }

    /// Checks a bearer access token: signature and claims, then that its id is not revoked, its
    /// session is alive and its user active. The database answer is kept a few seconds (see
    /// [`recent_checks`]), so a client's next requests skip that round trip.
    ///
    /// # Errors
    /// 401 for anything else.
    pub async fn authenticate(&self, bearer: &str) -> Result<CurrentUser, AccountError> {
        let claims = self.keys.verify_access(bearer).map_err(|e| {
            tracing::debug!(error = %e, "access token refused");
            AccountError::Unauthenticated
        })?;
        self.recent.start(&self.db);
        let now = std::time::Instant::now();
        if let Some(user) = self.recent.get(claims.jti, claims.sub, claims.sid, now) {
            return Ok(user);
        }
        let ticket = self.recent.ticket();
        let row: Option<(String, bool, bool, String, bool, OffsetDateTime)> = sqlx::query_as(
            "SELECT u.email, u.is_staff, u.is_superuser, u.subscription_plan, u.email_verified, s.ends
             FROM users u,
                  LATERAL (SELECT max(expires_at) AS ends FROM user_sessions
                           WHERE family_id = $3 AND user_id = u.user_id AND revoked_at IS NULL) s
             WHERE u.user_id = $1 AND u.is_active AND s.ends > now()
               AND NOT EXISTS (SELECT 1 FROM revoked_access_tokens r WHERE r.jti = $2)",
        )
        .bind(claims.sub)
        .bind(claims.jti)
        .bind(claims.sid)
        .fetch_optional(&self.db)
        .await?;
        let (email, is_staff, is_superuser, plan, email_verified, session_ends) =
            row.ok_or(AccountError::Unauthenticated)?;
        let token_expires_at = OffsetDateTime::from_unix_timestamp(claims.exp).map_err(internal)?;
        let user = CurrentUser {
            user_id: claims.sub,
            email,
            session: claims.sid,
            jti: claims.jti,
            token_expires_at,
            is_staff,
            is_superuser,
            // The column's CHECK allows only known plans; an unknown one gets the least.
            plan: Plan::parse(&plan).unwrap_or(Plan::Free),
            email_verified,
        };
        let left = token_expires_at.min(session_ends) - OffsetDateTime::now_utc();
        if let Ok(left) = Duration::try_from(left) {
            self.recent.keep(ticket, user.clone(), now, now + left);
        }
        Ok(user)
    }

    /// Whether `owner`'s session still lives: not signed out, revoked or expired, and its user
    /// still active. Signed links and open event streams ask, so that ending a session ends
    /// them too (SECURITY.md 43).
    ///
    /// # Errors
    /// The database failed.
    pub async fn session_alive(&self, owner: crate::links::LinkOwner) -> Result<bool, AccountError> {
        let alive = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM user_sessions s JOIN users u ON u.user_id = s.user_id
                            WHERE s.family_id = $1 AND s.user_id = $2 AND u.is_active
                              AND s.revoked_at IS NULL AND s.expires_at > now())",
        )
        .bind(owner.session)
        .bind(owner.user)
        .fetch_one(&self.db)
        .await?;
        Ok(alive)
    }

    /// The caller's active sessions, theirs marked `current`.
    ///
    /// # Errors
    /// The database failed.
    pub async fn sessions(&self, user: &CurrentUser) -> Result<Vec<SessionInfo>, AccountError> {
        self.sessions_of(user.user_id, user.session).await
    }

    /// `user`'s active sessions, `current` marked.
    ///
    /// # Errors
    /// The database failed.
    pub async fn sessions_of(
        &self,
        user: UserId,
        current: SessionId,
    ) -> Result<Vec<SessionInfo>, AccountError> {
        let mut conn = self.db.acquire().await?;
        let rows = sessions::active_sessions(&mut conn, user).await?;
        Ok(rows
            .into_iter()
            .map(|row| SessionInfo {
                id: row.family_id,
                device_name: row.device_name,
                ip_address: row.ip_address,
                user_agent: row.user_agent,
                created_at: row.signed_in_at,
                last_used_at: row.last_used_at,
                expires_at: row.expires_at,
                current: row.family_id == current,
            })
            .collect())
    }

    /// Ends one of the caller's sessions (possibly their own).
    ///
    /// # Errors
    /// 404 if no active session of theirs has that id.
    pub async fn revoke_session(&self, user: &CurrentUser, session: SessionId) -> Result<(), AccountError> {
        let mut tx = self.db.begin().await?;
        let ended =
            sessions::revoke(&mut tx, user.user_id, Revoke::Only(session), self.keys.lifetime_seconds())
                .await?;
        if ended == 0 {
            return Err(AccountError::NotFound);
        }
        tx.commit().await?;
        self.forget_checks_of(user.user_id);
        Ok(())
    }

    /// Deletes `user`'s row and, through the foreign keys, every row that references it, in
    /// `conn`'s transaction ([`crate::account_data::erase`] removes their files too); call
    /// [`Accounts::forget_checks_of`] once it commits.
    ///
    /// # Errors
    /// The database failed.
    pub async fn delete_user(conn: &mut PgConnection, user: UserId) -> Result<(), AccountError> {
        sqlx::query("DELETE FROM users WHERE user_id = $1").bind(user).execute(conn).await?;
        Ok(())
    }

    /// Deletes expired sessions and revoked-token records (called periodically).
    ///
    /// # Errors
    /// The database failed.
    pub async fn delete_expired(&self) -> Result<u64, AccountError> {
        let mut conn = self.db.acquire().await?;
        let tokens = email_tokens::delete_expired(&mut conn).await?;
        Ok(sessions::delete_expired(&mut conn).await? + tokens)
    }
}

/// Whether a presented (not rotated) token may be exchanged.
fn is_usable(presented: &PresentedToken) -> bool {
    !presented.rotated && !presented.revoked && !presented.expired && presented.user_active
}
