//! The command line: `server` serves; a few subcommands manage the database.

/// What the binary was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Serve the app (the default).
    Serve,
    /// Run a generation worker alone (no web server).
    Worker,
    /// Start the embedded database if needed and print its superuser URL.
    DbUrl,
    /// Stop the embedded database.
    DbStop,
    /// Apply pending migrations and exit.
    MigrateRun,
    /// Undo the most recent migration and exit.
    MigrateRevert,
    /// Make the account with this email a superuser (creating it when a password is given).
    MakeSuperuser {
        /// The account's email.
        email: String,
    },
    /// GET a URL once and succeed on 2xx (container health checks and `helm test`).
    Probe {
        /// What to ask.
        url: String,
    },
    /// Print usage.
    Help,
}

/// Usage text for `--help` and for mistakes.
pub const USAGE: &str = "\
PingvasAI server

Usage:
  server [serve]          serve the app (address from LEPTOS_SITE_ADDR, default 127.0.0.1:3000),
                          with a generation worker unless IN_PROCESS_WORKER=false
  server worker           run a generation worker alone, on WORKER_DEVICE (for GPU machines
                          beside web servers that share the database and the object store)
  server migrate run      apply pending database migrations
  server migrate revert   undo the most recent migration
  server db url           start the embedded database if needed; print its superuser URL
  server db stop          stop the embedded database
  server user make-superuser EMAIL
                          give the account with EMAIL superuser and staff rights; if there is
                          none, create it with the password in PINGVAS_SUPERUSER_PASSWORD
  server probe URL        GET URL once; exit 0 on a 2xx answer, 1 otherwise (for images
                          without a shell: health checks and `helm test`)
  server help             show this text

Configuration comes from environment variables and an optional .env file (see README.md).";

/// Parses the arguments after the program name.
///
/// # Errors
/// A message naming the argument that was not understood.
pub fn parse<I, S>(args: I) -> Result<Command, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let args: Vec<S> = args.into_iter().collect();
    let words: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    match words.as_slice() {
        [] | ["serve"] => Ok(Command::Serve),
        ["worker"] => Ok(Command::Worker),
        ["db", "url"] => Ok(Command::DbUrl),
        ["db", "stop"] => Ok(Command::DbStop),
        ["migrate", "run"] => Ok(Command::MigrateRun),
        ["migrate", "revert"] => Ok(Command::MigrateRevert),
        ["user", "make-superuser", email] => Ok(Command::MakeSuperuser { email: (*email).to_owned() }),
        ["probe", url] => Ok(Command::Probe { url: (*url).to_owned() }),
        ["help" | "--help" | "-h"] => Ok(Command::Help),
        other => Err(format!("unknown command `{}`", other.join(" "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_command_and_rejects_the_rest() {
        let none: [&str; 0] = [];
        assert_eq!(parse(none), Ok(Command::Serve));
        assert_eq!(parse(["serve"]), Ok(Command::Serve));
        assert_eq!(parse(["worker"]), Ok(Command::Worker));
        assert_eq!(
            parse(["probe", "http://web/readyz"]),
            Ok(Command::Probe { url: "http://web/readyz".into() })
        );
        assert_eq!(parse(["db", "url"]), Ok(Command::DbUrl));
        assert_eq!(parse(["db", "stop"]), Ok(Command::DbStop));
        assert_eq!(parse(["migrate", "run"]), Ok(Command::MigrateRun));
        assert_eq!(parse(["migrate", "revert"]), Ok(Command::MigrateRevert));
        assert_eq!(parse(["--help"]), Ok(Command::Help));
        assert_eq!(
            parse(["user", "make-superuser", "root@example.com"]),
            Ok(Command::MakeSuperuser { email: "root@example.com".into() })
        );
        assert!(parse(["user", "make-superuser"]).is_err());
        assert_eq!(parse(["db", "drop"]), Err("unknown command `db drop`".to_owned()));
    }
}
