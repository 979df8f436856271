//! Messages for the reasons a sign-in can come back with (`/login?error=…`), and the rule for
//! where to go afterwards.

/// The sentence for an `error` code in the sign-in page's address.
#[must_use]
pub fn sign_in_error_message(code: &str) -> &'static str {
    match code {
        "oauth_cancelled" => "Sign-in was cancelled.",
        "oauth_failed" => "Signing in with that provider did not work. Please try again.",
        "unverified_email" => {
            "Your email address is not verified with that provider. Verify it there, then try again."
        }
        "no_email" => "That provider did not share your email address; allow access to it and try again.",
        "account_disabled" => "This account is deactivated.",
        "provider_already_linked" => {
            "This email's account is already linked to a different account of that provider."
        }
        "session" => "Your session has ended. Sign in again.",
        _ => "Signing in did not work. Please try again.",
    }
}

/// `next` if it is a path on this site, else `/` (mirrors the server's rule).
#[must_use]
pub fn safe_next(next: Option<String>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path
        }
        // Signed-in users land on the workspace.
        _ => "/generate".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next(Some("/account".into())), "/account");
        for bad in
            [None, Some("https://evil.example".into()), Some("//evil.example".into()), Some("/\\x".into())]
        {
            assert_eq!(safe_next(bad), "/generate");
        }
    }

    #[test]
    fn every_known_code_has_its_own_message() {
        let codes = [
            "oauth_cancelled",
            "oauth_failed",
            "unverified_email",
            "no_email",
            "account_disabled",
            "session",
        ];
        let messages: std::collections::HashSet<_> = codes.iter().map(|c| sign_in_error_message(c)).collect();
        assert_eq!(messages.len(), codes.len());
    }
}
