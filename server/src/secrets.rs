//! Secrets the server generates for itself in development and keeps in the data folder.

use std::{
    fs,
    io::{self, Write},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use crate::config::JwtSecret;

/// Random bytes in a generated development key (hex-encoded on disk).
const DEVELOPMENT_KEY_BYTES: usize = 64;

/// Where the development JWT key is kept.
#[must_use]
pub fn development_jwt_secret_path(data_dir: &Path) -> PathBuf {
    data_dir.join("jwt-secret")
}

/// Returns the development JWT key, creating it (owner-only permissions) on first use, so that
/// tokens stay valid across restarts.
///
/// # Errors
/// The data folder cannot be created, or the key file cannot be read or written.
pub fn development_jwt_secret(data_dir: &Path) -> io::Result<JwtSecret> {
    let path = development_jwt_secret_path(data_dir);
    match fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 2 * crate::config::MIN_JWT_SECRET_BYTES => {
            return Ok(JwtSecret::new(text.trim().as_bytes().to_vec()));
        }
        Ok(_) => {} // Truncated or empty: replace it.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs::create_dir_all(data_dir)?;
    let key = random_hex(DEVELOPMENT_KEY_BYTES)?;
    let mut file = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path)?;
    file.write_all(key.as_bytes())?;
    Ok(JwtSecret::new(key.into_bytes()))
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn development_secret_is_created_once_private_and_then_reused() {
        let dir = std::env::temp_dir().join(format!("pingvas-secret-{}", random_hex(8).unwrap()));
        let first = development_jwt_secret(&dir).unwrap();
        let second = development_jwt_secret(&dir).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.expose().len(), 2 * DEVELOPMENT_KEY_BYTES);
        let mode = fs::metadata(development_jwt_secret_path(&dir)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::remove_dir_all(&dir).unwrap();
    }
}
