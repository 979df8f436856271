//! Who a provider says the user is, in one shape for Google and Discord.

use serde::Deserialize;

use crate::config::Provider;

/// A provider account as reported at sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderIdentity {
    /// Which provider.
    pub provider: Provider,
    /// Its stable account id (never the email, which can change).
    pub subject: String,
    /// The account's email, normalised to lower case.
    pub email: Option<String>,
    /// Whether the provider verified that email.
    pub email_verified: bool,
    /// Display name.
    pub name: Option<String>,
    /// Avatar URL.
    pub avatar_url: Option<String>,
}

/// The provider's tokens, stored sealed.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderTokens {
    /// Access token.
    pub access_token: String,
    /// Refresh token, when granted.
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for ProviderTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProviderTokens([redacted])")
    }
}

/// Discord's `GET /users/@me` (scopes `identify email`).
#[derive(Debug, Clone, Deserialize)]
pub struct DiscordUser {
    /// Snowflake id.
    pub id: String,
    /// Unique handle.
    pub username: String,
    /// Display name.
    pub global_name: Option<String>,
    /// Email (with the `email` scope).
    pub email: Option<String>,
    /// Whether Discord verified the email.
    pub verified: Option<bool>,
    /// Avatar hash.
    pub avatar: Option<String>,
}

impl From<DiscordUser> for ProviderIdentity {
    fn from(user: DiscordUser) -> Self {
        let avatar_url = user
            .avatar
            .as_deref()
            .filter(|hash| hash.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .map(|hash| format!("https://cdn.discordapp.com/avatars/{}/{hash}.png", user.id));
        Self {
            provider: Provider::Discord,
            email: user.email.map(|e| e.trim().to_lowercase()),
            email_verified: user.verified.unwrap_or(false),
            name: user.global_name.or(Some(user.username)),
            avatar_url,
            subject: user.id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discord_users_map_with_unverified_as_the_default() {
        let user: DiscordUser = serde_json::from_str(
            r#"{"id":"80351110224678912","username":"nelly","global_name":null,"email":"Nelly@Discord.com","avatar":"8342729096ea3675442027381ff50dfe"}"#,
        )
        .unwrap();
        let identity = ProviderIdentity::from(user);
        assert_eq!(identity.subject, "80351110224678912");
        assert_eq!(identity.email.as_deref(), Some("nelly@discord.com"));
        assert!(!identity.email_verified);
        assert_eq!(identity.name.as_deref(), Some("nelly"));
        assert_eq!(
            identity.avatar_url.as_deref(),
            Some("https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png")
        );
    }
}
