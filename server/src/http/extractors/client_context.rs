//! Who is on the other end of a request: the client's IP address (the socket peer's, or the
//! trusted proxy's header) and its user agent.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{Extensions, HeaderMap, header::USER_AGENT, request::Parts},
};

use crate::http::AppState;
use pingvas_core::accounts::ClientContext;

/// The client's IP address. Served with connect info, the peer is always known; a router used
/// without it (some tests) shares one unspecified address rather than going unlimited.
#[must_use]
pub fn client_ip(state: &AppState, extensions: &Extensions, headers: &HeaderMap) -> IpAddr {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    state.config.client_ip_source.client_ip(peer, headers)
}

impl FromRequestParts<AppState> for ClientContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self {
            ip: client_ip(state, &parts.extensions, &parts.headers),
            user_agent: parts.headers.get(USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
        })
    }
}
