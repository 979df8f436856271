//! What is done through a link sent by email: verifying a new account's address (SECURITY.md
//! 44), resetting a forgotten password (45) and moving an account to a new address (46). Each
//! link's token is issued and its mail queued in one transaction, so a mail goes out only for
//! what was committed; redeeming the token and acting on it are one transaction too.

use contract::account::EmailConfirmed;
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::{
    AccountError, Accounts, ClientContext, CurrentUser, check_policy, email_tokens,
    email_tokens::{IssueError, Purpose},
    internal, parse_email,
    sessions::{self, Revoke},
};
use crate::mail::templates;
use contract::ids::UserId;

/// The least time between two verification mails to one account.
pub const RESEND_INTERVAL: time::Duration = time::Duration::seconds(60);

/// How recent a provider sign-in must be to stand in for a password (accounts without one).
pub const FRESH_SIGN_IN: time::Duration = time::Duration::minutes(10);

impl From<IssueError> for AccountError {
    fn from(error: IssueError) -> Self {
        internal(error)
    }
}

fn invalid_link() -> AccountError {
    AccountError::invalid(
        "invalid_link",
        "token",
        "This link is not valid: it was already used, has expired, or was copied incompletely. Ask for a new one.",
    )
}

impl Accounts {
    /// Issues a verification link for `email` and queues the mail that carries it, in the
    /// caller's transaction.
    pub(super) async fn send_verification(
        &self,
        conn: &mut PgConnection,
        user: UserId,
        email: &str,
    ) -> Result<(), AccountError> {
        let token = email_tokens::issue(conn, user, Purpose::VerifyEmail, email).await?;
        let link = email_tokens::link(&self.public_url, Purpose::VerifyEmail, &token);
        self.outbox.enqueue(conn, Some(user), &templates::verify_email(email, &link)).await?;
        Ok(())
    }

    /// Sends the caller a new verification link, at most once per [`RESEND_INTERVAL`].
    ///
    /// # Errors
    /// 409 `already_verified`, 429 `rate_limited` within the interval.
    pub async fn resend_verification(&self, user: &CurrentUser) -> Result<(), AccountError> {
        let mut tx = self.db.begin().await?;
        let verified: bool =
            sqlx::query_scalar("SELECT email_verified FROM users WHERE user_id = $1 FOR UPDATE")
                .bind(user.user_id)
                .fetch_one(&mut *tx)
                .await?;
        if verified {
            return Err(AccountError::AlreadyVerified);
        }
        if let Some(sent) = email_tokens::last_sent(&mut tx, user.user_id, Purpose::VerifyEmail).await? {
            let wait = sent + RESEND_INTERVAL - OffsetDateTime::now_utc();
            if wait.is_positive() {
                return Err(AccountError::RateLimited(wait.unsigned_abs()));
            }
        }
        self.send_verification(&mut tx, user.user_id, &user.email).await?;
        tx.commit().await?;
        tracing::info!(user = %user.user_id, "verification mail sent again");
        Ok(())
    }

    /// Redeems a link from a verification or email-change mail: marks the address verified, or
    /// moves the account to the new address (which that proves the owner holds). Needs no
    /// sign-in: the link may be opened on another device.
    ///
    /// # Errors
    /// 422 `invalid_link` for an unknown, used or expired link or one for an address the account
    /// no longer has; 409 `email_taken` if the new address got an account meanwhile.
    pub async fn confirm_email(&self, token: &str) -> Result<EmailConfirmed, AccountError> {
        let mut tx = self.db.begin().await?;
        let redeemed = email_tokens::redeem(&mut tx, token, &[Purpose::VerifyEmail, Purpose::ChangeEmail])
            .await?
            .ok_or_else(invalid_link)?;
        let confirmed = match redeemed.purpose {
            Purpose::ChangeEmail => {
                let moved = sqlx::query(
                    "UPDATE users SET email = $2, email_verified = true WHERE user_id = $1 AND is_active",
                )
                .bind(redeemed.user)
                .bind(&redeemed.email)
                .execute(&mut *tx)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(d) if d.is_unique_violation() => AccountError::EmailTaken,
                    _ => AccountError::from(e),
                })?;
                if moved.rows_affected() == 0 {
                    return Err(invalid_link());
                }
                tracing::info!(user = %redeemed.user, "email changed");
                EmailConfirmed { email: redeemed.email, changed: true }
            }
            Purpose::VerifyEmail | Purpose::ResetPassword => {
                // Only the address the link was sent to: one changed since is not proven by it.
                let verified = sqlx::query(
                    "UPDATE users SET email_verified = true WHERE user_id = $1 AND email = $2 AND is_active",
                )
                .bind(redeemed.user)
                .bind(&redeemed.email)
                .execute(&mut *tx)
                .await?;
                if verified.rows_affected() == 0 {
                    return Err(invalid_link());
                }
                tracing::info!(user = %redeemed.user, "email verified");
                EmailConfirmed { email: redeemed.email, changed: false }
            }
        };
        tx.commit().await?;
        self.forget_checks_of(redeemed.user);
        Ok(confirmed)
    }

    /// Sends a password-reset link to `email` if an active account has it. The answer is the same
    /// for every well-formed address and comes before the lookup, which runs in the background:
    /// neither the reply nor its timing tells whether the account exists.
    ///
    /// # Errors
    /// 429 over the attempt limit, 422 for a malformed address.
    pub async fn request_password_reset(
        &self,
        email: &str,
        client: &ClientContext,
    ) -> Result<(), AccountError> {
        self.count_attempt("reset", client.ip, email)?;
        let email = parse_email(email)?;
        let accounts = self.clone();
        tokio::spawn(async move {
            if let Err(error) = accounts.send_reset_link(email.as_str()).await {
                tracing::error!(%error, "could not send a password-reset link");
            }
        });
        Ok(())
    }

    async fn send_reset_link(&self, email: &str) -> Result<(), AccountError> {
        let mut tx = self.db.begin().await?;
        let user: Option<UserId> =
            sqlx::query_scalar("SELECT user_id FROM users WHERE email = $1 AND is_active")
                .bind(email)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(user) = user else {
            tracing::info!("password reset asked for an address without an account");
            return Ok(());
        };
        let token = email_tokens::issue(&mut tx, user, Purpose::ResetPassword, email).await?;
        let link = email_tokens::link(&self.public_url, Purpose::ResetPassword, &token);
        self.outbox.enqueue(&mut tx, Some(user), &templates::reset_password(email, &link)).await?;
        tx.commit().await?;
        tracing::info!(%user, "password-reset link sent");
        Ok(())
    }

    /// Sets a new password with a reset link's token, ends every session of the account and
    /// every other link sent to it (a pending email change, other resets), and signs nobody in.
    /// The address counts as verified: the link reached it. Attempts are counted per client, and
    /// the token is checked before the password is hashed, so that guesses cost no hashing slot
    /// (issue 33, finding 7).
    ///
    /// # Errors
    /// 429 over the attempt limit; 422 `weak_password` (the token stays usable) or
    /// `invalid_link`.
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: String,
        client: &ClientContext,
    ) -> Result<(), AccountError> {
        self.count_attempt("reset confirm", client.ip, "")?;
        check_policy(&new_password, "new_password")?;
        let mut conn = self.db.acquire().await?;
        if !email_tokens::is_live(&mut conn, token, &[Purpose::ResetPassword]).await? {
            return Err(invalid_link());
        }
        drop(conn);
        let hash = self.hasher.hash(new_password).await?;
        let mut tx = self.db.begin().await?;
        let redeemed = email_tokens::redeem(&mut tx, token, &[Purpose::ResetPassword])
            .await?
            .ok_or_else(invalid_link)?;
        let updated = sqlx::query(
            "UPDATE users SET password_hash = $3, email_verified = true
             WHERE user_id = $1 AND email = $2 AND is_active",
        )
        .bind(redeemed.user)
        .bind(&redeemed.email)
        .bind(hash)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(invalid_link());
        }
        let ended =
            sessions::revoke(&mut tx, redeemed.user, Revoke::All, self.keys.lifetime_seconds()).await?;
        let links = email_tokens::end_all(&mut tx, redeemed.user, &email_tokens::PASSWORD_BOUND).await?;
        tx.commit().await?;
        self.forget_checks_of(redeemed.user);
        tracing::info!(user = %redeemed.user, sessions_ended = ended, links_ended = links, "password reset");
        Ok(())
    }

    /// Starts moving the caller's account to `new_email`: a link to the new address confirms it
    /// (nothing changes before), and the current address is told.
    ///
    /// # Errors
    /// 401 `wrong_password`, 403 `reauthentication_required`, 422 for a malformed or unchanged
    /// address, 409 if it has an account, 429 over the attempt limit.
    pub async fn request_email_change(
        &self,
        user: &CurrentUser,
        new_email: &str,
        password: Option<String>,
        client: &ClientContext,
    ) -> Result<(), AccountError> {
        self.count_attempt("email", client.ip, &user.email)?;
        let new_email = parse_email(new_email)?;
        if new_email.as_str() == user.email {
            return Err(AccountError::invalid("same_email", "new_email", "This is already your email."));
        }
        self.reauthenticate(user, password).await?;
        let mut tx = self.db.begin().await?;
        let taken: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)")
            .bind(new_email.as_str())
            .fetch_one(&mut *tx)
            .await?;
        if taken {
            return Err(AccountError::EmailTaken);
        }
        let token =
            email_tokens::issue(&mut tx, user.user_id, Purpose::ChangeEmail, new_email.as_str()).await?;
        let link = email_tokens::link(&self.public_url, Purpose::ChangeEmail, &token);
        self.outbox
            .enqueue(&mut tx, Some(user.user_id), &templates::confirm_new_email(new_email.as_str(), &link))
            .await?;
        self.outbox
            .enqueue(
                &mut tx,
                Some(user.user_id),
                &templates::email_change_requested(&user.email, new_email.as_str()),
            )
            .await?;
        tx.commit().await?;
        tracing::info!(user = %user.user_id, "email change asked");
        Ok(())
    }

    /// The account's password hash; `None` for an account that signs in only with a provider.
    pub(super) async fn password_hash_of(&self, user: UserId) -> Result<Option<String>, AccountError> {
        Ok(sqlx::query_scalar("SELECT password_hash FROM users WHERE user_id = $1")
            .bind(user)
            .fetch_optional(&self.db)
            .await?
            .flatten())
    }

    /// Checks that the caller is who they say before an irreversible change: their password, or
    /// for an account without one a provider sign-in within [`FRESH_SIGN_IN`].
    ///
    /// # Errors
    /// 401 `wrong_password`, 403 `reauthentication_required`, 429 over the attempt limit (per
    /// account, for accounts with a password).
    pub async fn reauthenticate(
        &self,
        user: &CurrentUser,
        password: Option<String>,
    ) -> Result<(), AccountError> {
        let stored = self.password_hash_of(user.user_id).await?;
        if stored.is_some() {
            // A stolen session must not be a way to guess the password (finding 10: deleting the
            // account had no attempt limit).
            self.count_account_attempt("reauthenticate", &user.email)?;
            let given = password.unwrap_or_default();
            return if self.hasher.verify(given, stored).await? {
                Ok(())
            } else {
                Err(AccountError::WrongPassword)
            };
        }
        let signed_in_at: Option<OffsetDateTime> = sqlx::query_scalar(
            "SELECT min(signed_in_at) FROM user_sessions WHERE family_id = $1 AND user_id = $2",
        )
        .bind(user.session)
        .bind(user.user_id)
        .fetch_one(&self.db)
        .await?;
        match signed_in_at {
            Some(at) if OffsetDateTime::now_utc() - at <= FRESH_SIGN_IN => Ok(()),
            _ => Err(AccountError::ReauthenticationRequired),
        }
    }
}
