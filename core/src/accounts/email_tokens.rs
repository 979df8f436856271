//! Single-use tokens sent by email (SECURITY.md 44–46): 256 random bits, only their SHA-256
//! stored, each for one purpose and one address, with a lifetime set by the purpose. Redeeming is
//! one `UPDATE … WHERE used_at IS NULL AND expires_at > now()`, so a token works exactly once even
//! when two requests present it at the same moment.

use sqlx::PgConnection;
use time::Duration;

use crate::{auth::opaque_token::OpaqueToken, config::PublicUrl};
use contract::ids::UserId;

/// What a token does when redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Confirms a new account's address.
    VerifyEmail,
    /// Lets its holder choose a new password.
    ResetPassword,
    /// Moves an account to the address it was sent to.
    ChangeEmail,
}

impl Purpose {
    /// The name stored in `email_tokens.purpose`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::ChangeEmail => "change_email",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Self::VerifyEmail, Self::ResetPassword, Self::ChangeEmail].into_iter().find(|p| p.as_str() == name)
    }

    /// How long a token works: a day to confirm an address, an hour to reset a password.
    #[must_use]
    pub const fn lifetime(self) -> Duration {
        match self {
            Self::VerifyEmail | Self::ChangeEmail => Duration::hours(24),
            Self::ResetPassword => Duration::minutes(60),
        }
    }

    /// The page the emailed link opens.
    #[must_use]
    pub const fn page(self) -> &'static str {
        match self {
            Self::VerifyEmail | Self::ChangeEmail => "/verify-email",
            Self::ResetPassword => "/reset-password",
        }
    }
}

/// The link that carries `token` to `purpose`'s page.
#[must_use]
pub fn link(public_url: &PublicUrl, purpose: Purpose, token: &OpaqueToken) -> String {
    format!("{}{}?token={}", public_url.as_str(), purpose.page(), token.expose())
}

/// Stores a new token of `user`'s for `purpose`, sent to `email`; returns it (for the link only).
///
/// # Errors
/// The random source or the database failed.
pub async fn issue(
    conn: &mut PgConnection,
    user: UserId,
    purpose: Purpose,
    email: &str,
) -> Result<OpaqueToken, IssueError> {
    let token = OpaqueToken::generate().map_err(|e| IssueError::Random(e.to_string()))?;
    sqlx::query(
        "INSERT INTO email_tokens (token_hash, user_id, purpose, email, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
    )
    .bind(token.digest().as_slice())
    .bind(user)
    .bind(purpose.as_str())
    .bind(email)
    .bind(purpose.lifetime().as_seconds_f64())
    .execute(conn)
    .await?;
    Ok(token)
}

/// A token could not be made.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The operating system's random source failed.
    #[error("random source: {0}")]
    Random(String),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// What a redeemed token was for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeemed {
    /// Whose it was.
    pub user: UserId,
    /// What it does.
    pub purpose: Purpose,
    /// The address it was sent to.
    pub email: String,
}

/// Uses up `raw` if it is a live token for one of `purposes`; `None` for anything else (unknown,
/// used, expired, another purpose), deliberately not saying which. Run it in the transaction that
/// acts on it, so that a failure there leaves the token unused.
///
/// # Errors
/// The database failed.
pub async fn redeem(
    conn: &mut PgConnection,
    raw: &str,
    purposes: &[Purpose],
) -> Result<Option<Redeemed>, sqlx::Error> {
    // A token is 43 characters; anything far longer is not one and is not hashed.
    if raw.is_empty() || raw.len() > 128 {
        return Ok(None);
    }
    let names: Vec<&str> = purposes.iter().map(|p| p.as_str()).collect();
    let row: Option<(UserId, String, String)> = sqlx::query_as(
        "UPDATE email_tokens SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() AND purpose = ANY($2)
         RETURNING user_id, purpose, email",
    )
    .bind(OpaqueToken::from_client(raw).digest().as_slice())
    .bind(names)
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|(user, purpose, email)| {
        Some(Redeemed { user, purpose: Purpose::parse(&purpose)?, email })
    }))
}

/// The links that must die when the password changes: each lets its holder act on the account
/// without the new password.
pub const PASSWORD_BOUND: [Purpose; 2] = [Purpose::ChangeEmail, Purpose::ResetPassword];

/// Whether `raw` is a live token for one of `purposes`, without using it up: a cheap check made
/// before expensive work (a password hash) that only a real link should cause.
///
/// # Errors
/// The database failed.
pub async fn is_live(conn: &mut PgConnection, raw: &str, purposes: &[Purpose]) -> Result<bool, sqlx::Error> {
    if raw.is_empty() || raw.len() > 128 {
        return Ok(false);
    }
    let names: Vec<&str> = purposes.iter().map(|p| p.as_str()).collect();
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM email_tokens
                        WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() AND purpose = ANY($2))",
    )
    .bind(OpaqueToken::from_client(raw).digest().as_slice())
    .bind(names)
    .fetch_one(conn)
    .await
}

/// Ends every unused token of `user`'s for `purposes` (marks it used): when the password
/// changes, links sent before (a pending email change, a reset) must die with the old password,
/// or whoever held the old one could still move the account (issue 33, finding 5). Returns how
/// many ended.
///
/// # Errors
/// The database failed.
pub async fn end_all(
    conn: &mut PgConnection,
    user: UserId,
    purposes: &[Purpose],
) -> Result<u64, sqlx::Error> {
    let names: Vec<&str> = purposes.iter().map(|p| p.as_str()).collect();
    let ended = sqlx::query(
        "UPDATE email_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL AND purpose = ANY($2)",
    )
    .bind(user)
    .bind(names)
    .execute(conn)
    .await?;
    Ok(ended.rows_affected())
}

/// When `user` was last sent a token for `purpose`, if ever.
///
/// # Errors
/// The database failed.
pub async fn last_sent(
    conn: &mut PgConnection,
    user: UserId,
    purpose: Purpose,
) -> Result<Option<time::OffsetDateTime>, sqlx::Error> {
    sqlx::query_scalar("SELECT max(created_at) FROM email_tokens WHERE user_id = $1 AND purpose = $2")
        .bind(user)
        .bind(purpose.as_str())
        .fetch_one(conn)
        .await
}

/// Deletes tokens that expired over a day ago (called periodically).
///
/// # Errors
/// The database failed.
pub async fn delete_expired(conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM email_tokens WHERE expires_at < now() - interval '1 day'")
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_follow_the_security_requirements_and_links_open_their_page() {
        assert!(Purpose::VerifyEmail.lifetime() <= Duration::hours(24));
        assert!(Purpose::ResetPassword.lifetime() <= Duration::minutes(60));
        for purpose in [Purpose::VerifyEmail, Purpose::ResetPassword, Purpose::ChangeEmail] {
            assert_eq!(Purpose::parse(purpose.as_str()), Some(purpose));
        }
        let token = OpaqueToken::from_client("abc");
        let url = crate::config::Config::from_vars(|_| None, |_, _| Ok("00".repeat(32))).unwrap().public_url;
        assert_eq!(
            link(&url, Purpose::ResetPassword, &token),
            "http://127.0.0.1:3000/reset-password?token=abc"
        );
    }
}
