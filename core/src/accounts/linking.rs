//! Signing in with a provider: which account a provider identity belongs to, exactly as
//! SECURITY.md 15–18 require, and the database work that follows.
//!
//! Accounts are found by (provider, subject) first, so a changed email at the provider still
//! reaches the same user (18). An identity is linked to an existing account by email only when
//! the provider verified that email (15, 16); claiming an account whose email was never verified
//! removes its password and signs out its sessions, because whoever set that password may not
//! own the address (17).

use sqlx::PgConnection;

use super::{
    AccountError, Accounts, SignedInSession,
    sessions::{self, ClientContext, Revoke},
};
use crate::{
    config::Provider,
    oauth::identity::{ProviderIdentity, ProviderTokens},
};
use contract::ids::UserId;

/// Why a provider sign-in was refused; each reads as advice to the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    /// The provider has not verified the account's email.
    #[error("Your email address is not verified with that provider. Verify it there, then try again.")]
    UnverifiedEmail,
    /// The provider shared no email.
    #[error("That provider did not share an email address; allow access to your email and try again.")]
    NoEmail,
    /// The account is deactivated.
    #[error("This account is deactivated.")]
    AccountDisabled,
    /// The account with this email already has another account of this provider linked.
    #[error("This email's account is already linked to a different account of that provider.")]
    ProviderAlreadyLinked,
}

impl LinkRefusal {
    /// A stable code for URLs and clients.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::UnverifiedEmail => "unverified_email",
            Self::NoEmail => "no_email",
            Self::AccountDisabled => "account_disabled",
            Self::ProviderAlreadyLinked => "provider_already_linked",
        }
    }
}

/// The account already linked to this (provider, subject).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct IdentityOwner {
    /// Its user.
    pub user_id: UserId,
    /// Whether that user may sign in.
    pub is_active: bool,
}

/// The account that has the identity's email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct EmailOwner {
    /// Its user.
    pub user_id: UserId,
    /// Whether its email was verified (by a provider).
    pub email_verified: bool,
    /// Whether that user may sign in.
    pub is_active: bool,
    /// Whether it already has an identity of this provider (another subject).
    pub has_this_provider: bool,
}

/// What to do with a provider sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPlan {
    /// The identity is known: sign its user in.
    SignIn(UserId),
    /// Link the identity to the account with its email; `claim` when that account's email was
    /// unverified (remove its password, end its sessions, mark the email verified).
    Link {
        /// The account.
        user: UserId,
        /// Whether the account is being claimed.
        claim: bool,
    },
    /// A new account.
    Create,
}

/// Decides a provider sign-in (pure, so each rule is unit tested).
///
/// # Errors
/// A [`LinkRefusal`].
pub fn plan(
    identity: &ProviderIdentity,
    by_subject: Option<IdentityOwner>,
    by_email: Option<EmailOwner>,
) -> Result<LinkPlan, LinkRefusal> {
    // Discord's unverified emails are never trusted for anything, not even a known identity.
    if identity.provider == Provider::Discord && !identity.email_verified {
        return Err(LinkRefusal::UnverifiedEmail);
    }
    if let Some(owner) = by_subject {
        return if owner.is_active {
            Ok(LinkPlan::SignIn(owner.user_id))
        } else {
            Err(LinkRefusal::AccountDisabled)
        };
    }
    if identity.email.is_none() {
        return Err(LinkRefusal::NoEmail);
    }
    if !identity.email_verified {
        return Err(LinkRefusal::UnverifiedEmail);
    }
    match by_email {
        Some(owner) if !owner.is_active => Err(LinkRefusal::AccountDisabled),
        Some(owner) if owner.has_this_provider => Err(LinkRefusal::ProviderAlreadyLinked),
        Some(owner) => Ok(LinkPlan::Link { user: owner.user_id, claim: !owner.email_verified }),
        None => Ok(LinkPlan::Create),
    }
}

impl Accounts {
    /// Signs in (linking or creating the account as [`plan`] decides) with an identity the
    /// provider vouched for, storing its tokens sealed.
    ///
    /// # Errors
    /// [`AccountError::ProviderRefused`] as [`plan`] decides; database failures.
    pub async fn sign_in_with_provider(
        &self,
        identity: &ProviderIdentity,
        tokens: &ProviderTokens,
        client: &ClientContext,
    ) -> Result<SignedInSession, AccountError> {
        let provider = identity.provider.as_str();
        let sealed_access = self.seal(identity, "access", Some(&tokens.access_token))?;
        let sealed_refresh = self.seal(identity, "refresh", tokens.refresh_token.as_deref())?;

        let mut tx = self.db().begin().await?;
        let by_subject: Option<IdentityOwner> = sqlx::query_as(
            "SELECT u.user_id, u.is_active FROM user_identities i JOIN users u ON u.user_id = i.user_id
             WHERE i.provider = $1 AND i.subject = $2 FOR UPDATE OF u",
        )
        .bind(provider)
        .bind(&identity.subject)
        .fetch_optional(&mut *tx)
        .await?;
        let by_email: Option<EmailOwner> = match &identity.email {
            Some(email) if by_subject.is_none() => {
                sqlx::query_as(
                    "SELECT u.user_id, u.email_verified, u.is_active,
                            EXISTS (SELECT 1 FROM user_identities i
                                    WHERE i.user_id = u.user_id AND i.provider = $2) AS has_this_provider
                     FROM users u WHERE u.email = $1 FOR UPDATE",
                )
                .bind(email)
                .bind(provider)
                .fetch_optional(&mut *tx)
                .await?
            }
            _ => None,
        };
        let decision = plan(identity, by_subject, by_email).map_err(|refusal| {
            tracing::warn!(provider, reason = refusal.code(), "provider sign-in refused");
            AccountError::ProviderRefused(refusal)
        })?;

        let user = match decision {
            LinkPlan::SignIn(user) => user,
            LinkPlan::Link { user, claim } => {
                if claim {
                    claim_unverified_account(&mut tx, user, self.keys().lifetime_seconds()).await?;
                }
                sqlx::query("UPDATE users SET email_verified = true WHERE user_id = $1")
                    .bind(user)
                    .execute(&mut *tx)
                    .await?;
                insert_identity(&mut tx, user, identity).await?;
                tracing::info!(%user, provider, claimed = claim, "provider identity linked");
                user
            }
            LinkPlan::Create => {
                let user: UserId = sqlx::query_scalar(
                    "INSERT INTO users (email, email_verified, full_name, avatar_url, oauth_provider, oauth_id)
                     VALUES ($1, true, $2, $3, $4, $5) RETURNING user_id",
                )
                .bind(&identity.email)
                .bind(identity.name.as_deref().map(|n| n.chars().take(100).collect::<String>()))
                .bind(identity.avatar_url.as_deref().filter(|u| u.len() <= 2048))
                .bind(provider)
                .bind(&identity.subject)
                .fetch_one(&mut *tx)
                .await?;
                insert_identity(&mut tx, user, identity).await?;
                tracing::info!(%user, provider, "account created with a provider");
                user
            }
        };

        // The identity's latest details and tokens; the account's avatar and latest tokens.
        sqlx::query(
            "UPDATE user_identities SET email = $3, email_verified = $4, access_token = $5,
                    refresh_token = COALESCE($6, refresh_token), last_login_at = now()
             WHERE provider = $1 AND subject = $2",
        )
        .bind(provider)
        .bind(&identity.subject)
        .bind(&identity.email)
        .bind(identity.email_verified)
        .bind(&sealed_access)
        .bind(&sealed_refresh)
        .execute(&mut *tx)
        .await?;
        let email: String = sqlx::query_scalar(
            "UPDATE users SET avatar_url = COALESCE($2, avatar_url), oauth_access_token = $3,
                    oauth_refresh_token = COALESCE($4, oauth_refresh_token), last_login_at = now()
             WHERE user_id = $1 RETURNING email",
        )
        .bind(user)
        .bind(identity.avatar_url.as_deref().filter(|u| u.len() <= 2048))
        .bind(&sealed_access)
        .bind(&sealed_refresh)
        .fetch_one(&mut *tx)
        .await?;

        let tokens = self.start_session(&mut tx, user, &email, client).await?;
        let profile = super::profile::load(&mut tx, user).await?;
        tx.commit().await?;
        // Linking may have verified the address or ended the sessions of a claimed account.
        self.forget_checks_of(user);
        tracing::info!(%user, provider, "signed in with a provider");
        Ok(SignedInSession { tokens, user: profile })
    }

    /// A provider token sealed for storage, bound to its provider, subject and kind.
    fn seal(
        &self,
        identity: &ProviderIdentity,
        kind: &str,
        token: Option<&str>,
    ) -> Result<Option<Vec<u8>>, AccountError> {
        token
            .map(|token| {
                let context = provider_token_context(identity.provider, &identity.subject, kind);
                self.cipher()
                    .seal(token, context.as_bytes())
                    .map_err(|e| AccountError::Internal(e.to_string()))
            })
            .transpose()
    }
}

/// The associated data a provider token is sealed with: a sealed token copied to another row or
/// column does not open.
#[must_use]
pub fn provider_token_context(provider: Provider, subject: &str, kind: &str) -> String {
    format!("provider-token:{provider}:{subject}:{kind}")
}

async fn insert_identity(
    conn: &mut PgConnection,
    user: UserId,
    identity: &ProviderIdentity,
) -> Result<(), AccountError> {
    sqlx::query("INSERT INTO user_identities (user_id, provider, subject) VALUES ($1, $2, $3)")
        .bind(user)
        .bind(identity.provider.as_str())
        .bind(&identity.subject)
        .execute(conn)
        .await?;
    Ok(())
}

/// SECURITY.md 17: the verified owner of the email takes over an account whose email nobody had
/// verified; the password someone set on it goes, and so do its sessions.
async fn claim_unverified_account(
    conn: &mut PgConnection,
    user: UserId,
    access_token_seconds: i64,
) -> Result<(), AccountError> {
    sqlx::query("UPDATE users SET password_hash = NULL WHERE user_id = $1")
        .bind(user)
        .execute(&mut *conn)
        .await?;
    let ended = sessions::revoke(conn, user, Revoke::All, access_token_seconds).await?;
    tracing::warn!(%user, sessions_ended = ended, "unverified account claimed by a verified provider login");
    Ok(())
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn identity(provider: Provider, verified: bool) -> ProviderIdentity {
        ProviderIdentity {
            provider,
            subject: "sub-1".into(),
            email: Some("ada@example.com".into()),
            email_verified: verified,
            name: None,
            avatar_url: None,
        }
    }

    fn user() -> UserId {
        UserId(Uuid::from_u128(7))
    }

    fn email_owner(email_verified: bool) -> EmailOwner {
        EmailOwner { user_id: user(), email_verified, is_active: true, has_this_provider: false }
    }

    #[test]
    fn a_known_identity_signs_its_user_in_whatever_email_it_now_has() {
        let mut changed = identity(Provider::Google, true);
        changed.email = Some("new-address@example.com".into());
        let owner = IdentityOwner { user_id: user(), is_active: true };
        assert_eq!(plan(&changed, Some(owner), None), Ok(LinkPlan::SignIn(user())));
        // Google's unverified flag does not undo an identity linked earlier...
        assert_eq!(plan(&identity(Provider::Google, false), Some(owner), None), Ok(LinkPlan::SignIn(user())));
        // ...but a deactivated user stays out.
        let inactive = IdentityOwner { is_active: false, ..owner };
        assert_eq!(plan(&changed, Some(inactive), None), Err(LinkRefusal::AccountDisabled));
    }

    #[test]
    fn unverified_emails_never_link_and_unverified_discord_never_signs_in() {
        let existing = Some(email_owner(true));
        assert_eq!(
            plan(&identity(Provider::Google, false), None, existing),
            Err(LinkRefusal::UnverifiedEmail)
        );
        assert_eq!(plan(&identity(Provider::Google, false), None, None), Err(LinkRefusal::UnverifiedEmail));
        let owner = IdentityOwner { user_id: user(), is_active: true };
        assert_eq!(
            plan(&identity(Provider::Discord, false), Some(owner), None),
            Err(LinkRefusal::UnverifiedEmail)
        );
        assert_eq!(
            plan(&identity(Provider::Discord, false), None, existing),
            Err(LinkRefusal::UnverifiedEmail)
        );
    }

    #[test]
    fn verified_emails_link_claiming_unverified_accounts_or_create_new_ones() {
        let google = identity(Provider::Google, true);
        assert_eq!(
            plan(&google, None, Some(email_owner(true))),
            Ok(LinkPlan::Link { user: user(), claim: false })
        );
        assert_eq!(
            plan(&google, None, Some(email_owner(false))),
            Ok(LinkPlan::Link { user: user(), claim: true })
        );
        assert_eq!(plan(&google, None, None), Ok(LinkPlan::Create));
        let linked_elsewhere = EmailOwner { has_this_provider: true, ..email_owner(true) };
        assert_eq!(plan(&google, None, Some(linked_elsewhere)), Err(LinkRefusal::ProviderAlreadyLinked));
        let no_email = ProviderIdentity { email: None, ..google };
        assert_eq!(plan(&no_email, None, None), Err(LinkRefusal::NoEmail));
    }
}
