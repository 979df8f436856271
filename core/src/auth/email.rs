//! Email addresses as accounts are keyed by: trimmed, lower-cased, plausibly shaped. Parsed
//! once at the edge ("parse, don't validate"), so core code only ever sees a valid [`Email`].

use std::fmt;

use thiserror::Error;

/// Longest address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// A normalised email address.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Why an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Enter a valid email address, like name@example.com.")]
pub struct InvalidEmail;

impl Email {
    /// Normalises and checks `raw`: one `@`, a non-empty local part, a dotted domain of letters,
    /// digits and hyphens, no spaces or control characters, at most [`MAX_EMAIL_LEN`] bytes.
    ///
    /// Lower-casing the local part is not strictly RFC 5321, but every provider we sign in with
    /// treats addresses case-insensitively, and two accounts differing only in case would be a
    /// trap.
    ///
    /// # Errors
    /// [`InvalidEmail`].
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        // Length first: a megabyte of input is refused before it costs a copy.
        if raw.trim().len() > MAX_EMAIL_LEN {
            return Err(InvalidEmail);
        }
        let email = raw.trim().to_lowercase();
        if email.len() > MAX_EMAIL_LEN || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(InvalidEmail);
        }
        let (local, domain) = email.split_once('@').ok_or(InvalidEmail)?;
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local.is_empty()
            || local.len() > 64
            || local.contains(['@', '"', '<', '>', '(', ')', ',', ';', ':'])
            || !domain_ok
        {
            return Err(InvalidEmail);
        }
        Ok(Self(email))
    }

    /// The normalised address.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ada.Lovelace+pingvas@Example.COM ").unwrap().as_str(),
            "ada.lovelace+pingvas@example.com"
        );
        assert_eq!(Email::parse("펭귄@예시.한국").unwrap().as_str(), "펭귄@예시.한국");
    }

    #[test]
    fn malformed_addresses_are_refused() {
        let too_long = format!("{}@example.com", "a".repeat(250));
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "ada@exa mple.com",
            "ada lovelace@example.com",
            "ada@-example.com",
            "ada@example..com",
            "ada@exam\nple.com",
            "\"ada\"@example.com",
            "ada@example.com<script>",
            too_long.as_str(),
        ] {
            assert_eq!(Email::parse(bad), Err(InvalidEmail), "{bad:?}");
        }
    }
}
