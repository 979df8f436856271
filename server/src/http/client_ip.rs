//! Which IP address a request comes from, for rate limits and session records.
//!
//! The socket's peer address, unless the operator named a header that their own proxy sets
//! (`TRUSTED_PROXY_HEADER`). Only then is a header believed, so a client cannot pick its own
//! address with a forged `X-Forwarded-For` to dodge a rate limit.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderName};

/// Where the client address comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientIpSource {
    /// The TCP peer (no proxy in front, or none we trust).
    Peer,
    /// A header our proxy sets. For a list header like `X-Forwarded-For`, the last entry is the
    /// one our proxy appended; anything before it came from the client and is ignored.
    Header(HeaderName),
}

impl ClientIpSource {
    /// Parses `TRUSTED_PROXY_HEADER`: unset means [`ClientIpSource::Peer`].
    #[must_use]
    pub fn from_setting(header: Option<&str>) -> Option<Self> {
        match header {
            None => Some(Self::Peer),
            Some(name) => {
                HeaderName::from_bytes(name.trim().to_ascii_lowercase().as_bytes()).ok().map(Self::Header)
            }
        }
    }

    /// The client's address for a request from `peer` with `headers`. A missing or malformed
    /// trusted header falls back to the peer (which is then the proxy itself: safe, if coarse).
    #[must_use]
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let Self::Header(name) = self else { return peer };
        headers
            .get_all(name)
            .iter()
            .next_back()
            .and_then(|value| value.to_str().ok())
            .and_then(|list| list.rsplit(',').next())
            .and_then(|entry| parse_ip(entry.trim()))
            .unwrap_or(peer)
    }
}

/// An address as proxies write it: bare, or IPv6 in brackets, possibly with a port.
fn parse_ip(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    if let Ok(socket) = text.parse::<std::net::SocketAddr>() {
        return Some(socket.ip());
    }
    text.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).and_then(|inner| inner.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        map
    }

    const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 5));

    #[test]
    fn without_a_trusted_header_forwarded_headers_are_ignored() {
        let source = ClientIpSource::from_setting(None).unwrap();
        let forged = headers(&[("x-forwarded-for", "198.51.100.1"), ("x-real-ip", "198.51.100.2")]);
        assert_eq!(source.client_ip(PEER, &forged), PEER);
    }

    #[test]
    fn the_last_entry_of_the_trusted_header_wins_over_client_supplied_ones() {
        let source = ClientIpSource::from_setting(Some("X-Forwarded-For")).unwrap();
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9")]);
        assert_eq!(source.client_ip(PEER, &h), "203.0.113.9".parse::<IpAddr>().unwrap());
        // A client-sent header line followed by the proxy's own line: the proxy's counts.
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(source.client_ip(PEER, &h), "203.0.113.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn ipv6_ports_and_garbage_are_handled() {
        let source = ClientIpSource::from_setting(Some("x-real-ip")).unwrap();
        for (value, expected) in [
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("203.0.113.9:5000", "203.0.113.9"),
        ] {
            assert_eq!(
                source.client_ip(PEER, &headers(&[("x-real-ip", value)])),
                expected.parse::<IpAddr>().unwrap()
            );
        }
        assert_eq!(source.client_ip(PEER, &headers(&[("x-real-ip", "unknown")])), PEER);
        assert_eq!(source.client_ip(PEER, &HeaderMap::new()), PEER);
    }

    #[test]
    fn an_invalid_header_name_is_refused() {
        assert_eq!(ClientIpSource::from_setting(Some("not a header")), None);
    }
}
