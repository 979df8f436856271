//! The refresh-token cookie and the Origin check that guards cookie-authenticated requests
//! (SECURITY.md 28, 29).
//!
//! The cookie is `HttpOnly` (no script can read it), `SameSite=Strict`, scoped to the auth API's
//! path, host-only (no `Domain`), and `Secure` with the `__Secure-` prefix whenever users reach
//! the app over https. Only plain-http development drops `Secure` (and so the prefix, which
//! requires it).

use http::{HeaderMap, HeaderValue, header};

use super::refresh_token::RefreshToken;
use crate::config::PublicUrl;

/// Only the auth API receives the cookie.
pub const REFRESH_COOKIE_PATH: &str = "/api/v1/auth";

/// The cookie's name: prefixed when it is `Secure`.
#[must_use]
pub fn refresh_cookie_name(secure: bool) -> &'static str {
    if secure { "__Secure-pingvas_refresh" } else { "pingvas_refresh" }
}

/// `Set-Cookie` value carrying `token` for `max_age_seconds`.
#[must_use]
pub fn set_refresh_cookie(token: &RefreshToken, max_age_seconds: i64, secure: bool) -> String {
    refresh_cookie(token.expose(), max_age_seconds.max(0), secure)
}

/// `Set-Cookie` value that deletes the cookie.
#[must_use]
pub fn clear_refresh_cookie(secure: bool) -> String {
    refresh_cookie("", 0, secure)
}

fn refresh_cookie(value: &str, max_age_seconds: i64, secure: bool) -> String {
    let secure_attr = if secure { "; Secure" } else { "" };
    format!(
        "{}={value}; Path={REFRESH_COOKIE_PATH}; Max-Age={max_age_seconds}; HttpOnly; SameSite=Strict{secure_attr}",
        refresh_cookie_name(secure)
    )
}

/// The refresh token a request carries, if any.
#[must_use]
pub fn read_refresh_cookie(headers: &HeaderMap, secure: bool) -> Option<RefreshToken> {
    let name = refresh_cookie_name(secure);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| RefreshToken::from_client(value))
}

/// Whether a cookie-authenticated, state-changing request may proceed: its `Origin` must be the
/// app's own (or one of `extra_origins`, e.g. configured CORS origins). A request without `Origin`
/// is not from a browser's cross-site form or script (browsers send it on every POST), so
/// it is allowed; `null` and foreign origins are not.
#[must_use]
pub fn origin_allowed(headers: &HeaderMap, public_url: &PublicUrl, extra_origins: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    origin.eq_ignore_ascii_case(public_url.origin())
        || extra_origins.iter().any(|o| o.eq_ignore_ascii_case(origin))
}

/// A header value for `Set-Cookie` (the values built here are always valid header text).
#[must_use]
pub fn header_value(cookie: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(cookie).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn public_url(url: &str) -> PublicUrl {
        let vars = [("PUBLIC_URL", url)];
        Config::from_vars(
            |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()),
            |_, which| Ok("5".repeat(2 * which.random_bytes())),
        )
        .unwrap()
        .public_url
    }

    #[test]
    fn the_secure_cookie_is_prefixed_http_only_strict_path_scoped_and_host_only() {
        let token = RefreshToken::from_client("tok");
        let cookie = set_refresh_cookie(&token, 2_592_000, true);
        assert_eq!(
            cookie,
            "__Secure-pingvas_refresh=tok; Path=/api/v1/auth; Max-Age=2592000; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(!cookie.contains("Domain"));
        assert_eq!(
            clear_refresh_cookie(true),
            "__Secure-pingvas_refresh=; Path=/api/v1/auth; Max-Age=0; HttpOnly; SameSite=Strict; Secure"
        );
    }

    #[test]
    fn development_over_plain_http_drops_secure_and_the_prefix_only() {
        let cookie = set_refresh_cookie(&RefreshToken::from_client("tok"), 60, false);
        assert_eq!(cookie, "pingvas_refresh=tok; Path=/api/v1/auth; Max-Age=60; HttpOnly; SameSite=Strict");
    }

    #[test]
    fn the_cookie_is_read_back_by_its_own_name_only() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "theme=dark; __Secure-pingvas_refresh=abc; other=1".parse().unwrap());
        assert_eq!(read_refresh_cookie(&headers, true), Some(RefreshToken::from_client("abc")));
        assert_eq!(read_refresh_cookie(&headers, false), None);
        headers.insert(header::COOKIE, "__Secure-pingvas_refresh=".parse().unwrap());
        assert_eq!(read_refresh_cookie(&headers, true), None);
    }

    #[test]
    fn only_our_own_origin_or_a_configured_one_may_post_with_the_cookie() {
        let url = public_url("https://pingvas.example/app/");
        assert_eq!(url.origin(), "https://pingvas.example");
        let with_origin = |origin: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ORIGIN, origin.parse().unwrap());
            headers
        };
        assert!(origin_allowed(&with_origin("https://pingvas.example"), &url, &[]));
        assert!(!origin_allowed(&with_origin("https://evil.example"), &url, &[]));
        assert!(!origin_allowed(&with_origin("http://pingvas.example"), &url, &[]));
        assert!(!origin_allowed(&with_origin("null"), &url, &[]));
        assert!(origin_allowed(
            &with_origin("https://studio.example"),
            &url,
            &["https://studio.example".into()]
        ));
        assert!(origin_allowed(&HeaderMap::new(), &url, &[]));
        assert_eq!(public_url("http://127.0.0.1:3000").origin(), "http://127.0.0.1:3000");
    }
}
