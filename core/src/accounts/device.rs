//! A readable name for a signed-in device ("Firefox on Linux"), derived from its user agent so
//! people can recognise their sessions on the account page.

/// Longest user agent kept with a session; longer ones are cut (they are only informative).
pub const MAX_USER_AGENT_CHARS: usize = 512;

/// "Browser on System", or whichever half is recognisable, or `None`.
#[must_use]
pub fn describe_device(user_agent: &str) -> Option<String> {
    // Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .into_iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(browser), Some(system)) => Some(format!("{browser} on {system}")),
        (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
        (None, None) => None,
    }
}

/// The user agent as stored: trimmed, at most [`MAX_USER_AGENT_CHARS`] characters, none if empty.
#[must_use]
pub fn stored_user_agent(user_agent: Option<&str>) -> Option<String> {
    let trimmed = user_agent?.trim();
    (!trimmed.is_empty()).then(|| trimmed.chars().take(MAX_USER_AGENT_CHARS).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_browsers_are_named_with_their_system() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
                "Chrome on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36 Edg/130.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox on macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
                "Safari on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            ("curl/8.5.0", "curl"),
        ];
        for (agent, expected) in cases {
            assert_eq!(describe_device(agent).as_deref(), Some(expected), "{agent}");
        }
        assert_eq!(describe_device("some-script/1.0"), None);
    }

    #[test]
    fn stored_user_agents_are_trimmed_and_bounded() {
        assert_eq!(stored_user_agent(None), None);
        assert_eq!(stored_user_agent(Some("  ")), None);
        assert_eq!(stored_user_agent(Some(" curl/8 ")).as_deref(), Some("curl/8"));
        assert_eq!(stored_user_agent(Some(&"é".repeat(600))).unwrap().chars().count(), MAX_USER_AGENT_CHARS);
    }
}
