//! A small but real OAuth 2.0 / OpenID Connect provider for the integration tests, served over
//! HTTP on a random local port: a token endpoint that checks client credentials, redirect URI
//! and PKCE, an RS256-signed ID token, a JWKS endpoint and a Discord-shaped user endpoint.
//! Tests register what each authorization code should yield, including deliberately broken
//! answers (wrong audience, bad signature, a redirect from the token endpoint).

// A test fixture: it fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, LazyLock, Mutex},
};

use axum::{
    Form, Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::{RsaPrivateKey, pkcs1::EncodeRsaPrivateKey, traits::PublicKeyParts};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "test-client-id";
pub const CLIENT_SECRET: &str = "test-client-secret";
const KID: &str = "test-key-1";

/// One RSA key pair per test binary (generating one costs a noticeable fraction of a second).
static SIGNING_KEY: LazyLock<RsaPrivateKey> =
    LazyLock::new(|| RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA key generation"));
/// A key the provider does not publish, for forged signatures.
static FORGERY_KEY: LazyLock<RsaPrivateKey> =
    LazyLock::new(|| RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA key generation"));

/// What the token endpoint answers for one authorization code.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    /// The PKCE challenge the authorization request carried.
    pub code_challenge: String,
    /// The redirect URI the authorization request carried.
    pub redirect_uri: String,
    /// ID-token claims (Google); `None` for Discord.
    pub id_claims: Option<Value>,
    /// Sign the ID token with a key the provider does not publish.
    pub forge_signature: bool,
    /// The Discord user returned by `/users/@me`.
    pub discord_user: Option<Value>,
    /// Answer the token request with a 302 instead.
    pub redirect_instead: bool,
}

#[derive(Debug, Default)]
struct ProviderState {
    grants: HashMap<String, Grant>,
    access_tokens: HashMap<String, Value>,
    redirect_target_hits: u32,
    issued: u32,
}

/// A running provider.
#[derive(Debug, Clone)]
pub struct TestProvider {
    pub base: String,
    state: Arc<Mutex<ProviderState>>,
}

impl TestProvider {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(ProviderState::default()));
        let app = Router::new()
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .route("/users/@me", get(discord_me))
            .route("/internal-metadata", get(redirect_target))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base: format!("http://{address}"), state }
    }

    /// Environment variables that point the app's `provider` at this server.
    pub fn config_vars(&self, provider: &str) -> Vec<(String, String)> {
        let p = provider.to_uppercase();
        vec![
            (format!("{p}_CLIENT_ID"), CLIENT_ID.into()),
            (format!("{p}_CLIENT_SECRET"), CLIENT_SECRET.into()),
            (format!("{p}_AUTH_URL"), format!("{}/authorize", self.base)),
            (format!("{p}_TOKEN_URL"), format!("{}/token", self.base)),
            (format!("{p}_USERINFO_URL"), format!("{}/users/@me", self.base)),
            (format!("{p}_JWKS_URL"), format!("{}/jwks", self.base)),
            (format!("{p}_ISSUER"), self.base.clone()),
        ]
    }

    /// Registers what `code` yields.
    pub fn grant(&self, code: &str, grant: Grant) {
        self.state.lock().unwrap().grants.insert(code.to_owned(), grant);
    }

    /// Times the internal address a redirect pointed at was fetched (must stay 0).
    pub fn redirect_target_hits(&self) -> u32 {
        self.state.lock().unwrap().redirect_target_hits
    }

    /// Access tokens handed out so far.
    pub fn issued(&self) -> u32 {
        self.state.lock().unwrap().issued
    }

    /// Standard ID-token claims for `sub`, issued now by this provider for our client.
    pub fn id_claims(&self, sub: &str, email: &str, verified: bool, nonce: &str) -> Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        json!({
            "iss": self.base, "aud": CLIENT_ID, "sub": sub, "iat": now, "exp": now + 3600,
            "email": email, "email_verified": verified, "nonce": nonce,
            "name": "Ada Lovelace", "picture": "https://example.com/ada.png",
        })
    }
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({"error": error}))).into_response()
}

async fn token(
    State(state): State<Arc<Mutex<ProviderState>>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let expected = format!("Basic {}", STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}")));
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let Some(grant) = state.lock().unwrap().grants.remove(&code) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    if grant.redirect_instead {
        return Redirect::temporary("/internal-metadata").into_response();
    }
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.code_challenge {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let access_token = format!("provider-access-{}", uuid::Uuid::new_v4());
    let mut body = json!({
        "access_token": access_token, "token_type": "Bearer", "expires_in": 3600,
        "refresh_token": format!("provider-refresh-{}", uuid::Uuid::new_v4()),
    });
    if let Some(claims) = &grant.id_claims {
        let key = if grant.forge_signature { &*FORGERY_KEY } else { &*SIGNING_KEY };
        let der = key.to_pkcs1_der().unwrap();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KID.into());
        body["id_token"] =
            jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(der.as_bytes())).unwrap().into();
    }
    let mut state = state.lock().unwrap();
    state.issued += 1;
    if let Some(user) = grant.discord_user {
        state.access_tokens.insert(access_token, user);
    }
    Json(body).into_response()
}

async fn jwks() -> Json<Value> {
    let public = SIGNING_KEY.to_public_key();
    Json(json!({"keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID,
        "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
    }]}))
}

async fn discord_me(State(state): State<Arc<Mutex<ProviderState>>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match state.lock().unwrap().access_tokens.get(token) {
        Some(user) => Json(user.clone()).into_response(),
        None => oauth_error(StatusCode::UNAUTHORIZED, "invalid_token"),
    }
}

/// Stands for an internal address (cloud metadata, an admin port) a malicious redirect targets.
async fn redirect_target(State(state): State<Arc<Mutex<ProviderState>>>) -> Json<Value> {
    state.lock().unwrap().redirect_target_hits += 1;
    Json(json!({"access_token": "stolen", "token_type": "Bearer"}))
}
