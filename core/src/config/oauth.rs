//! Sign-in providers' settings: a provider is offered only when both its client id and secret
//! are set. Every endpoint is configurable, so tests (and self-hosted identity providers) can
//! stand in for Google's and Discord's.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// A sign-in provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Google, with OpenID Connect.
    Google,
    /// Discord, with OAuth 2.0 and its user endpoint.
    Discord,
}

impl Provider {
    /// Both providers.
    pub const ALL: [Self; 2] = [Self::Google, Self::Discord];

    /// The lower-case name used in paths, the database and the session.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Google => "google",
            Self::Discord => "discord",
        }
    }

    /// The provider a path segment names.
    #[must_use]
    pub fn from_path(segment: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == segment)
    }

    /// The name people read.
    #[must_use]
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Google => "Google",
            Self::Discord => "Discord",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One provider's client registration and endpoints.
#[derive(Clone)]
pub struct ProviderSettings {
    /// `<P>_CLIENT_ID`.
    pub client_id: String,
    /// `<P>_CLIENT_SECRET`.
    pub client_secret: String,
    /// `<P>_AUTH_URL`: where the browser is sent to consent.
    pub auth_url: String,
    /// `<P>_TOKEN_URL`: where the code is exchanged.
    pub token_url: String,
    /// `<P>_USERINFO_URL`: the user endpoint (Discord's `/users/@me`).
    pub userinfo_url: String,
    /// `GOOGLE_JWKS_URL`: the ID-token signing keys (Google only).
    pub jwks_url: String,
    /// `GOOGLE_ISSUER`: the ID token's `iss` (Google only).
    pub issuer: String,
}

impl fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("auth_url", &self.auth_url)
            .field("token_url", &self.token_url)
            .field("userinfo_url", &self.userinfo_url)
            .field("jwks_url", &self.jwks_url)
            .field("issuer", &self.issuer)
            .finish()
    }
}

/// The configured providers.
#[derive(Debug, Clone, Default)]
pub struct OAuthSettings {
    /// Google, if configured.
    pub google: Option<ProviderSettings>,
    /// Discord, if configured.
    pub discord: Option<ProviderSettings>,
}

impl OAuthSettings {
    /// The settings of `provider`, if it is offered.
    #[must_use]
    pub fn get(&self, provider: Provider) -> Option<&ProviderSettings> {
        match provider {
            Provider::Google => self.google.as_ref(),
            Provider::Discord => self.discord.as_ref(),
        }
    }
}

/// The client id and secret variables.
fn credential_variables(provider: Provider) -> (&'static str, &'static str) {
    match provider {
        Provider::Google => ("GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"),
        Provider::Discord => ("DISCORD_CLIENT_ID", "DISCORD_CLIENT_SECRET"),
    }
}

/// The endpoint variables (auth, token, userinfo, JWKS, issuer) with the public defaults.
fn endpoint_variables(provider: Provider) -> [(&'static str, &'static str); 5] {
    match provider {
        Provider::Google => [
            ("GOOGLE_AUTH_URL", "https://accounts.google.com/o/oauth2/v2/auth"),
            ("GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token"),
            ("GOOGLE_USERINFO_URL", "https://openidconnect.googleapis.com/v1/userinfo"),
            ("GOOGLE_JWKS_URL", "https://www.googleapis.com/oauth2/v3/certs"),
            ("GOOGLE_ISSUER", "https://accounts.google.com"),
        ],
        Provider::Discord => [
            ("DISCORD_AUTH_URL", "https://discord.com/oauth2/authorize"),
            ("DISCORD_TOKEN_URL", "https://discord.com/api/oauth2/token"),
            ("DISCORD_USERINFO_URL", "https://discord.com/api/users/@me"),
            // Discord has no ID tokens.
            ("DISCORD_JWKS_URL", ""),
            ("DISCORD_ISSUER", ""),
        ],
    }
}

/// Reads both providers' settings.
///
/// # Errors
/// Half a client registration (id without secret or the reverse), or an endpoint that is not
/// an absolute http(s) URL (https outside development).
pub fn parse(var: &impl Fn(&str) -> Option<String>, development: bool) -> Result<OAuthSettings, ConfigError> {
    let mut settings = OAuthSettings::default();
    for provider in Provider::ALL {
        let (id_var, secret_var) = credential_variables(provider);
        let parsed = match (var(id_var), var(secret_var)) {
            (None, None) => None,
            (Some(client_id), Some(client_secret)) => {
                let [auth, token, userinfo, jwks, issuer] = endpoint_variables(provider)
                    .map(|(name, default)| (name, var(name).unwrap_or_else(|| default.to_owned())));
                for (name, value) in [auth.clone(), token.clone(), userinfo.clone(), jwks.clone()] {
                    let scheme_ok =
                        value.starts_with("https://") || (development && value.starts_with("http://"));
                    if !(value.is_empty() || scheme_ok) {
                        return Err(ConfigError::Invalid {
                            variable: name,
                            value,
                            expected: "an absolute https:// URL (http:// is accepted in development)",
                        });
                    }
                }
                Some(ProviderSettings {
                    client_id: client_id.trim().to_owned(),
                    client_secret: client_secret.trim().to_owned(),
                    auth_url: auth.1,
                    token_url: token.1,
                    userinfo_url: userinfo.1,
                    jwks_url: jwks.1,
                    issuer: issuer.1,
                })
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(ConfigError::Invalid {
                    variable: id_var,
                    value: String::new(),
                    expected: "set together with its _CLIENT_SECRET (or leave both unset to hide this provider)",
                });
            }
        };
        match provider {
            Provider::Google => settings.google = parsed,
            Provider::Discord => settings.discord = parsed,
        }
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse_vars(vars: &[(&str, &str)], development: bool) -> Result<OAuthSettings, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        parse(&|name| map.get(name).cloned(), development)
    }

    #[test]
    fn providers_are_offered_only_with_both_id_and_secret() {
        let none = parse_vars(&[], true).unwrap();
        assert!(none.google.is_none() && none.discord.is_none());
        let google =
            parse_vars(&[("GOOGLE_CLIENT_ID", "id"), ("GOOGLE_CLIENT_SECRET", "s3cret")], true).unwrap();
        let settings = google.get(Provider::Google).unwrap();
        assert_eq!(settings.issuer, "https://accounts.google.com");
        assert!(google.get(Provider::Discord).is_none());
        assert!(!format!("{settings:?}").contains("s3cret"));
        let err = parse_vars(&[("DISCORD_CLIENT_ID", "id")], true).unwrap_err();
        assert!(err.to_string().starts_with("DISCORD_CLIENT_ID"), "{err}");
    }

    #[test]
    fn endpoints_can_point_elsewhere_but_only_over_https_in_production() {
        let vars = [
            ("DISCORD_CLIENT_ID", "id"),
            ("DISCORD_CLIENT_SECRET", "secret"),
            ("DISCORD_TOKEN_URL", "http://127.0.0.1:9000/token"),
        ];
        let settings = parse_vars(&vars, true).unwrap();
        assert_eq!(settings.discord.unwrap().token_url, "http://127.0.0.1:9000/token");
        let err = parse_vars(&vars, false).unwrap_err();
        assert!(err.to_string().starts_with("DISCORD_TOKEN_URL"), "{err}");
    }
}
