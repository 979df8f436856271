//! Sign-in sessions in `user_sessions`: one row per refresh token, grouped into a family per
//! sign-in. Rotation retires the presented row and inserts its successor; a retired token
//! presented again means it was stolen (or replayed), so the whole family is revoked.
//!
//! Only SHA-256 digests of refresh tokens reach the database.

use std::net::IpAddr;

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    AccountError,
    device::{describe_device, stored_user_agent},
};
use crate::auth::refresh_token::{REFRESH_TOKEN_SECONDS, RefreshToken};
use contract::ids::{SessionId, UserId};

/// Where a request came from, recorded with the session it starts or refreshes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientContext {
    /// The client's address (socket peer, or the trusted proxy's header).
    pub ip: IpAddr,
    /// Its `User-Agent`, if any.
    pub user_agent: Option<String>,
}

/// A refresh token row to insert: the first of a family, or a successor.
#[derive(Debug)]
pub struct TokenRow<'a> {
    /// The family (session) it belongs to.
    pub family: SessionId,
    /// Its owner.
    pub user: UserId,
    /// The token, stored as its digest.
    pub token: &'a RefreshToken,
    /// The access token issued alongside it.
    pub access_jti: Uuid,
    /// Who presented it.
    pub client: &'a ClientContext,
}

/// Inserts the first token of a new family, which ends [`REFRESH_TOKEN_SECONDS`] from now.
/// Returns that absolute expiry.
///
/// # Errors
/// The database failed.
pub async fn insert_first(
    conn: &mut PgConnection,
    row: &TokenRow<'_>,
) -> Result<OffsetDateTime, AccountError> {
    insert_row(conn, row, None).await
}

/// Inserts a token row; `family_span` (sign-in time, absolute expiry) carries a family's times
/// over to a successor, `None` starts a family now.
async fn insert_row(
    conn: &mut PgConnection,
    row: &TokenRow<'_>,
    family_span: Option<(OffsetDateTime, OffsetDateTime)>,
) -> Result<OffsetDateTime, AccountError> {
    let expires_at = sqlx::query_scalar(
        "INSERT INTO user_sessions (family_id, user_id, refresh_token_hash, access_token_jti, device_name,
                                    ip_address, user_agent, signed_in_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6::inet, $7, COALESCE($8, now()),
                 COALESCE($9, now() + make_interval(secs => $10)))
         RETURNING expires_at",
    )
    .bind(row.family)
    .bind(row.user)
    .bind(row.token.digest().as_slice())
    .bind(row.access_jti)
    .bind(row.client.user_agent.as_deref().and_then(describe_device))
    .bind(row.client.ip.to_string())
    .bind(stored_user_agent(row.client.user_agent.as_deref()))
    .bind(family_span.map(|(signed_in_at, _)| signed_in_at))
    .bind(family_span.map(|(_, expires_at)| expires_at))
    .bind(REFRESH_TOKEN_SECONDS as f64)
    .fetch_one(conn)
    .await?;
    Ok(expires_at)
}

/// What the database knows about a presented refresh token.
#[derive(Debug, sqlx::FromRow)]
pub struct PresentedToken {
    /// The row.
    pub session_row: Uuid,
    /// Its family.
    pub family_id: SessionId,
    /// Its owner.
    pub user_id: UserId,
    /// The owner's email (for the new access token).
    pub email: String,
    /// Whether the owner may still sign in.
    pub user_active: bool,
    /// Already exchanged for a successor: presenting it again is reuse.
    pub rotated: bool,
    /// Ended by logout, revocation or reuse detection.
    pub revoked: bool,
    /// The family's absolute end.
    pub expires_at: OffsetDateTime,
    /// Whether that end has passed.
    pub expired: bool,
    /// When the family signed in.
    pub signed_in_at: OffsetDateTime,
}

/// Looks a presented token up and locks its row for the rest of the transaction, so two
/// concurrent refreshes with one token cannot both succeed.
///
/// # Errors
/// The database failed.
pub async fn find_for_update(
    conn: &mut PgConnection,
    token: &RefreshToken,
) -> Result<Option<PresentedToken>, AccountError> {
    Ok(sqlx::query_as(
        "SELECT s.session_id AS session_row, s.family_id, s.user_id, u.email, u.is_active AS user_active,
                s.rotated_at IS NOT NULL AS rotated, s.revoked_at IS NOT NULL AS revoked,
                s.expires_at, s.expires_at <= now() AS expired, s.signed_in_at
         FROM user_sessions s JOIN users u ON u.user_id = s.user_id
         WHERE s.refresh_token_hash = $1
         FOR UPDATE OF s",
    )
    .bind(token.digest().as_slice())
    .fetch_optional(conn)
    .await?)
}

/// Retires `presented` and inserts `successor` in the same family with the same absolute expiry.
///
/// # Errors
/// The database failed.
pub async fn rotate(
    conn: &mut PgConnection,
    presented: &PresentedToken,
    successor: &TokenRow<'_>,
) -> Result<(), AccountError> {
    sqlx::query("UPDATE user_sessions SET rotated_at = now(), last_used_at = now() WHERE session_id = $1")
        .bind(presented.session_row)
        .execute(&mut *conn)
        .await?;
    insert_row(conn, successor, Some((presented.signed_in_at, presented.expires_at))).await?;
    Ok(())
}

/// Which of a user's sessions to revoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoke {
    /// One session.
    Only(SessionId),
    /// Every session except one (the caller's own, after a password change).
    AllExcept(SessionId),
    /// Every session (deactivation, a provider claiming the account).
    All,
}

/// Revokes sessions of `user` and every access token they were issued (kept as revoked for
/// `access_token_seconds`, the longest any of them can still be valid). Returns how many
/// sessions were still active.
///
/// # Errors
/// The database failed.
pub async fn revoke(
    conn: &mut PgConnection,
    user: UserId,
    which: Revoke,
    access_token_seconds: i64,
) -> Result<u64, AccountError> {
    let (only, except) = match which {
        Revoke::Only(family) => (Some(family), None),
        Revoke::AllExcept(family) => (None, Some(family)),
        Revoke::All => (None, None),
    };
    let active: i64 = sqlx::query_scalar(
        "WITH revoked AS (
             UPDATE user_sessions SET revoked_at = now()
             WHERE user_id = $1 AND revoked_at IS NULL
               AND ($2::uuid IS NULL OR family_id = $2)
               AND ($3::uuid IS NULL OR family_id <> $3)
             RETURNING family_id, access_token_jti, rotated_at IS NULL AND expires_at > now() AS was_active
         ), jtis AS (
             INSERT INTO revoked_access_tokens (jti, expires_at)
             SELECT access_token_jti, now() + make_interval(secs => $4) FROM revoked
             ON CONFLICT (jti) DO NOTHING
         )
         SELECT count(*) FROM revoked WHERE was_active",
    )
    .bind(user)
    .bind(only)
    .bind(except)
    .bind(access_token_seconds as f64)
    .fetch_one(conn)
    .await?;
    Ok(u64::try_from(active).unwrap_or(0))
}

/// Revokes one access token by its id until `expires_at`.
///
/// # Errors
/// The database failed.
pub async fn revoke_access_token(
    conn: &mut PgConnection,
    jti: Uuid,
    expires_at: OffsetDateTime,
) -> Result<(), AccountError> {
    sqlx::query(
        "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
    )
    .bind(jti)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A user's active sessions, most recently used first.
#[derive(Debug, sqlx::FromRow)]
pub struct ActiveSession {
    /// The family id.
    pub family_id: SessionId,
    /// Readable device.
    pub device_name: Option<String>,
    /// Last address.
    pub ip_address: Option<String>,
    /// Last user agent.
    pub user_agent: Option<String>,
    /// Sign-in time.
    pub signed_in_at: OffsetDateTime,
    /// Last refresh.
    pub last_used_at: OffsetDateTime,
    /// Absolute end.
    pub expires_at: OffsetDateTime,
}

/// Lists `user`'s active sessions.
///
/// # Errors
/// The database failed.
pub async fn active_sessions(
    conn: &mut PgConnection,
    user: UserId,
) -> Result<Vec<ActiveSession>, AccountError> {
    Ok(sqlx::query_as(
        "SELECT family_id, device_name, host(ip_address) AS ip_address, user_agent, signed_in_at,
                last_used_at, expires_at
         FROM user_sessions
         WHERE user_id = $1 AND is_active AND expires_at > now()
         ORDER BY last_used_at DESC",
    )
    .bind(user)
    .fetch_all(conn)
    .await?)
}

/// Deletes sessions past their absolute expiry and revoked access tokens past theirs. Returns
/// the number of rows removed.
///
/// # Errors
/// The database failed.
pub async fn delete_expired(conn: &mut PgConnection) -> Result<u64, AccountError> {
    let sessions =
        sqlx::query("DELETE FROM user_sessions WHERE expires_at <= now()").execute(&mut *conn).await?;
    let tokens =
        sqlx::query("DELETE FROM revoked_access_tokens WHERE expires_at <= now()").execute(conn).await?;
    Ok(sessions.rows_affected() + tokens.rows_affected())
}
