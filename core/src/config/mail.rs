//! Where mail goes: an SMTP server (`SMTP_URL`), or in development a folder of `.eml` files with
//! each message's text also written to the log, so that links can be followed without a server.

use std::path::{Path, PathBuf};

use super::ConfigError;

/// How mail leaves.
#[derive(Clone, PartialEq, Eq)]
pub enum MailTransport {
    /// `SMTP_URL`: `smtp://host:port` (plain, for a local relay), `smtp://host:587?tls=required`
    /// (STARTTLS), `smtps://user:password@host:465` (implicit TLS).
    Smtp(String),
    /// Development without `SMTP_URL`: `.eml` files in this folder, and the text in the log.
    Folder(PathBuf),
}

impl std::fmt::Debug for MailTransport {
    // The URL may hold the SMTP password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Smtp(_) => f.write_str("Smtp([redacted])"),
            Self::Folder(dir) => f.debug_tuple("Folder").field(dir).finish(),
        }
    }
}

/// Mail settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    /// The transport.
    pub transport: MailTransport,
    /// `MAIL_FROM`: the sender, e.g. `PingvasAI <no-reply@pingvas.example>`.
    pub from: String,
}

impl MailSettings {
    /// Reads `SMTP_URL` and `MAIL_FROM`; without `SMTP_URL`, development writes mail into
    /// `data_dir/mail` and production refuses to start.
    ///
    /// # Errors
    /// An unusable URL or sender, or no `SMTP_URL` in production.
    pub fn parse(
        var: &impl Fn(&str) -> Option<String>,
        development: bool,
        data_dir: &Path,
    ) -> Result<Self, ConfigError> {
        let transport = match var("SMTP_URL") {
            Some(url) => {
                let scheme_ok = url.starts_with("smtp://") || url.starts_with("smtps://");
                if !scheme_ok || lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&url).is_err()
                {
                    return Err(ConfigError::Invalid {
                        variable: "SMTP_URL",
                        value: redact_password(&url),
                        expected: "smtp://host:port, smtp://host:587?tls=required (STARTTLS) or \
                                   smtps://user:password@host:465",
                    });
                }
                MailTransport::Smtp(url)
            }
            None if development => MailTransport::Folder(data_dir.join("mail")),
            None => {
                return Err(ConfigError::MissingInProduction {
                    variable: "SMTP_URL",
                    why: "verification and password-reset mail must reach people",
                });
            }
        };
        let from = var("MAIL_FROM").unwrap_or_else(|| "PingvasAI <no-reply@localhost>".to_owned());
        if from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError::Invalid {
                variable: "MAIL_FROM",
                value: from,
                expected: "an address, optionally with a name: PingvasAI <no-reply@pingvas.example>",
            });
        }
        Ok(Self { transport, from })
    }
}

/// `url` with any password replaced, for error messages.
fn redact_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:[redacted]{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(vars: &[(&str, &str)], development: bool) -> Result<MailSettings, ConfigError> {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        MailSettings::parse(&|name| vars.get(name).map(|v| (*v).to_owned()), development, Path::new("/data"))
    }

    #[test]
    fn development_writes_to_a_folder_and_production_needs_a_server() {
        assert_eq!(parse(&[], true).unwrap().transport, MailTransport::Folder(PathBuf::from("/data/mail")));
        assert!(matches!(
            parse(&[], false),
            Err(ConfigError::MissingInProduction { variable: "SMTP_URL", .. })
        ));
        let smtp = parse(&[("SMTP_URL", "smtps://me:secret@mail.example:465")], false).unwrap();
        assert_eq!(smtp.transport, MailTransport::Smtp("smtps://me:secret@mail.example:465".into()));
        assert!(!format!("{smtp:?}").contains("secret"));
    }

    #[test]
    fn unusable_urls_and_senders_are_refused_without_showing_the_password() {
        let Err(ConfigError::Invalid { value, .. }) =
            parse(&[("SMTP_URL", "http://me:secret@mail.example")], true)
        else {
            panic!("an http URL is not an SMTP server");
        };
        assert_eq!(value, "http://me:[redacted]@mail.example");
        assert!(parse(&[("SMTP_URL", "smtp://mail.example:587?tls=required")], true).is_ok());
        assert!(parse(&[("MAIL_FROM", "not an address")], true).is_err());
        assert_eq!(
            parse(&[("MAIL_FROM", "Pingvas <hi@pingvas.example>")], true).unwrap().from,
            "Pingvas <hi@pingvas.example>"
        );
    }
}
