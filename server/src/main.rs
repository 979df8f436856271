//! The `server` binary: loads configuration, sets up logging and runs one command.

use std::process::ExitCode;

use pingvas_core::{
    config::Config,
    db::{self, embedded::EmbeddedCluster},
};
use server::{
    cli::{self, Command},
    serve, telemetry,
};

#[tokio::main]
async fn main() -> ExitCode {
    let command = match cli::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("{message}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    if command == Command::Help {
        eprintln!("{}", cli::USAGE);
        return ExitCode::SUCCESS;
    }
    // Needs no configuration: it runs in pods that have none (helm test).
    if let Command::Probe { url } = &command {
        return match server::probe::probe(url).await {
            Ok(status) => {
                eprintln!("{url}: {status}");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::FAILURE
            }
        };
    }

    // A malformed .env is reported; a missing one is normal.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("error: cannot read .env: {e}");
        return ExitCode::from(2);
    }
    let config = match Config::from_process_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    // The warnings concern serving (e.g. a generated signing key); database chores skip them.
    if matches!(command, Command::Serve | Command::Worker) {
        for warning in &config.warnings {
            tracing::warn!("{warning}");
        }
    }

    match run(command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> Result<(), String> {
    match command {
        Command::Serve => serve::serve(config).await.map_err(|e| e.to_string()),
        Command::Worker => serve::run_worker(config).await.map_err(|e| e.to_string()),
        Command::DbUrl => {
            let endpoint =
                EmbeddedCluster::new(&config.data_dir).ensure_running().await.map_err(|e| e.to_string())?;
            #[allow(clippy::print_stdout)] // The URL is this command's output.
            {
                println!("{}", endpoint.url("postgres"));
            }
            Ok(())
        }
        Command::DbStop => {
            let was_running =
                EmbeddedCluster::new(&config.data_dir).stop().await.map_err(|e| e.to_string())?;
            tracing::info!(was_running, "embedded database stopped");
            Ok(())
        }
        Command::MigrateRun | Command::MigrateRevert => {
            let options = db::connect_options(&config).await.map_err(|e| e.to_string())?;
            let pool = db::pool(options.clone(), 1);
            if command == Command::MigrateRun {
                db::prepare(&options, &config).await.map_err(|e| e.to_string())?;
                tracing::info!("migrations applied; the application role may use the tables");
            } else {
                db::revert_latest(&pool).await.map_err(|e| e.to_string())?;
            }
            pool.close().await;
            Ok(())
        }
        Command::MakeSuperuser { email } => {
            let options = db::connect_options(&config).await.map_err(|e| e.to_string())?;
            let pool = db::pool(options, 1);
            db::migrate(&pool).await.map_err(|e| e.to_string())?;
            let password = std::env::var("PINGVAS_SUPERUSER_PASSWORD").ok().filter(|p| !p.is_empty());
            let accounts = pingvas_core::accounts::Accounts::new(pool.clone(), &config);
            let outcome = accounts.make_superuser(&email, password).await.map_err(|e| match e {
                pingvas_core::accounts::AccountError::NotFound => format!(
                    "there is no account with {email}: sign up first, or set PINGVAS_SUPERUSER_PASSWORD to create it"
                ),
                other => other.to_string(),
            });
            pool.close().await;
            let (user, created) = outcome?;
            tracing::info!(%user, created, "superuser ready");
            Ok(())
        }
        // Answered before configuration is read.
        Command::Probe { .. } | Command::Help => Ok(()),
    }
}
