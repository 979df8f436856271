//! What a server function knows on the server: the core's services (provided as Leptos context
//! by the server) and the request it is answering. The UI's server functions call the core
//! through this, exactly as the REST handlers do, with the same cookie and Origin rules.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::ConnectInfo;
use contract::{account::SignedIn, error::UiError};
use http::{
    HeaderMap, HeaderValue,
    header::{ORIGIN, RETRY_AFTER, SET_COOKIE, USER_AGENT},
};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use pingvas_core::{
    Core,
    accounts::{ClientContext, CurrentUser, SignedInSession},
    auth::cookie::{clear_refresh_cookie, origin_allowed, read_refresh_cookie, set_refresh_cookie},
};

/// The core the server provided to this request.
///
/// # Errors
/// `Failed` when the server did not provide it (a misconfigured router).
pub fn core() -> Result<Core, UiError> {
    use_context::<Core>().ok_or_else(|| UiError::Failed("The server is not set up for this.".into()))
}

/// The core and the user whose in-memory access token this is.
///
/// # Errors
/// `Unauthenticated` for a missing, expired or revoked token.
pub async fn signed_in(access_token: &str) -> Result<(Core, CurrentUser), UiError> {
    let core = core()?;
    let user = core.accounts.authenticate(access_token).await?;
    Ok((core, user))
}

/// The request being answered: its headers (cookie, Origin, user agent, proxy header) and peer.
#[derive(Debug)]
pub struct Call {
    /// The core's services.
    pub core: Core,
    headers: HeaderMap,
    peer: Option<SocketAddr>,
}

impl Call {
    /// The current request.
    ///
    /// # Errors
    /// `Failed` when the request cannot be read or the core is missing.
    pub async fn current() -> Result<Self, UiError> {
        let core = core()?;
        let headers: HeaderMap =
            leptos_axum::extract().await.map_err(|e| UiError::Failed(format!("reading the request: {e}")))?;
        let peer = leptos_axum::extract::<ConnectInfo<SocketAddr>>().await.ok().map(|info| info.0);
        Ok(Self { core, headers, peer })
    }

    /// Who is calling, as rate limits and session records see them.
    #[must_use]
    pub fn client(&self) -> ClientContext {
        let peer = self.peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.ip());
        ClientContext {
            ip: self.core.config.client_ip_source.client_ip(peer, &self.headers),
            user_agent: self.headers.get(USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
        }
    }

    /// Refuses a request from another site. Sign-in, refresh, sign-out and deletion take plain
    /// form posts: without this, another site could sign a visitor into an account of its choosing
    /// (login CSRF) or act with their cookie.
    ///
    /// # Errors
    /// 403 for a foreign or missing Origin.
    pub fn check_origin(&self) -> Result<(), UiError> {
        let config = &self.core.config;
        if origin_allowed(&self.headers, &config.public_url, &config.cors_allowed_origins) {
            Ok(())
        } else {
            tracing::warn!(origin = ?self.headers.get(ORIGIN), "UI request from a foreign origin refused");
            Err(UiError::Refused {
                status: 403,
                message: "This request must come from the PingvasAI app itself.".into(),
            })
        }
    }

    /// The user whose access token this is.
    ///
    /// # Errors
    /// `Unauthenticated` for a missing, expired or revoked token.
    pub async fn user(&self, access_token: &str) -> Result<CurrentUser, UiError> {
        Ok(self.core.accounts.authenticate(access_token).await?)
    }

    fn secure(&self) -> bool {
        self.core.config.public_url.is_https()
    }

    /// The refresh cookie's token, if the browser sent one.
    #[must_use]
    pub fn refresh_token(&self) -> Option<pingvas_core::auth::refresh_token::RefreshToken> {
        read_refresh_cookie(&self.headers, self.secure())
    }

    /// Sends the session's refresh cookie and returns what the page needs.
    #[must_use]
    pub fn sign_in(&self, session: SignedInSession) -> SignedIn {
        let (body, tokens) = session.into_body();
        set_cookie(&set_refresh_cookie(&tokens.refresh, tokens.refresh_max_age(), self.secure()));
        body
    }

    /// Clears the refresh cookie.
    pub fn sign_out(&self) {
        set_cookie(&clear_refresh_cookie(self.secure()));
    }
}

fn set_cookie(cookie: &str) {
    if let (Some(response), Ok(value)) = (use_context::<ResponseOptions>(), HeaderValue::from_str(cookie)) {
        response.append_header(SET_COOKIE, value);
    }
}

/// Sets the response's status from the result, so HTTP clients of server functions see 401, 403,
/// 404, 422 or 429 (with `Retry-After`, as the REST API sends it) rather than a generic 500, and
/// passes the result on.
pub fn answer<T>(result: Result<T, UiError>) -> Result<T, UiError> {
    let (Err(e), Some(response)) = (&result, use_context::<ResponseOptions>()) else { return result };
    if let Ok(status) = http::StatusCode::from_u16(e.status()) {
        response.set_status(status);
    }
    if let UiError::TooMany { retry_after_seconds, .. } = e {
        response.insert_header(RETRY_AFTER, HeaderValue::from((*retry_after_seconds).max(1)));
    }
    result
}

/// Runs `work` for the user whose access token this is, answering with the status of any
/// refusal: the shape of every server function that only needs to know who is asking.
///
/// # Errors
/// `Unauthenticated` for a bad token, else whatever `work` refuses, in the UI's terms.
pub async fn as_user<T, E>(
    access_token: &str,
    work: impl AsyncFnOnce(&Core, CurrentUser) -> Result<T, E>,
) -> Result<T, UiError>
where
    UiError: From<E>,
{
    answer(
        async {
            let (core, user) = signed_in(access_token).await?;
            Ok(work(&core, user).await?)
        }
        .await,
    )
}
