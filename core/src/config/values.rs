//! The value types of the configuration: each parses or holds one setting, and those holding
//! secrets never print them.

use std::fmt;

/// Bytes a JWT signing key must have at least (HS256 wants a key as long as its output).
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Where the server runs; development relaxes some rules and says so in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// A developer's machine: generated secrets and the embedded database are allowed.
    Development,
    /// Anything users reach: every secret and the database must be configured explicitly.
    Production,
}

impl Environment {
    /// Whether this is [`Environment::Development`].
    #[must_use]
    pub fn is_development(self) -> bool {
        self == Self::Development
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, one line per event.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Which PostgreSQL server to use.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseSource {
    /// An external server named by `DATABASE_URL`.
    Url(String),
    /// The private cluster in the data folder (see [`crate::db::embedded`]).
    Embedded,
    /// Production without `DATABASE_URL`: this process holds only the application role's URL,
    /// so it never migrates; it starts only on a database a migration job already brought up to
    /// date (the Helm chart's `database.appRoleOnly`).
    AppRoleOnly,
}

/// How the application's own (unprivileged) database role is reached.
#[derive(Clone, PartialEq, Eq)]
pub enum AppDatabase {
    /// `DATABASE_APP_URL`: a role the operator created; the server only grants it table access.
    Url(String),
    /// Development: the server creates `pingvas_app` itself with this generated password.
    Managed {
        /// The role's password.
        password: String,
    },
}

impl fmt::Debug for AppDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(_) => f.write_str("Url([redacted])"),
            Self::Managed { .. } => f.write_str("Managed([redacted])"),
        }
    }
}

impl fmt::Debug for DatabaseSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A URL may carry a password: never print it.
        match self {
            Self::Url(_) => f.write_str("Url([redacted])"),
            Self::Embedded => f.write_str("Embedded"),
            Self::AppRoleOnly => f.write_str("AppRoleOnly"),
        }
    }
}

/// The key that signs access tokens. Its `Debug` output never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct JwtSecret(Vec<u8>);

impl JwtSecret {
    /// Wraps raw key bytes.
    #[must_use]
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The key bytes, for the token signer only.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JwtSecret([redacted; {} bytes])", self.0.len())
    }
}

/// A 256-bit key for authenticated encryption at rest. Its `Debug` output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKey([u8; 32]);

impl EncryptionKey {
    /// Parses 64 hexadecimal characters.
    #[must_use]
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = hex::decode(text).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    /// The key bytes, for the cipher only.
    #[must_use]
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey([redacted])")
    }
}

/// The address users reach the app at, as configured in `PUBLIC_URL` (no trailing slash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(pub(super) String);

impl PublicUrl {
    /// Accepts an absolute `http://` or `https://` URL with a host.
    pub(super) fn parse(raw: &str) -> Option<Self> {
        let trimmed = raw.trim().trim_end_matches('/');
        let rest = trimmed.strip_prefix("https://").or_else(|| trimmed.strip_prefix("http://"))?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        (!host.is_empty() && !rest.contains(['?', '#', ' '])).then(|| Self(trimmed.to_owned()))
    }

    /// Whether users reach the app over TLS (then HSTS is sent and cookies are `Secure`).
    #[must_use]
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// `scheme://host[:port]`, as browsers send it in the `Origin` header.
    #[must_use]
    pub fn origin(&self) -> &str {
        let after_scheme = self.0.find("://").map_or(0, |i| i + 3);
        match self.0[after_scheme..].find('/') {
            Some(slash) => &self.0[..after_scheme + slash],
            None => &self.0,
        }
    }

    /// The URL as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A PostgreSQL schema name we create and put in `search_path`: lower-case letters, digits and
/// `_`, starting with a letter, never a system schema. Quoting is then unnecessary, but still done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbSchema(String);

impl Default for DbSchema {
    fn default() -> Self {
        Self("public".to_owned())
    }
}

impl DbSchema {
    /// A valid schema name, or `None`.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        let name = raw.trim();
        let valid = (1..=40).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !name.starts_with("pg_")
            && name != "information_schema";
        valid.then(|| Self(name.to_owned()))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is PostgreSQL's default `public` schema.
    #[must_use]
    pub fn is_public(&self) -> bool {
        self.0 == "public"
    }
}
