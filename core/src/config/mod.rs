//! Configuration from environment variables (and an optional `.env`), validated once at start-up.
//!
//! Parsing is pure: [`Config::from_vars`] reads through a lookup function, so every rule is unit
//! tested without touching the process environment. The only I/O, creating a development JWT
//! secret, is passed in by the caller.

mod billing;
mod catalog;
mod keys;
mod limits;
mod mail;
mod oauth;
mod operations;
mod values;
mod worker;

use std::path::PathBuf;

use thiserror::Error;

pub(crate) use self::billing::is_provider_id;
pub use self::billing::{BillingSettings, Interval, Price};
pub use self::catalog::{CatalogEntry, STARTER_MODEL, default_catalog, starter_model_dir};
pub use self::limits::Limits;
pub use self::mail::{MailSettings, MailTransport};
pub use self::oauth::{OAuthSettings, Provider, ProviderSettings};
pub use self::operations::{MetricsToken, Operations};
pub use self::values::{
    AppDatabase, DatabaseSource, DbSchema, EncryptionKey, Environment, JwtSecret, LogFormat,
    MIN_JWT_SECRET_BYTES, PublicUrl,
};
pub use self::worker::WorkerSettings;
use crate::{client_ip::ClientIpSource, secrets::DevelopmentSecret};

/// Validated server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `PINGVAS_ENV`: `development` (default) or `production`.
    pub environment: Environment,
    /// `PINGVAS_DATA_DIR`: local state (embedded database, generated secrets). Default `.data`.
    pub data_dir: PathBuf,
    /// `PUBLIC_URL`: where users reach the app; default `http://127.0.0.1:3000` in development,
    /// required and `https://` in production.
    pub public_url: PublicUrl,
    /// `DATABASE_URL`, or the embedded cluster when unset (development only), or in production
    /// with only `DATABASE_APP_URL` set, no owner at all (the process never migrates).
    pub database: DatabaseSource,
    /// `DATABASE_APP_URL`: the unprivileged role requests run as (required in production); in
    /// development the server manages a `pingvas_app` role itself.
    pub app_database: AppDatabase,
    /// `DATABASE_MAX_CONNECTIONS`: pool size, 1–1000, default 10.
    pub database_max_connections: u32,
    /// `ACCESS_TOKEN_TTL_SECONDS`: lifetime of access tokens, 10–3600, default 900 (15 minutes).
    /// Tests shorten it to exercise silent refresh.
    pub access_token_seconds: i64,
    /// `AUTH_CHECK_CACHE_SECONDS`: how long an instance may answer for an access token it checked
    /// against the database without checking again, 0–60, default 30; 0 checks every request.
    /// Revocations reach every instance at once through `pingvas_auth` notifications; this is
    /// the bound on one that was lost.
    pub auth_check_cache_seconds: u64,
    /// `AUTH_RATE_LIMIT_PER_MINUTE`: login or register attempts per client IP and per email per
    /// minute, default 5.
    pub auth_attempts_per_minute: u32,
    /// `API_RATE_LIMIT_PER_MINUTE`: API requests per client IP per minute, default 100.
    pub api_requests_per_minute: u32,
    /// `CORS_ALLOWED_ORIGINS`: other origins whose scripts may call the API with credentials
    /// (comma-separated). The app's own origin never needs listing.
    pub cors_allowed_origins: Vec<String>,
    /// `JWT_SECRET_KEY`: at least [`MIN_JWT_SECRET_BYTES`] bytes outside development.
    pub jwt_secret: JwtSecret,
    /// `TOKEN_ENCRYPTION_KEY`: 32 bytes as 64 hex characters; encrypts provider tokens at rest.
    pub token_encryption_key: EncryptionKey,
    /// `TRUSTED_PROXIES` (our own proxies' CIDRs) and `TRUSTED_PROXY_HEADER` (the header they
    /// set, default `X-Forwarded-For`); unset means the socket's peer address is the client's.
    pub client_ip_source: ClientIpSource,
    /// `LOG_FORMAT`: `text` or `json`; default `text` in development, `json` in production.
    pub log_format: LogFormat,
    /// Sign-in providers (`GOOGLE_*`, `DISCORD_*`); unconfigured ones are hidden.
    pub oauth: OAuthSettings,
    /// `DB_SCHEMA`: the PostgreSQL schema the tables live in (default `public`). Each schema
    /// gets its own migration history and, in development, its own application role, so a `dev`
    /// and a `prod` schema in one database cannot read each other.
    pub db_schema: DbSchema,
    /// `MODEL_CATALOG`: the models people may choose and the plan each needs.
    pub models: Vec<contract::generation::ModelInfo>,
    /// The same catalog with each model's folder, for workers.
    pub catalog: Vec<CatalogEntry>,
    /// Workers and image storage.
    pub worker: WorkerSettings,
    /// Server-wide abuse limits (uploads, password hashing, rate-limiter keys).
    pub limits: Limits,
    /// `SMTP_URL` and `MAIL_FROM`: where verification and reset mail goes.
    pub mail: MailSettings,
    /// `STRIPE_*` and `BILLING_*`: subscriptions, when configured (`None`: billing is hidden).
    pub billing: Option<BillingSettings>,
    /// `METRICS_TOKEN`: how operators' tools observe the server.
    pub operations: Operations,
    /// Things worth a warning once logging is up (e.g. a generated secret).
    pub warnings: Vec<String>,
}

/// A configuration value that cannot be used, with the variable it came from.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// A variable holds a value outside its allowed set or range.
    #[error("{variable}={value:?} is not valid: {expected}")]
    Invalid {
        /// The environment variable.
        variable: &'static str,
        /// What it held.
        value: String,
        /// What it may hold.
        expected: &'static str,
    },
    /// `MODEL_CATALOG` is not a usable catalog.
    #[error(
        "MODEL_CATALOG is not valid: {why}. Expected a JSON array of {{\"name\", \"title\", \"min_plan\", \"path\"}} objects"
    )]
    InvalidCatalog {
        /// What is wrong with it.
        why: String,
    },
    /// A variable that this environment requires is missing.
    #[error("{variable} must be set in production: {why}")]
    MissingInProduction {
        /// The environment variable.
        variable: &'static str,
        /// Why it is required.
        why: &'static str,
    },
    /// The JWT secret is too short to be safe.
    #[error(
        "JWT_SECRET_KEY is {length} bytes long; it must be at least {MIN_JWT_SECRET_BYTES} bytes \
         (generate one with `openssl rand -hex 32`)"
    )]
    JwtSecretTooShort {
        /// The length it had.
        length: usize,
    },
    /// The development JWT secret could not be read or written.
    #[error("could not read or create the development JWT secret in {path}: {source}")]
    DevelopmentSecret {
        /// The file involved.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A whole number from `var`, `default` when unset, refused outside `range`.
pub(crate) fn bounded_number<T>(
    var: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
    expected: &'static str,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd,
{
    let Some(raw) = var(variable) else { return Ok(default) };
    match raw.trim().parse::<T>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ConfigError::Invalid { variable, value: raw, expected }),
    }
}

/// Comma-separated origins (`scheme://host[:port]`), normalised to lower case; `None` if any is
/// not an origin.
fn parse_origins(raw: &str) -> Option<Vec<String>> {
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let origin = origin.trim_end_matches('/').to_ascii_lowercase();
            let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"))?;
            let valid = !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
            valid.then_some(origin)
        })
        .collect()
}

impl Config {
    /// Builds the configuration from variables looked up with `var`.
    ///
    /// `development_secret` is called only in development, for a secret whose variable is unset;
    /// it returns the hex text of a persisted random key (see
    /// [`crate::secrets::development_secret`]).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable that is invalid or missing.
    pub fn from_vars(
        var: impl Fn(&str) -> Option<String>,
        mut development_secret: impl FnMut(&std::path::Path, DevelopmentSecret) -> Result<String, ConfigError>,
    ) -> Result<Self, ConfigError> {
        // Empty values count as unset, as in most shells' `VAR= cmd`.
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let mut warnings = Vec::new();

        let environment = match var("PINGVAS_ENV").as_deref().map(str::trim) {
            None | Some("development" | "dev") => Environment::Development,
            Some("production" | "prod") => Environment::Production,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    variable: "PINGVAS_ENV",
                    value: other.to_owned(),
                    expected: "`development` or `production`",
                });
            }
        };

        let data_dir = PathBuf::from(var("PINGVAS_DATA_DIR").unwrap_or_else(|| ".data".into()));

        let public_url = match var("PUBLIC_URL") {
            Some(raw) => PublicUrl::parse(&raw).ok_or(ConfigError::Invalid {
                variable: "PUBLIC_URL",
                value: raw,
                expected: "an absolute http:// or https:// URL, e.g. https://pingvas.example",
            })?,
            None if environment.is_development() => PublicUrl("http://127.0.0.1:3000".into()),
            None => {
                return Err(ConfigError::MissingInProduction {
                    variable: "PUBLIC_URL",
                    why: "it is the address users reach the app at",
                });
            }
        };
        if !environment.is_development() && !public_url.is_https() {
            return Err(ConfigError::Invalid {
                variable: "PUBLIC_URL",
                value: public_url.0,
                expected: "an https:// URL in production",
            });
        }

        let database = match var("DATABASE_URL") {
            Some(url) => DatabaseSource::Url(url),
            None if environment.is_development() => DatabaseSource::Embedded,
            // Web servers and workers that must not hold the owner's credentials.
            None if var("DATABASE_APP_URL").is_some() => DatabaseSource::AppRoleOnly,
            None => {
                return Err(ConfigError::MissingInProduction {
                    variable: "DATABASE_URL",
                    why: "the embedded database is for development only (a process that must not \
                          migrate may set DATABASE_APP_URL alone)",
                });
            }
        };

        let database_max_connections =
            bounded_number(&var, "DATABASE_MAX_CONNECTIONS", 10, 1..=1000, "a whole number from 1 to 1000")?;
        let access_token_seconds = bounded_number(
            &var,
            "ACCESS_TOKEN_TTL_SECONDS",
            900,
            10..=3600,
            "a whole number of seconds from 10 to 3600",
        )?;
        let auth_check_cache_seconds = bounded_number(
            &var,
            "AUTH_CHECK_CACHE_SECONDS",
            30,
            0..=60,
            "a whole number of seconds from 0 to 60",
        )?;
        let auth_attempts_per_minute = bounded_number(
            &var,
            "AUTH_RATE_LIMIT_PER_MINUTE",
            5,
            1..=100_000,
            "a whole number from 1 to 100000",
        )?;
        let api_requests_per_minute = bounded_number(
            &var,
            "API_RATE_LIMIT_PER_MINUTE",
            100,
            1..=1_000_000,
            "a whole number from 1 to 1000000",
        )?;
        let cors_allowed_origins = match var("CORS_ALLOWED_ORIGINS") {
            None => Vec::new(),
            Some(raw) => parse_origins(&raw).ok_or(ConfigError::Invalid {
                variable: "CORS_ALLOWED_ORIGINS",
                value: raw.clone(),
                expected: "comma-separated origins such as https://app.example,https://studio.example \
                           (scheme, host and optional port; no path)",
            })?,
        };

        let (jwt_secret, token_encryption_key) =
            keys::parse(&var, environment, &data_dir, &mut development_secret, &mut warnings)?;

        let app_database = match var("DATABASE_APP_URL") {
            Some(url) => AppDatabase::Url(url),
            None if environment.is_development() => AppDatabase::Managed {
                password: development_secret(&data_dir, DevelopmentSecret::AppRolePassword)?,
            },
            None => {
                return Err(ConfigError::MissingInProduction {
                    variable: "DATABASE_APP_URL",
                    why: "requests must run as a role that owns no table and is subject to row-level security",
                });
            }
        };

        let client_ip_source = ClientIpSource::from_settings(
            var("TRUSTED_PROXIES").as_deref(),
            var("TRUSTED_PROXY_HEADER").as_deref(),
        )
        .map_err(|(variable, value, expected)| ConfigError::Invalid { variable, value, expected })?;

        let log_format = match var("LOG_FORMAT").as_deref().map(str::trim) {
            None if environment.is_development() => LogFormat::Text,
            None => LogFormat::Json,
            Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    variable: "LOG_FORMAT",
                    value: other.to_owned(),
                    expected: "`text` or `json`",
                });
            }
        };

        let oauth = oauth::parse(&var, environment.is_development())?;

        let db_schema = match var("DB_SCHEMA") {
            None => DbSchema::default(),
            Some(raw) => DbSchema::parse(&raw).ok_or(ConfigError::Invalid {
                variable: "DB_SCHEMA",
                value: raw,
                expected: "a schema name of 1-40 characters from a-z, 0-9 and '_', starting with a letter, \
                           not pg_… or information_schema (e.g. dev or prod)",
            })?,
        };
        let catalog = match var("MODEL_CATALOG") {
            None => catalog::default_catalog(),
            Some(raw) => catalog::parse_catalog(&raw).map_err(|why| ConfigError::InvalidCatalog { why })?,
        };
        let models = catalog.iter().map(|entry| entry.info.clone()).collect();
        let worker = WorkerSettings::parse(&var)?;
        let limits = Limits::parse(&var)?;
        let mail = MailSettings::parse(&var, environment.is_development(), &data_dir)?;
        let billing = BillingSettings::parse(&var)?;
        let operations = Operations::parse(&var)?;

        Ok(Self {
            oauth,
            db_schema,
            models,
            catalog,
            worker,
            limits,
            mail,
            billing,
            operations,
            environment,
            data_dir,
            public_url,
            database,
            app_database,
            database_max_connections,
            access_token_seconds,
            auth_check_cache_seconds,
            auth_attempts_per_minute,
            api_requests_per_minute,
            cors_allowed_origins,
            jwt_secret,
            token_encryption_key,
            client_ip_source,
            log_format,
            warnings,
        })
    }

    /// Reads `.env` (if present) and the process environment.
    ///
    /// # Errors
    /// A [`ConfigError`] as for [`Config::from_vars`], or an unreadable development secret.
    pub fn from_process_env() -> Result<Self, ConfigError> {
        Self::from_vars(
            |name| std::env::var(name).ok(),
            |data_dir, which| {
                crate::secrets::development_secret(data_dir, which)
                    .map_err(|source| ConfigError::DevelopmentSecret { path: which.path(data_dir), source })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_vars(|name| map.get(name).cloned(), |_, which| Ok(fake_development_secret(which)))
    }

    const LONG_SECRET: &str = "0123456789abcdef0123456789abcdef";
    const ENCRYPTION_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    /// Stands in for the persisted development secrets: fixed hex of the right length.
    fn fake_development_secret(which: DevelopmentSecret) -> String {
        "7".repeat(2 * which.random_bytes())
    }

    #[test]
    fn db_schema_defaults_to_public_and_refuses_names_that_could_escape_it() {
        assert!(parse(&[]).unwrap().db_schema.is_public());
        assert_eq!(parse(&[("DB_SCHEMA", "dev")]).unwrap().db_schema.as_str(), "dev");
        for bad in ["Dev", "1dev", "pg_catalog", "information_schema", "dev;drop", "de\"v", &"a".repeat(41)] {
            let err = parse(&[("DB_SCHEMA", bad)]).unwrap_err();
            assert!(err.to_string().starts_with("DB_SCHEMA="), "{err}");
        }
    }

    #[test]
    fn the_model_catalog_defaults_to_the_starter_model_and_bad_catalogs_are_refused() {
        assert_eq!(parse(&[]).unwrap().models[0].name.as_str(), STARTER_MODEL);
        let err = parse(&[("MODEL_CATALOG", "[]")]).unwrap_err();
        assert!(err.to_string().starts_with("MODEL_CATALOG is not valid: the catalog is empty"), "{err}");
    }

    #[test]
    fn token_encryption_key_is_generated_in_development_and_required_as_32_hex_bytes_in_production() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.token_encryption_key.expose(), &[0x77; 32]);
        assert!(config.warnings.iter().any(|w| w.starts_with("TOKEN_ENCRYPTION_KEY is not set")));

        let config = parse(&[("TOKEN_ENCRYPTION_KEY", ENCRYPTION_KEY)]).unwrap();
        assert_eq!(config.token_encryption_key.expose()[..2], [0x00, 0x11]);
        for bad in ["short", &ENCRYPTION_KEY[..62], &format!("{ENCRYPTION_KEY}00"), &"zz".repeat(32)] {
            let err = parse(&[("TOKEN_ENCRYPTION_KEY", bad)]).unwrap_err();
            assert!(err.to_string().starts_with("TOKEN_ENCRYPTION_KEY="), "{err}");
            assert!(!err.to_string().contains(bad), "the key is never echoed: {err}");
        }

        let err = parse(&[
            ("PINGVAS_ENV", "production"),
            ("PUBLIC_URL", PUBLIC_URL),
            ("DATABASE_URL", "postgres://db/app"),
            ("JWT_SECRET_KEY", LONG_SECRET),
        ])
        .unwrap_err();
        assert!(err.to_string().starts_with("TOKEN_ENCRYPTION_KEY must be set in production"), "{err}");
    }
    const PUBLIC_URL: &str = "https://pingvas.example/";

    #[test]
    fn token_lifetime_and_rate_limits_default_to_the_specification_and_are_bounded() {
        let config = parse(&[]).unwrap();
        assert_eq!(
            (config.access_token_seconds, config.auth_attempts_per_minute, config.api_requests_per_minute),
            (900, 5, 100)
        );
        assert_eq!(config.auth_check_cache_seconds, 30);
        assert_eq!(parse(&[("AUTH_CHECK_CACHE_SECONDS", "0")]).unwrap().auth_check_cache_seconds, 0);
        let config = parse(&[
            ("ACCESS_TOKEN_TTL_SECONDS", "20"),
            ("AUTH_RATE_LIMIT_PER_MINUTE", "1000"),
            ("API_RATE_LIMIT_PER_MINUTE", "5000"),
        ])
        .unwrap();
        assert_eq!(
            (config.access_token_seconds, config.auth_attempts_per_minute, config.api_requests_per_minute),
            (20, 1000, 5000)
        );
        for (variable, bad) in [
            ("ACCESS_TOKEN_TTL_SECONDS", "5"),
            ("ACCESS_TOKEN_TTL_SECONDS", "86400"),
            ("API_RATE_LIMIT_PER_MINUTE", "0"),
            ("AUTH_CHECK_CACHE_SECONDS", "61"),
            ("AUTH_CHECK_CACHE_SECONDS", "-1"),
        ] {
            let err = parse(&[(variable, bad)]).unwrap_err();
            assert!(err.to_string().starts_with(variable), "{err}");
        }
    }

    #[test]
    fn cors_origins_are_a_list_of_bare_origins() {
        assert!(parse(&[]).unwrap().cors_allowed_origins.is_empty());
        let config =
            parse(&[("CORS_ALLOWED_ORIGINS", "https://Studio.example, http://localhost:5173/")]).unwrap();
        assert_eq!(config.cors_allowed_origins, ["https://studio.example", "http://localhost:5173"]);
        for bad in ["studio.example", "https://studio.example/path", "*", "https://a.example,ftp://b"] {
            assert!(parse(&[("CORS_ALLOWED_ORIGINS", bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn public_url_defaults_in_development_and_must_be_https_in_production() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.public_url.as_str(), "http://127.0.0.1:3000");
        assert!(!config.public_url.is_https());
        assert_eq!(
            parse(&[("PUBLIC_URL", PUBLIC_URL)]).unwrap().public_url.as_str(),
            "https://pingvas.example"
        );

        let production = [
            ("PINGVAS_ENV", "production"),
            ("DATABASE_URL", "postgres://db/app"),
            ("JWT_SECRET_KEY", LONG_SECRET),
        ];
        let err = parse(&production).unwrap_err();
        assert!(err.to_string().starts_with("PUBLIC_URL must be set in production"), "{err}");
        let err = parse(&[production.as_slice(), &[("PUBLIC_URL", "http://pingvas.example")]].concat())
            .unwrap_err();
        assert!(err.to_string().contains("https:// URL in production"), "{err}");
        for bad in ["pingvas.example", "ftp://x", "https://", "https://x/?a=b"] {
            assert!(parse(&[("PUBLIC_URL", bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_to_development_with_embedded_database_and_generated_secret() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.environment, Environment::Development);
        assert_eq!(config.database, DatabaseSource::Embedded);
        assert_eq!(config.jwt_secret, JwtSecret::new(vec![b'7'; 128]));
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.data_dir, PathBuf::from(".data"));
        assert!(config.warnings.iter().any(|w| w.contains("random development key")));
    }

    #[test]
    fn production_refuses_a_short_jwt_secret() {
        let err = parse(&[
            ("PINGVAS_ENV", "production"),
            ("PUBLIC_URL", PUBLIC_URL),
            ("DATABASE_URL", "postgres://db/app"),
            ("JWT_SECRET_KEY", "short"),
        ])
        .unwrap_err();
        assert!(matches!(err, ConfigError::JwtSecretTooShort { length: 5 }));
        assert!(err.to_string().contains("at least 32 bytes"));
    }

    #[test]
    fn production_requires_a_jwt_secret_and_a_database_url() {
        let err = parse(&[
            ("PINGVAS_ENV", "production"),
            ("PUBLIC_URL", PUBLIC_URL),
            ("DATABASE_URL", "postgres://db/app"),
        ])
        .unwrap_err();
        assert!(err.to_string().starts_with("JWT_SECRET_KEY must be set in production"));

        let err = parse(&[
            ("PINGVAS_ENV", "production"),
            ("PUBLIC_URL", PUBLIC_URL),
            ("JWT_SECRET_KEY", LONG_SECRET),
        ])
        .unwrap_err();
        assert!(err.to_string().starts_with("DATABASE_URL must be set in production"));
    }

    #[test]
    fn production_accepts_a_complete_configuration_and_logs_json() {
        let config = parse(&[
            ("PINGVAS_ENV", "production"),
            ("PUBLIC_URL", PUBLIC_URL),
            ("DATABASE_URL", "postgres://db/app"),
            ("DATABASE_APP_URL", "postgres://pingvas_app@db/app"),
            ("JWT_SECRET_KEY", LONG_SECRET),
            ("TOKEN_ENCRYPTION_KEY", ENCRYPTION_KEY),
            ("SMTP_URL", "smtps://mail.example:465"),
        ])
        .unwrap();
        assert!(config.public_url.is_https());
        assert_eq!(config.app_database, AppDatabase::Url("postgres://pingvas_app@db/app".into()));
        assert_eq!(config.jwt_secret.expose(), LONG_SECRET.as_bytes());
        assert_eq!(config.log_format, LogFormat::Json);
        assert!(config.warnings.is_empty());
    }

    #[test]
    fn production_with_only_the_application_role_never_holds_the_owner() {
        let config = parse(&[
            ("PINGVAS_ENV", "production"),
            ("PUBLIC_URL", PUBLIC_URL),
            ("DATABASE_APP_URL", "postgres://pingvas_app@db/app"),
            ("JWT_SECRET_KEY", LONG_SECRET),
            ("TOKEN_ENCRYPTION_KEY", ENCRYPTION_KEY),
            ("SMTP_URL", "smtps://mail.example:465"),
        ])
        .unwrap();
        assert_eq!(config.database, DatabaseSource::AppRoleOnly);
        // Development keeps its embedded cluster whatever else is set.
        let development = parse(&[("DATABASE_APP_URL", "postgres://pingvas_app@db/app")]).unwrap();
        assert_eq!(development.database, DatabaseSource::Embedded);
    }

    #[test]
    fn production_requires_the_application_role_and_development_manages_one() {
        let err = parse(&[
            ("PINGVAS_ENV", "production"),
            ("PUBLIC_URL", PUBLIC_URL),
            ("DATABASE_URL", "postgres://db/app"),
            ("JWT_SECRET_KEY", LONG_SECRET),
            ("TOKEN_ENCRYPTION_KEY", ENCRYPTION_KEY),
        ])
        .unwrap_err();
        assert!(err.to_string().starts_with("DATABASE_APP_URL must be set in production"), "{err}");
        assert!(matches!(parse(&[]).unwrap().app_database, AppDatabase::Managed { .. }));
        assert!(!format!("{:?}", parse(&[]).unwrap()).contains(&"7".repeat(16)), "the password is redacted");
    }

    #[test]
    fn development_accepts_a_short_secret_with_a_warning() {
        let config = parse(&[("JWT_SECRET_KEY", "short")]).unwrap();
        assert_eq!(config.jwt_secret.expose(), b"short");
        assert!(config.warnings[0].contains("refused in production"));
    }

    #[test]
    fn invalid_values_name_their_variable() {
        for (variable, value) in [
            ("PINGVAS_ENV", "staging"),
            ("DATABASE_MAX_CONNECTIONS", "0"),
            ("DATABASE_MAX_CONNECTIONS", "lots"),
            ("LOG_FORMAT", "xml"),
            ("TRUSTED_PROXY_HEADER", "not a header"),
            ("TRUSTED_PROXIES", "the usual ones"),
            ("UPLOAD_MAX_PIXELS", "-1"),
        ] {
            let err = parse(&[(variable, value)]).unwrap_err();
            assert!(err.to_string().starts_with(&format!("{variable}=")), "{err}");
        }
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let config = parse(&[("DATABASE_URL", "postgres://u:hunter2@db/app")]).unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("redacted"));
    }
}
