//! Sign-in with Google (OpenID Connect) and Discord (OAuth 2.0): the authorization-code flow with
//! PKCE S256, a one-time `state`, and for Google a `nonce` and full ID-token validation.
//!
//! [`OAuthService::start`] makes the authorization URL and the secrets the callback will need
//! (kept server-side by the HTTP edge); [`OAuthService::finish`] exchanges the code and returns
//! who the provider says the user is. Linking that identity to an account is the accounts core's
//! job (`Accounts::sign_in_with_provider`).

pub mod callback;
pub mod http_client;
pub mod id_token;
pub mod identity;
pub mod pending;
pub mod session_store;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use oauth2::{
    AuthUrl, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, StandardRevocableToken,
    StandardTokenResponse, TokenResponse, TokenUrl,
    basic::{
        BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
    },
};
use serde::{Deserialize, Serialize};

use self::{
    id_token::{JwksCache, validate_id_token},
    identity::{DiscordUser, ProviderIdentity, ProviderTokens},
    pending::{PendingAuthorization, safe_next},
};
use crate::config::{Config, OAuthSettings, Provider, ProviderSettings};

/// The `id_token` that OpenID Connect adds to the token response.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IdTokenField {
    /// Present for Google (scope `openid`).
    pub id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

type ProviderTokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;
type ProviderClient = Client<
    BasicErrorResponse,
    ProviderTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// Why a provider sign-in failed after its `state` was accepted.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The provider is not configured here.
    #[error("{0} sign-in is not configured")]
    NotConfigured(Provider),
    /// A configured URL is not a URL.
    #[error("invalid {0} endpoint URL: {1}")]
    BadEndpoint(Provider, String),
    /// The code exchange failed (including a redirect from the token endpoint).
    #[error("{0} token exchange failed: {1}")]
    TokenExchange(Provider, String),
    /// Google's ID token is missing or invalid.
    #[error("{0} ID token refused: {1}")]
    IdToken(Provider, String),
    /// The user endpoint failed.
    #[error("{0} user lookup failed: {1}")]
    UserInfo(Provider, String),
}

/// Random URL-safe text of `bytes` random bytes.
fn random_token(bytes: usize) -> Result<String, getrandom::Error> {
    let mut buffer = vec![0_u8; bytes];
    getrandom::fill(&mut buffer)?;
    Ok(URL_SAFE_NO_PAD.encode(buffer))
}

/// The configured providers and the machinery to talk to them.
#[derive(Debug)]
pub struct OAuthService {
    settings: OAuthSettings,
    public_url: String,
    http: reqwest::Client,
    google_keys: Option<JwksCache>,
}

impl OAuthService {
    /// The service for `config`'s providers.
    ///
    /// # Errors
    /// The HTTP client's TLS back end could not start.
    pub fn new(config: &Config) -> Result<Self, reqwest::Error> {
        Ok(Self {
            google_keys: config.oauth.google.as_ref().map(|g| JwksCache::new(g.jwks_url.clone())),
            settings: config.oauth.clone(),
            public_url: config.public_url.as_str().to_owned(),
            http: http_client::provider_http_client()?,
        })
    }

    /// Whether `provider` is offered.
    #[must_use]
    pub fn is_configured(&self, provider: Provider) -> bool {
        self.settings.get(provider).is_some()
    }

    fn settings(&self, provider: Provider) -> Result<&ProviderSettings, OAuthError> {
        self.settings.get(provider).ok_or(OAuthError::NotConfigured(provider))
    }

    /// Where the provider sends the browser back to.
    #[must_use]
    pub fn redirect_uri(&self, provider: Provider) -> String {
        format!("{}/api/v1/auth/{provider}/callback", self.public_url)
    }

    fn client(&self, provider: Provider) -> Result<ProviderClient, OAuthError> {
        let settings = self.settings(provider)?;
        let bad = |e: oauth2::url::ParseError| OAuthError::BadEndpoint(provider, e.to_string());
        Ok(Client::new(ClientId::new(settings.client_id.clone()))
            .set_client_secret(ClientSecret::new(settings.client_secret.clone()))
            .set_auth_uri(AuthUrl::new(settings.auth_url.clone()).map_err(bad)?)
            .set_token_uri(TokenUrl::new(settings.token_url.clone()).map_err(bad)?)
            .set_redirect_uri(RedirectUrl::new(self.redirect_uri(provider)).map_err(bad)?))
    }

    /// The URL to send the browser to, and what to keep for the callback. Every call makes a
    /// fresh `state`, PKCE pair and (for Google) `nonce`.
    ///
    /// # Errors
    /// The provider is not configured, or randomness failed.
    pub fn start(
        &self,
        provider: Provider,
        next: Option<&str>,
        now: i64,
    ) -> Result<(String, PendingAuthorization), OAuthError> {
        let client = self.client(provider)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(CsrfToken::new_random).set_pkce_challenge(challenge);
        let nonce = match provider {
            Provider::Google => {
                let nonce = random_token(32).map_err(|e| OAuthError::BadEndpoint(provider, e.to_string()))?;
                request = request
                    .add_scopes(["openid", "email", "profile"].map(|s| Scope::new(s.to_owned())))
                    .add_extra_param("nonce", nonce.clone())
                    // A refresh token, and the consent screen that grants it (seed documents).
                    .add_extra_param("access_type", "offline")
                    .add_extra_param("prompt", "consent");
                Some(nonce)
            }
            Provider::Discord => {
                request = request.add_scopes(["identify", "email"].map(|s| Scope::new(s.to_owned())));
                None
            }
        };
        let (url, state) = request.url();
        let pending = PendingAuthorization {
            provider,
            state: state.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            nonce,
            next: safe_next(next),
            issued_at: now,
        };
        Ok((url.to_string(), pending))
    }

    /// Exchanges `code` (with the PKCE verifier) and identifies the user: from Google's
    /// validated ID token, or from Discord's user endpoint.
    ///
    /// # Errors
    /// See [`OAuthError`].
    pub async fn finish(
        &self,
        pending: &PendingAuthorization,
        code: String,
    ) -> Result<(ProviderIdentity, ProviderTokens), OAuthError> {
        let provider = pending.provider;
        let settings = self.settings(provider)?;
        let response = self
            .client(provider)?
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| OAuthError::TokenExchange(provider, describe_token_error(&e)))?;
        let tokens = ProviderTokens {
            access_token: response.access_token().secret().clone(),
            refresh_token: response.refresh_token().map(|t| t.secret().clone()),
        };
        let identity = match provider {
            Provider::Google => self.google_identity(settings, pending, response.extra_fields()).await?,
            Provider::Discord => self.discord_identity(settings, &tokens.access_token).await?,
        };
        Ok((identity, tokens))
    }

    async fn google_identity(
        &self,
        settings: &ProviderSettings,
        pending: &PendingAuthorization,
        fields: &IdTokenField,
    ) -> Result<ProviderIdentity, OAuthError> {
        let refuse = |why: String| OAuthError::IdToken(Provider::Google, why);
        let token =
            fields.id_token.as_deref().ok_or_else(|| refuse("no id_token in the token response".into()))?;
        let nonce = pending.nonce.as_deref().ok_or_else(|| refuse("no nonce was sent".into()))?;
        let kid = jsonwebtoken::decode_header(token).ok().and_then(|h| h.kid);
        let cache = self.google_keys.as_ref().ok_or_else(|| refuse("no key set configured".into()))?;
        let keys = cache.keys(&self.http, kid.as_deref()).await.map_err(refuse)?;
        let claims = validate_id_token(token, &keys, &settings.client_id, &settings.issuer, nonce)
            .map_err(|e| refuse(e.to_string()))?;
        Ok(ProviderIdentity {
            provider: Provider::Google,
            subject: claims.sub,
            email: claims.email.map(|e| e.trim().to_lowercase()),
            email_verified: claims.email_verified,
            name: claims.name,
            avatar_url: claims.picture,
        })
    }

    async fn discord_identity(
        &self,
        settings: &ProviderSettings,
        access_token: &str,
    ) -> Result<ProviderIdentity, OAuthError> {
        let fail = |why: String| OAuthError::UserInfo(Provider::Discord, why);
        let response = self
            .http
            .get(&settings.userinfo_url)
            .bearer_auth(access_token)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !response.status().is_success() {
            return Err(fail(format!("answered {}", response.status())));
        }
        let user: DiscordUser = response.json().await.map_err(|e| fail(e.to_string()))?;
        Ok(user.into())
    }
}

/// A token-exchange error in words, without secrets.
fn describe_token_error<E: std::error::Error>(
    error: &oauth2::RequestTokenError<E, BasicErrorResponse>,
) -> String {
    match error {
        oauth2::RequestTokenError::ServerResponse(response) => format!("provider refused: {response}"),
        oauth2::RequestTokenError::Request(e) => format!("request failed: {e}"),
        oauth2::RequestTokenError::Parse(e, _) => {
            format!("unexpected response (a redirect or not JSON): {e}")
        }
        oauth2::RequestTokenError::Other(e) => e.clone(),
    }
}
