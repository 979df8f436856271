//! Secrets the server generates for itself in development and keeps in the data folder, so that
//! tokens and encrypted data stay valid across restarts. Production supplies them explicitly.

use std::{
    fs,
    io::{self, Write},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

/// A secret that development may generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevelopmentSecret {
    /// Signs access tokens (`JWT_SECRET_KEY`).
    JwtSigningKey,
    /// Encrypts provider tokens at rest (`TOKEN_ENCRYPTION_KEY`).
    TokenEncryptionKey,
    /// The password of the application's database role (`pingvas_app`).
    AppRolePassword,
}

impl DevelopmentSecret {
    /// The file in the data folder.
    #[must_use]
    pub fn path(self, data_dir: &Path) -> PathBuf {
        data_dir.join(match self {
            Self::JwtSigningKey => "jwt-secret",
            Self::TokenEncryptionKey => "token-encryption-key",
            Self::AppRolePassword => "app-role-password",
        })
    }

    /// Random bytes in the secret (stored hex-encoded, so twice as many characters).
    #[must_use]
    pub fn random_bytes(self) -> usize {
        match self {
            Self::JwtSigningKey => 64,
            Self::TokenEncryptionKey => 32,
            Self::AppRolePassword => 24,
        }
    }
}

/// Returns the hex text of a development secret, creating it (owner-only permissions) on first
/// use. A file that is not the expected hex is replaced.
///
/// # Errors
/// The data folder cannot be created, or the file cannot be read or written.
pub fn development_secret(data_dir: &Path, which: DevelopmentSecret) -> io::Result<String> {
    let path = which.path(data_dir);
    match fs::read_to_string(&path) {
        Ok(text) if is_hex_of_len(text.trim(), which.random_bytes()) => return Ok(text.trim().to_owned()),
        Ok(_) => {} // Truncated or edited: replace it.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs::create_dir_all(data_dir)?;
    let key = random_hex(which.random_bytes())?;
    let mut file = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path)?;
    file.write_all(key.as_bytes())?;
    Ok(key)
}

fn is_hex_of_len(text: &str, bytes: usize) -> bool {
    text.len() == 2 * bytes && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `bytes` random bytes from the operating system, hex-encoded.
///
/// # Errors
/// The operating system's random source failed.
pub fn random_hex(bytes: usize) -> io::Result<String> {
    let mut buf = vec![0_u8; bytes];
    getrandom::fill(&mut buf).map_err(io::Error::other)?;
    Ok(hex::encode(buf))
}

/// Byte-string comparison whose time does not depend on where the inputs differ (only on their
/// lengths), for secrets presented by a client.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn development_secrets_are_created_once_private_and_then_reused() {
        let dir = std::env::temp_dir().join(format!("pingvas-secret-{}", random_hex(8).unwrap()));
        for which in [DevelopmentSecret::JwtSigningKey, DevelopmentSecret::TokenEncryptionKey] {
            let first = development_secret(&dir, which).unwrap();
            let second = development_secret(&dir, which).unwrap();
            assert_eq!(first, second);
            assert_eq!(first.len(), 2 * which.random_bytes());
            let mode = fs::metadata(which.path(&dir)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let jwt = development_secret(&dir, DevelopmentSecret::JwtSigningKey).unwrap();
        assert_ne!(jwt, development_secret(&dir, DevelopmentSecret::TokenEncryptionKey).unwrap());

        // A damaged file is replaced by a valid one.
        fs::write(DevelopmentSecret::TokenEncryptionKey.path(&dir), "not hex").unwrap();
        let replaced = development_secret(&dir, DevelopmentSecret::TokenEncryptionKey).unwrap();
        assert!(is_hex_of_len(&replaced, 32));
        fs::remove_dir_all(&dir).unwrap();
    }
}
