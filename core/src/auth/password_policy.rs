//! What makes a password acceptable (OWASP ASVS V6, NIST SP 800-63B): long enough, not absurdly
//! long, not one of the most common passwords, and nothing else: no composition rules, any
//! Unicode allowed.

use std::{collections::HashSet, sync::LazyLock};

use thiserror::Error;

/// Fewest characters (Unicode scalar values) a password may have. Email/password accounts here
/// are password-only (no second factor), for which NIST SP 800-63B-4 asks for at least 15.
pub const MIN_PASSWORD_CHARS: usize = 15;

/// Most characters accepted; well past any passphrase, and it bounds the hashing work a single
/// request can ask for.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// The 10,000 most common passwords, lower-cased (see `core/data/README.md` for the source and
/// licence).
static COMMON_PASSWORDS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt").lines().map(str::to_lowercase).collect()
});

/// Why a password was refused; the message is meant for the person choosing it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PasswordRejection {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    #[error(
        "Use at least {MIN_PASSWORD_CHARS} characters; a few unrelated words make a strong, memorable password."
    )]
    TooShort,
    /// More than [`MAX_PASSWORD_CHARS`] characters.
    #[error("Use at most {MAX_PASSWORD_CHARS} characters.")]
    TooLong,
    /// On the common-password list (compared without regard to case).
    #[error("This password is one of the most common ones and easy to guess; choose another.")]
    TooCommon,
}

/// Checks a new password against the policy.
///
/// # Errors
/// The first rule it breaks, as a [`PasswordRejection`].
pub fn check_new_password(password: &str) -> Result<(), PasswordRejection> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordRejection::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PasswordRejection::TooLong);
    }
    if COMMON_PASSWORDS.contains(&password.to_lowercase()) {
        return Err(PasswordRejection::TooCommon);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_holds_ten_thousand_passwords_most_common_first() {
        let text = include_str!("../../data/common-passwords.txt");
        assert_eq!(text.lines().next(), Some("123456"));
        assert_eq!(text.lines().count(), 10_000);
        // 87 entries differ from another only in case.
        assert_eq!(COMMON_PASSWORDS.len(), 9_913);
    }

    #[test]
    fn short_passwords_are_refused_and_length_counts_characters_not_bytes() {
        assert_eq!(check_new_password("correct horse"), Err(PasswordRejection::TooShort));
        // 14 characters but 28 bytes: still too short.
        assert_eq!(check_new_password(&"é".repeat(14)), Err(PasswordRejection::TooShort));
        assert_eq!(check_new_password(&"é".repeat(15)), Ok(()));
    }

    #[test]
    fn long_and_unicode_passphrases_are_accepted_without_composition_rules() {
        assert_eq!(check_new_password(&"a quiet penguin walks ".repeat(3)), Ok(())); // 66 chars
        assert_eq!(check_new_password("펭귄이 눈밭을 천천히 걷는다 🐧"), Ok(()));
        assert_eq!(check_new_password("alllowercaseletters"), Ok(()));
        assert_eq!(check_new_password(&"x".repeat(MAX_PASSWORD_CHARS)), Ok(()));
        assert_eq!(check_new_password(&"x".repeat(MAX_PASSWORD_CHARS + 1)), Err(PasswordRejection::TooLong));
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        // One of the few entries long enough to pass the length rule, as listed and re-cased.
        for variant in ["Mailcreated5240", "mailcreated5240", "MAILCREATED5240"] {
            assert_eq!(check_new_password(variant), Err(PasswordRejection::TooCommon), "{variant}");
        }
    }

    #[test]
    fn messages_say_what_to_do() {
        assert!(PasswordRejection::TooShort.to_string().contains("at least 15 characters"));
    }
}
