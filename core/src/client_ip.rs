//! Which IP address a request comes from, for rate limits and session records.
//!
//! The socket's peer address, unless the operator runs their own proxies and lists them in
//! `TRUSTED_PROXIES` (SECURITY.md 41). Then, for a request whose peer is one of those proxies, the
//! forwarding header (`TRUSTED_PROXY_HEADER`, default `X-Forwarded-For`) is read right to left,
//! skipping the trusted hops; the first address that is not one of ours is the client. A request
//! from anywhere else is its peer, whatever headers it forged.

use std::net::IpAddr;

use http::{HeaderMap, HeaderName};
use ipnet::IpNet;

/// Where the client address comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientIpSource {
    /// The TCP peer (no proxy in front, or none we trust).
    Peer,
    /// Behind our own proxies: the header they set, believed only from them.
    Proxies {
        /// The forwarding header, e.g. `x-forwarded-for`.
        header: HeaderName,
        /// Our proxies' networks.
        trusted: Vec<IpNet>,
    },
}

/// Why the proxy settings cannot be used: the variable, its value and what it should hold.
pub type ProxySettingError = (&'static str, String, &'static str);

impl ClientIpSource {
    /// Parses `TRUSTED_PROXIES` (comma-separated CIDRs or addresses) and `TRUSTED_PROXY_HEADER`:
    /// neither set means [`ClientIpSource::Peer`]. A header without proxies is refused, since a
    /// header believed from every peer lets any client pick its own address.
    ///
    /// # Errors
    /// The variable that is wrong, its value and what it should hold.
    pub fn from_settings(proxies: Option<&str>, header: Option<&str>) -> Result<Self, ProxySettingError> {
        let Some(list) = proxies else {
            return match header {
                None => Ok(Self::Peer),
                Some(name) => Err((
                    "TRUSTED_PROXY_HEADER",
                    name.to_owned(),
                    "set only together with TRUSTED_PROXIES, the addresses of the proxies that set it \
                     (e.g. TRUSTED_PROXIES=10.0.0.0/8)",
                )),
            };
        };
        let trusted = list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| entry.parse::<IpNet>().or_else(|_| entry.parse::<IpAddr>().map(IpNet::from)))
            .collect::<Result<Vec<_>, _>>()
            .ok()
            .filter(|nets| !nets.is_empty())
            .ok_or_else(|| {
                (
                    "TRUSTED_PROXIES",
                    list.to_owned(),
                    "comma-separated addresses or CIDRs, e.g. 10.0.0.0/8,::1",
                )
            })?;
        let header = HeaderName::from_bytes(
            header.unwrap_or("x-forwarded-for").trim().to_ascii_lowercase().as_bytes(),
        )
        .map_err(|_| {
            (
                "TRUSTED_PROXY_HEADER",
                header.unwrap_or_default().to_owned(),
                "an HTTP header name, e.g. X-Forwarded-For",
            )
        })?;
        Ok(Self::Proxies { header, trusted })
    }

    fn trusts(trusted: &[IpNet], ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer` with `headers`. From an untrusted peer,
    /// the peer. From a trusted proxy, the header's addresses right to left (every line of it, in
    /// order), skipping trusted hops; an entry that does not parse ends the walk at the last
    /// trusted hop (the header left of it is the client's to forge), as does a header made only of
    /// trusted hops.
    #[must_use]
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let Self::Proxies { header, trusted } = self else { return peer };
        if !Self::trusts(trusted, peer) {
            return peer;
        }
        let mut client = peer;
        let lines: Vec<&str> =
            headers.get_all(header).iter().filter_map(|value| value.to_str().ok()).collect();
        for entry in lines.iter().rev().flat_map(|line| line.rsplit(',')) {
            let Some(hop) = parse_ip(entry.trim()) else { return client };
            client = hop;
            if !Self::trusts(trusted, hop) {
                return hop;
            }
        }
        client
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

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    const PROXY: &str = "10.0.0.5";

    fn behind(proxies: &str) -> ClientIpSource {
        ClientIpSource::from_settings(Some(proxies), None).unwrap()
    }

    #[test]
    fn without_trusted_proxies_forwarded_headers_are_ignored() {
        let source = ClientIpSource::from_settings(None, None).unwrap();
        let forged = headers(&[("x-forwarded-for", "198.51.100.1"), ("x-real-ip", "198.51.100.2")]);
        assert_eq!(source.client_ip(ip(PROXY), &forged), ip(PROXY));
    }

    #[test]
    fn a_forged_header_from_a_peer_outside_the_trusted_proxies_changes_nothing() {
        let source = behind("10.0.0.0/8");
        let forged = headers(&[("x-forwarded-for", "198.51.100.1")]);
        assert_eq!(source.client_ip(ip("203.0.113.50"), &forged), ip("203.0.113.50"));
        assert_eq!(source.client_ip(ip(PROXY), &forged), ip("198.51.100.1"));
    }

    #[test]
    fn the_header_is_read_right_to_left_skipping_trusted_hops() {
        let source = behind("10.0.0.0/8, 192.0.2.7");
        // client-forged, real client, our edge proxy, our inner proxy
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 192.0.2.7, 10.1.1.1")]);
        assert_eq!(source.client_ip(ip(PROXY), &h), ip("203.0.113.9"));
        // A client-sent line followed by the proxy's own line: lines are read last first.
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(source.client_ip(ip(PROXY), &h), ip("203.0.113.9"));
        // Garbage left of a trusted hop ends the walk at that hop.
        let h = headers(&[("x-forwarded-for", "unknown, 10.1.1.1")]);
        assert_eq!(source.client_ip(ip(PROXY), &h), ip("10.1.1.1"));
        // Nothing but trusted hops, or no header: the last trusted address seen.
        assert_eq!(source.client_ip(ip(PROXY), &headers(&[("x-forwarded-for", "10.9.9.9")])), ip("10.9.9.9"));
        assert_eq!(source.client_ip(ip(PROXY), &HeaderMap::new()), ip(PROXY));
    }

    #[test]
    fn ipv6_proxies_ports_and_brackets_are_understood() {
        let source = ClientIpSource::from_settings(Some("::1, fd00::/8"), Some("X-Real-IP")).unwrap();
        for (value, expected) in [
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("203.0.113.9:5000", "203.0.113.9"),
        ] {
            assert_eq!(source.client_ip(ip("::1"), &headers(&[("x-real-ip", value)])), ip(expected));
        }
        assert_eq!(
            source.client_ip(ip("fd00::7"), &headers(&[("x-real-ip", "2001:db8::9")])),
            ip("2001:db8::9")
        );
        // IPv4 proxies match their IPv4-mapped IPv6 form too.
        let source = behind("127.0.0.1");
        let h = headers(&[("x-forwarded-for", "2001:db8::1")]);
        assert_eq!(source.client_ip(ip("::ffff:127.0.0.1"), &h), ip("2001:db8::1"));
    }

    #[test]
    fn bad_settings_are_refused_with_the_variable_named() {
        assert_eq!(
            ClientIpSource::from_settings(None, Some("X-Forwarded-For")).unwrap_err().0,
            "TRUSTED_PROXY_HEADER"
        );
        assert_eq!(
            ClientIpSource::from_settings(Some("10.0.0.0/33"), None).unwrap_err().0,
            "TRUSTED_PROXIES"
        );
        assert_eq!(
            ClientIpSource::from_settings(Some("proxy.local"), None).unwrap_err().0,
            "TRUSTED_PROXIES"
        );
        assert_eq!(ClientIpSource::from_settings(Some(" , "), None).unwrap_err().0, "TRUSTED_PROXIES");
        let err = ClientIpSource::from_settings(Some("10.0.0.1"), Some("not a header")).unwrap_err();
        assert_eq!(err.0, "TRUSTED_PROXY_HEADER");
    }
}
