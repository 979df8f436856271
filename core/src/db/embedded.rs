//! A private PostgreSQL cluster in the project's data folder, made from the system's binaries.
//!
//! Used when `DATABASE_URL` is unset: the first start runs `initdb` (password authentication,
//! TCP on 127.0.0.1 only, a free port chosen once), later starts reuse the same cluster, so data
//! survives restarts. The cluster keeps running after the server exits, like any local database
//! service; `server db stop` stops it.
//!
//! PostgreSQL refuses to run as root. When the server runs as root (containers, CI), the cluster
//! is run as the `postgres` system user that Debian's package creates.

use std::{
    fs,
    io::{self, Write},
    net::TcpListener,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgConnectOptions;
use thiserror::Error;

/// The superuser the cluster is created with.
const SUPERUSER: &str = "pingvas";
/// The system account used to run PostgreSQL when we are root.
const SERVICE_ACCOUNT: &str = "postgres";

/// Something went wrong making or starting the embedded cluster.
#[derive(Debug, Error)]
pub enum EmbeddedError {
    /// No `initdb`/`pg_ctl` could be found.
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them (Debian: \
         `apt-get install postgresql`), set PG_BIN_DIR to their folder, or set DATABASE_URL to use \
         an existing server"
    )]
    BinariesNotFound,
    /// Running as root, but there is no unprivileged account to run PostgreSQL as.
    #[error(
        "PostgreSQL cannot run as root and there is no `{SERVICE_ACCOUNT}` user to run it as. \
         Run as a normal user, install Debian's `postgresql` package, or set DATABASE_URL"
    )]
    NoServiceAccount,
    /// A PostgreSQL tool failed.
    #[error("`{command}` failed: {detail}")]
    Tool {
        /// The command line, for the operator.
        command: String,
        /// Its output (or the log's last lines).
        detail: String,
    },
    /// The credentials file is unreadable or malformed.
    #[error(
        "the embedded database's credentials in {path} are unreadable ({detail}); delete the data folder to start afresh"
    )]
    Credentials {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// A file-system operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What we were doing.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> EmbeddedError {
    let path = path.to_path_buf();
    move |source| EmbeddedError::Io { action, path, source }
}

/// How to reach the cluster as its superuser; kept in `postgres.json` (owner-only) in the data
/// folder.
#[derive(Clone, Serialize, Deserialize)]
pub struct Endpoint {
    port: u16,
    user: String,
    password: String,
}

impl Endpoint {
    /// Connection options for `database`.
    #[must_use]
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .host("127.0.0.1")
            .port(self.port)
            .username(&self.user)
            .password(&self.password)
            .database(database)
    }

    /// The TCP port on 127.0.0.1.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A `postgres://` URL for `database`, e.g. to export as `DATABASE_URL`.
    #[must_use]
    pub fn url(&self, database: &str) -> String {
        // user and password are ours: alphanumeric and hex, nothing to escape.
        format!("postgres://{}:{}@127.0.0.1:{}/{database}", self.user, self.password, self.port)
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Endpoint {{ port: {}, user: {:?}, password: [redacted] }}", self.port, self.user)
    }
}

/// The embedded cluster belonging to one data folder.
#[derive(Debug, Clone)]
pub struct EmbeddedCluster {
    data_dir: PathBuf,
}

impl EmbeddedCluster {
    /// The cluster that lives in `data_dir` (created on first use).
    #[must_use]
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self { data_dir: data_dir.into() }
    }

    /// Makes the cluster if it does not exist, starts it if it is not running, and returns how
    /// to reach it as its superuser.
    ///
    /// Safe to call from several processes at once: a file lock serialises them.
    ///
    /// # Errors
    /// See [`EmbeddedError`]; every variant says what to do.
    pub async fn ensure_running(&self) -> Result<Endpoint, EmbeddedError> {
        let data_dir = self.data_dir.clone();
        tokio::task::spawn_blocking(move || ensure_running_blocking(&data_dir))
            .await
            .map_err(|e| EmbeddedError::Tool { command: "ensure_running".into(), detail: e.to_string() })?
    }

    /// Stops the cluster if it runs. Returns whether it was running.
    ///
    /// # Errors
    /// `pg_ctl stop` failed, or the binaries are missing.
    pub async fn stop(&self) -> Result<bool, EmbeddedError> {
        let data_dir = self.data_dir.clone();
        tokio::task::spawn_blocking(move || stop_blocking(&data_dir))
            .await
            .map_err(|e| EmbeddedError::Tool { command: "stop".into(), detail: e.to_string() })?
    }
}

/// The unprivileged system account PostgreSQL runs as when we are root.
struct ServiceAccount {
    name: String,
    uid: u32,
    gid: u32,
}

/// The PostgreSQL tools and the account they run as.
struct Toolbox {
    bin_dir: PathBuf,
    /// Set when we are root and must switch to the service account.
    run_as: Option<ServiceAccount>,
}

impl Toolbox {
    fn locate() -> Result<Self, EmbeddedError> {
        let bin_dir = find_bin_dir().ok_or(EmbeddedError::BinariesNotFound)?;
        let run_as = if user_id(None) == Some(0) { Some(service_account()?) } else { None };
        Ok(Self { bin_dir, run_as })
    }

    /// A command for the PostgreSQL tool `tool`, run as the right account.
    fn command(&self, tool: &str) -> Command {
        self.as_account(self.bin_dir.join(tool))
    }

    /// `program`, run as the service account when we are root, from `/` (that account may not
    /// be allowed into our working directory).
    fn as_account(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = match &self.run_as {
            Some(account) => {
                let mut c = Command::new("runuser");
                c.args(["-u", &account.name, "--"]).arg(program);
                c
            }
            None => Command::new(program),
        };
        command.current_dir("/");
        command
    }

    /// Gives `path` to the account that runs PostgreSQL.
    fn hand_over(&self, path: &Path) -> Result<(), EmbeddedError> {
        if let Some(account) = &self.run_as {
            std::os::unix::fs::chown(path, Some(account.uid), Some(account.gid))
                .map_err(io_err("changing the owner of", path))?;
        }
        Ok(())
    }

    /// Whether the service account can reach into `dir` (every folder above it included).
    fn can_traverse(&self, dir: &Path) -> bool {
        self.run_as.is_none()
            || self.as_account("test").arg("-x").arg(dir).status().is_ok_and(|s| s.success())
    }
}

/// Looks for `initdb` and `pg_ctl`: `PG_BIN_DIR`, then Debian's versioned folders (newest first),
/// then `pg_config --bindir`, then `PATH`.
fn find_bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("PG_BIN_DIR").map(PathBuf::from) {
        return has_tools(&dir).then_some(dir);
    }
    let mut versioned: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_tools(dir))
        .collect();
    versioned.sort();
    if let Some((_, dir)) = versioned.pop() {
        return Some(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_tools(&dir) {
            return Some(dir);
        }
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| has_tools(dir))
}

/// `id -u [user]`: our effective user id, or `user`'s.
fn user_id(user: Option<&str>) -> Option<u32> {
    id_number("-u", user)
}

fn id_number(flag: &str, user: Option<&str>) -> Option<u32> {
    let out = Command::new("id").arg(flag).args(user).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().parse().ok())?
}

fn service_account() -> Result<ServiceAccount, EmbeddedError> {
    match (user_id(Some(SERVICE_ACCOUNT)), id_number("-g", Some(SERVICE_ACCOUNT))) {
        (Some(uid), Some(gid)) => Ok(ServiceAccount { name: SERVICE_ACCOUNT.to_owned(), uid, gid }),
        _ => Err(EmbeddedError::NoServiceAccount),
    }
}

/// Where the cluster's files go: `<data>/postgres`, unless we are root and the service account
/// cannot reach the data folder (e.g. a project under `/root`), in which case a folder under
/// `/var/lib/pingvas` named after the project's path is used instead.
fn cluster_dir(data_dir: &Path, tools: &Toolbox) -> PathBuf {
    if tools.can_traverse(data_dir) {
        return data_dir.join("postgres");
    }
    let name: String =
        data_dir.to_string_lossy().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    PathBuf::from("/var/lib/pingvas/clusters").join(name)
}

fn ensure_running_blocking(data_dir: &Path) -> Result<Endpoint, EmbeddedError> {
    fs::create_dir_all(data_dir).map_err(io_err("creating", data_dir))?;
    let data_dir = &fs::canonicalize(data_dir).map_err(io_err("resolving", data_dir))?;
    // Serialise concurrent starts (parallel test processes, a watch-mode restart).
    let lock_path = data_dir.join("postgres.lock");
    let lock = fs::File::create(&lock_path).map_err(io_err("creating", &lock_path))?;
    lock.lock().map_err(io_err("locking", &lock_path))?;

    let tools = Toolbox::locate()?;
    if tools.run_as.is_some() {
        // The service account must be able to traverse into the data folder.
        let mut perms = fs::metadata(data_dir).map_err(io_err("reading", data_dir))?.permissions();
        perms.set_mode(perms.mode() | 0o711);
        fs::set_permissions(data_dir, perms).map_err(io_err("opening up", data_dir))?;
    }
    let cluster = cluster_dir(data_dir, &tools);
    let credentials_path = data_dir.join("postgres.json");
    if !cluster.join("PG_VERSION").is_file() {
        initialise(&tools, data_dir, &cluster, &credentials_path)?;
    }
    let mut endpoint = read_credentials(&credentials_path)?;
    if !is_running(&tools, &cluster)? {
        if !port_is_free(endpoint.port) {
            // Something else took our port while the cluster was stopped (another clone's
            // cluster, say): move to a free one rather than fail.
            let port = free_port().map_err(io_err("finding a free port for", &cluster))?;
            tracing::warn!(old = endpoint.port, new = port, "embedded database port taken; moving");
            append_settings(&cluster, &format!("port = {port}\n"))?;
            endpoint.port = port;
            write_credentials(&credentials_path, &endpoint)?;
        }
        start(&tools, &cluster)?;
    }
    drop(lock);
    Ok(endpoint)
}

fn stop_blocking(data_dir: &Path) -> Result<bool, EmbeddedError> {
    let Ok(data_dir) = fs::canonicalize(data_dir) else { return Ok(false) };
    let tools = Toolbox::locate()?;
    let cluster = cluster_dir(&data_dir, &tools);
    if !cluster.join("PG_VERSION").is_file() || !is_running(&tools, &cluster)? {
        return Ok(false);
    }
    let mut command = tools.command("pg_ctl");
    command.args(["stop", "--silent", "--wait", "--mode=fast", "-D"]).arg(&cluster);
    run(command)?;
    Ok(true)
}

fn initialise(
    tools: &Toolbox,
    data_dir: &Path,
    cluster: &Path,
    credentials_path: &Path,
) -> Result<(), EmbeddedError> {
    // A folder without PG_VERSION is a failed earlier attempt: start it over.
    if cluster.exists() {
        fs::remove_dir_all(cluster).map_err(io_err("removing the unfinished cluster", cluster))?;
    }
    fs::create_dir_all(cluster).map_err(io_err("creating", cluster))?;
    fs::set_permissions(cluster, fs::Permissions::from_mode(0o700))
        .map_err(io_err("restricting", cluster))?;
    tools.hand_over(cluster)?;

    let credentials = Endpoint {
        port: free_port().map_err(io_err("finding a free port for", cluster))?,
        user: SUPERUSER.to_owned(),
        password: crate::secrets::random_hex(24).map_err(io_err("generating a password for", cluster))?,
    };
    // initdb reads the superuser password from a file; it lives only while initdb runs, beside
    // the cluster where the service account can read it.
    let password_file = cluster.parent().unwrap_or(data_dir).join("pingvas-initdb.pwfile");
    write_private(&password_file, credentials.password.as_bytes())?;
    tools.hand_over(&password_file)?;
    let mut initdb = tools.command("initdb");
    initdb
        .arg("--pgdata")
        .arg(cluster)
        .args(["--username", SUPERUSER, "--auth-host=scram-sha-256", "--auth-local=scram-sha-256"])
        .args(["--encoding=UTF8", "--no-locale", "--no-instructions"])
        .arg(format!("--pwfile={}", password_file.display()));
    let result = run(initdb);
    let _ = fs::remove_file(&password_file);
    result?;

    append_settings(
        cluster,
        &format!(
            "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = ''\n\
             max_connections = 300\nlogging_collector = off\n",
            credentials.port
        ),
    )?;
    write_credentials(credentials_path, &credentials)
}

/// Appends to `postgresql.conf`; a later line overrides an earlier one for the same setting.
fn append_settings(cluster: &Path, settings: &str) -> Result<(), EmbeddedError> {
    let conf = cluster.join("postgresql.conf");
    fs::OpenOptions::new()
        .append(true)
        .open(&conf)
        .and_then(|mut f| write!(f, "\n# Set by PingvasAI's embedded-database bootstrap.\n{settings}"))
        .map_err(io_err("configuring", &conf))
}

fn write_credentials(path: &Path, endpoint: &Endpoint) -> Result<(), EmbeddedError> {
    let json = serde_json::to_vec_pretty(endpoint)
        .map_err(|e| EmbeddedError::Credentials { path: path.to_path_buf(), detail: e.to_string() })?;
    write_private(path, &json)
}

fn read_credentials(path: &Path) -> Result<Endpoint, EmbeddedError> {
    let bytes = fs::read(path)
        .map_err(|e| EmbeddedError::Credentials { path: path.to_path_buf(), detail: e.to_string() })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| EmbeddedError::Credentials { path: path.to_path_buf(), detail: e.to_string() })
}

fn is_running(tools: &Toolbox, cluster: &Path) -> Result<bool, EmbeddedError> {
    let mut status = tools.command("pg_ctl");
    status.args(["status", "-D"]).arg(cluster);
    let output = status.output().map_err(io_err("running pg_ctl status for", cluster))?;
    // pg_ctl status: 0 running, 3 not running, 4 no usable data folder.
    match output.status.code() {
        Some(0) => Ok(true),
        Some(3) => Ok(false),
        _ => Err(tool_error(&status, &output)),
    }
}

fn start(tools: &Toolbox, cluster: &Path) -> Result<(), EmbeddedError> {
    let log = cluster.join("server.log");
    let mut start = tools.command("pg_ctl");
    start.args(["start", "--silent", "--wait", "--timeout=60", "-D"]).arg(cluster).arg("-l").arg(&log);
    run(start).map_err(|e| match e {
        EmbeddedError::Tool { command, detail } => {
            let tail = fs::read_to_string(&log)
                .map(|text| {
                    text.lines()
                        .rev()
                        .take(8)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default();
            EmbeddedError::Tool { command, detail: format!("{detail}\n{}:\n{tail}", log.display()) }
        }
        other => other,
    })?;
    Ok(())
}

fn run(mut command: Command) -> Result<Output, EmbeddedError> {
    let output = command
        .output()
        .map_err(|e| EmbeddedError::Tool { command: describe(&command), detail: e.to_string() })?;
    if output.status.success() { Ok(output) } else { Err(tool_error(&command, &output)) }
}

fn tool_error(command: &Command, output: &Output) -> EmbeddedError {
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    EmbeddedError::Tool { command: describe(command), detail: format!("{} {}", output.status, text.trim()) }
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .filter(|a| !a.starts_with("--pwfile"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), EmbeddedError> {
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(io_err("writing", path))
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A port nobody listens on right now, chosen once when the cluster is made. It is taken below
/// Linux's ephemeral range (32768+), where an outgoing connection could hold it at a later start.
fn free_port() -> io::Result<u16> {
    const PREFERRED: std::ops::Range<u16> = 15432..15532;
    match PREFERRED.into_iter().find(|port| port_is_free(*port)) {
        Some(port) => Ok(port),
        None => Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port()),
    }
}
