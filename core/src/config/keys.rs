//! `JWT_SECRET_KEY` and `TOKEN_ENCRYPTION_KEY`: required in production; in development a
//! random key is generated once into the data folder (through the caller's function, so parsing
//! stays pure) and a warning says so.

use std::path::Path;

use super::{ConfigError, EncryptionKey, Environment, JwtSecret, MIN_JWT_SECRET_BYTES};
use crate::secrets::DevelopmentSecret;

/// The warning logged when development generates a secret.
fn generated_secret_warning(variable: &str, which: DevelopmentSecret, data_dir: &Path) -> String {
    format!(
        "{variable} is not set: using a random development key kept in {}; set {variable} in production",
        which.path(data_dir).display()
    )
}

/// The access-token signing key and the key that seals provider tokens.
///
/// # Errors
/// A missing key in production, a short JWT key in production, a malformed encryption key, or
/// a development key that cannot be made.
pub(super) fn parse(
    var: &impl Fn(&str) -> Option<String>,
    environment: Environment,
    data_dir: &Path,
    development_secret: &mut impl FnMut(&Path, DevelopmentSecret) -> Result<String, ConfigError>,
    warnings: &mut Vec<String>,
) -> Result<(JwtSecret, EncryptionKey), ConfigError> {
    let jwt_secret = match var("JWT_SECRET_KEY") {
        Some(key) if key.len() >= MIN_JWT_SECRET_BYTES => JwtSecret::new(key.into_bytes()),
        Some(key) if environment.is_development() => {
            warnings.push(format!(
                "JWT_SECRET_KEY is only {} bytes; accepted in development, refused in production \
                 (at least {MIN_JWT_SECRET_BYTES} bytes)",
                key.len()
            ));
            JwtSecret::new(key.into_bytes())
        }
        Some(key) => return Err(ConfigError::JwtSecretTooShort { length: key.len() }),
        None if environment.is_development() => {
            let hex = development_secret(data_dir, DevelopmentSecret::JwtSigningKey)?;
            warnings.push(generated_secret_warning(
                "JWT_SECRET_KEY",
                DevelopmentSecret::JwtSigningKey,
                data_dir,
            ));
            JwtSecret::new(hex.into_bytes())
        }
        None => {
            return Err(ConfigError::MissingInProduction {
                variable: "JWT_SECRET_KEY",
                why: "access tokens must be signed with a stable secret key",
            });
        }
    };

    let token_encryption_key = match var("TOKEN_ENCRYPTION_KEY") {
        Some(raw) => EncryptionKey::from_hex(raw.trim()).ok_or(ConfigError::Invalid {
            variable: "TOKEN_ENCRYPTION_KEY",
            value: "[redacted]".into(),
            expected: "64 hexadecimal characters, i.e. 32 bytes (generate with `openssl rand -hex 32`)",
        })?,
        None if environment.is_development() => {
            let hex = development_secret(data_dir, DevelopmentSecret::TokenEncryptionKey)?;
            warnings.push(generated_secret_warning(
                "TOKEN_ENCRYPTION_KEY",
                DevelopmentSecret::TokenEncryptionKey,
                data_dir,
            ));
            EncryptionKey::from_hex(&hex).ok_or(ConfigError::DevelopmentSecret {
                path: DevelopmentSecret::TokenEncryptionKey.path(data_dir),
                source: std::io::Error::other("not 64 hexadecimal characters"),
            })?
        }
        None => {
            return Err(ConfigError::MissingInProduction {
                variable: "TOKEN_ENCRYPTION_KEY",
                why: "sign-in providers' tokens are stored encrypted with it",
            });
        }
    };
    Ok((jwt_secret, token_encryption_key))
}
