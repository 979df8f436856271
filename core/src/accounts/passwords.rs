//! Email and password accounts: registration, sign-in, changing the password, and the first
//! superuser from the command line. Every attempt is counted per client and per address before
//! any hashing, and argon2 runs under the hasher's concurrency bound.

use contract::account::{ChangePasswordRequest, LoginRequest, RegisterRequest};

use super::{
    AccountError, Accounts, ClientContext, CurrentUser, SignedInSession, check_policy, email_tokens,
    parse_email,
    profile::{self, check_full_name},
    sessions::{self, Revoke},
};
use crate::auth::{email::Email, password_hash::needs_rehash};
use contract::ids::UserId;

impl Accounts {
    /// Creates an email/password account and signs it in.
    ///
    /// # Errors
    /// 429 over the attempt limit, 422 for an invalid email, password or name, 409 if the email
    /// has an account.
    pub async fn register(
        &self,
        request: RegisterRequest,
        client: &ClientContext,
    ) -> Result<SignedInSession, AccountError> {
        self.count_attempt("register", client.ip, &request.email)?;
        let email = parse_email(&request.email)?;
        check_policy(&request.password, "password")?;
        let full_name = request.full_name.as_deref().map(check_full_name).transpose()?.flatten();
        let hash = self.hasher.hash(request.password).await?;

        let mut tx = self.db.begin().await?;
        let user: Option<UserId> = sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, full_name, last_login_at) VALUES ($1, $2, $3, now())
             ON CONFLICT (email) DO NOTHING RETURNING user_id",
        )
        .bind(email.as_str())
        .bind(&hash)
        .bind(full_name)
        .fetch_optional(&mut *tx)
        .await?;
        let user = user.ok_or(AccountError::EmailTaken)?;
        self.send_verification(&mut tx, user, email.as_str()).await?;
        let tokens = self.start_session(&mut tx, user, email.as_str(), client).await?;
        let profile = profile::load(&mut tx, user).await?;
        tx.commit().await?;
        tracing::info!(%user, "account registered");
        Ok(SignedInSession { tokens, user: profile })
    }

    /// Signs in with email and password. An unknown email costs the same work and gets the same
    /// answer as a wrong password.
    ///
    /// # Errors
    /// 429 over the attempt limit, 401 `invalid_credentials` otherwise.
    pub async fn login(
        &self,
        request: LoginRequest,
        client: &ClientContext,
    ) -> Result<SignedInSession, AccountError> {
        self.count_attempt("login", client.ip, &request.email)?;
        let account: Option<(UserId, String, Option<String>, bool)> = match Email::parse(&request.email) {
            Ok(email) => {
                sqlx::query_as("SELECT user_id, email, password_hash, is_active FROM users WHERE email = $1")
                    .bind(email.as_str())
                    .fetch_optional(&self.db)
                    .await?
            }
            Err(_) => None,
        };
        let stored = account.as_ref().and_then(|(_, _, hash, _)| hash.clone());
        let matched = self.hasher.verify(request.password.clone(), stored.clone()).await?;
        let Some((user, email, _, true)) = account.filter(|_| matched) else {
            return Err(AccountError::InvalidCredentials);
        };

        let mut tx = self.db.begin().await?;
        if stored.as_deref().is_some_and(needs_rehash) {
            let fresh = self.hasher.hash(request.password).await?;
            sqlx::query("UPDATE users SET password_hash = $2 WHERE user_id = $1")
                .bind(user)
                .bind(fresh)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE users SET last_login_at = now() WHERE user_id = $1")
            .bind(user)
            .execute(&mut *tx)
            .await?;
        let tokens = self.start_session(&mut tx, user, &email, client).await?;
        let profile = profile::load(&mut tx, user).await?;
        tx.commit().await?;
        tracing::info!(%user, "signed in with password");
        Ok(SignedInSession { tokens, user: profile })
    }

    /// Changes (or, for provider-only accounts, sets) the caller's password and signs out every
    /// other session.
    ///
    /// # Errors
    /// 429 over the attempt limit, 401 for a wrong current password, 422 for a weak new one.
    pub async fn change_password(
        &self,
        user: &CurrentUser,
        request: ChangePasswordRequest,
        client: &ClientContext,
    ) -> Result<(), AccountError> {
        self.count_attempt("password", client.ip, &user.email)?;
        let stored = self.password_hash_of(user.user_id).await?;
        if stored.is_some() {
            let current = request.current_password.unwrap_or_default();
            if !self.hasher.verify(current, stored).await? {
                return Err(AccountError::WrongPassword);
            }
        }
        check_policy(&request.new_password, "new_password")?;
        let hash = self.hasher.hash(request.new_password).await?;
        let mut tx = self.db.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $2 WHERE user_id = $1")
            .bind(user.user_id)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        let ended = sessions::revoke(
            &mut tx,
            user.user_id,
            Revoke::AllExcept(user.session),
            self.keys.lifetime_seconds(),
        )
        .await?;
        // Links sent before the change (an email change, a reset) die with the old password.
        let links = email_tokens::end_all(&mut tx, user.user_id, &email_tokens::PASSWORD_BOUND).await?;
        tx.commit().await?;
        self.forget_checks_of(user.user_id);
        tracing::info!(user = %user.user_id, other_sessions_ended = ended, links_ended = links, "password changed");
        Ok(())
    }

    /// Gives the account with `email` superuser and staff rights; without such an account,
    /// creates one with `password` (under the usual password rules). Returns the user and whether
    /// it was created. For the command line: the first superuser has no one to promote them.
    ///
    /// # Errors
    /// 422 for an invalid email or weak password; [`AccountError::NotFound`] when there is no
    /// account and no password to create one with.
    pub async fn make_superuser(
        &self,
        email: &str,
        password: Option<String>,
    ) -> Result<(UserId, bool), AccountError> {
        let email = parse_email(email)?;
        let promoted: Option<UserId> = sqlx::query_scalar(
            "UPDATE users SET is_superuser = true, is_staff = true, is_active = true WHERE email = $1 RETURNING user_id",
        )
        .bind(email.as_str())
        .fetch_optional(&self.db)
        .await?;
        if let Some(user) = promoted {
            self.forget_checks_of(user);
            return Ok((user, false));
        }
        let Some(password) = password else { return Err(AccountError::NotFound) };
        check_policy(&password, "password")?;
        let hash = self.hasher.hash(password).await?;
        let user = sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, is_superuser, is_staff) VALUES ($1, $2, true, true)
             RETURNING user_id",
        )
        .bind(email.as_str())
        .bind(hash)
        .fetch_one(&self.db)
        .await?;
        Ok((user, true))
    }
}
