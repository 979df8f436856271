//! Generation workers and image storage: which device runs the models, whether the web server
//! runs a worker itself, the queue's lease and retry bounds, and where image files go.

use std::{path::Path, time::Duration};

use engine::device::DeviceChoice;

use super::{ConfigError, bounded_number};

/// How workers run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSettings {
    /// `WORKER_DEVICE`: `cpu` (default), `wgpu`, `wgpu:cpu`, `cuda`, `cuda:N`.
    pub device: DeviceChoice,
    /// `IN_PROCESS_WORKER`: whether `server serve` also runs a worker (default `true`); set
    /// `false` on web servers when GPU machines run `server worker` instead.
    pub in_process: bool,
    /// `WORKER_LEASE_SECONDS`: how long a claimed job stays a worker's without a heartbeat before
    /// it is queued again (2–3600, default 30).
    pub lease: Duration,
    /// `WORKER_MAX_ATTEMPTS`: how many workers may try a job before it fails and is refunded
    /// (1–20, default 3).
    pub max_attempts: i32,
    /// `OBJECT_STORE_URL`: `s3://bucket[/prefix]` (credentials from `AWS_*`) or a folder;
    /// default the data folder's `objects/`.
    pub object_store_url: Option<String>,
    /// `WORKER_HTTP_ADDR`: where `server worker` answers `/healthz`, `/readyz` and `/metrics`
    /// (e.g. `0.0.0.0:9000`); unset, it listens nowhere. `server serve` ignores it (its worker
    /// is observed through the web server).
    pub http_addr: Option<std::net::SocketAddr>,
}

impl WorkerSettings {
    /// Reads the worker variables through `var`.
    ///
    /// # Errors
    /// The first invalid variable.
    pub fn parse(var: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let device = match var("WORKER_DEVICE") {
            None => DeviceChoice::Cpu,
            Some(raw) => raw.trim().parse().map_err(|_| ConfigError::Invalid {
                variable: "WORKER_DEVICE",
                value: raw,
                expected: "cpu, wgpu, wgpu:cpu, cuda or cuda:N",
            })?,
        };
        let in_process = match var("IN_PROCESS_WORKER").as_deref().map(str::trim) {
            None | Some("true" | "1" | "yes") => true,
            Some("false" | "0" | "no") => false,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    variable: "IN_PROCESS_WORKER",
                    value: other.to_owned(),
                    expected: "true or false",
                });
            }
        };
        let lease_seconds = bounded_number(
            var,
            "WORKER_LEASE_SECONDS",
            30,
            2..=3600,
            "a whole number of seconds from 2 to 3600",
        )?;
        let max_attempts =
            bounded_number(var, "WORKER_MAX_ATTEMPTS", 3, 1..=20, "a whole number from 1 to 20")?;
        let http_addr = match var("WORKER_HTTP_ADDR").map(|a| a.trim().to_owned()) {
            None => None,
            Some(a) if a.is_empty() => None,
            Some(a) => Some(a.parse().map_err(|_| ConfigError::Invalid {
                variable: "WORKER_HTTP_ADDR",
                value: a,
                expected: "an address and port, e.g. 0.0.0.0:9000",
            })?),
        };
        Ok(Self {
            http_addr,
            device,
            in_process,
            lease: Duration::from_secs(lease_seconds),
            max_attempts,
            object_store_url: var("OBJECT_STORE_URL").map(|u| u.trim().to_owned()),
        })
    }

    /// The local folder used when no object store is configured.
    #[must_use]
    pub fn default_object_dir(data_dir: &Path) -> std::path::PathBuf {
        data_dir.join("objects")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<WorkerSettings, ConfigError> {
        WorkerSettings::parse(&|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn defaults_run_one_cpu_worker_in_the_server_and_bad_values_are_named() {
        let defaults = parse(&[]).unwrap();
        assert_eq!((defaults.device, defaults.in_process), (DeviceChoice::Cpu, true));
        assert_eq!((defaults.lease, defaults.max_attempts), (Duration::from_secs(30), 3));
        let gpu = parse(&[("WORKER_DEVICE", "cuda:1"), ("IN_PROCESS_WORKER", "false")]).unwrap();
        assert_eq!((gpu.device, gpu.in_process), (DeviceChoice::Cuda(1), false));
        let listening = parse(&[("WORKER_HTTP_ADDR", "0.0.0.0:9000")]).unwrap();
        assert_eq!(listening.http_addr, Some("0.0.0.0:9000".parse().unwrap()));
        assert_eq!(defaults.http_addr, None);
        for (variable, value) in [
            ("WORKER_DEVICE", "tpu"),
            ("IN_PROCESS_WORKER", "maybe"),
            ("WORKER_LEASE_SECONDS", "1"),
            ("WORKER_MAX_ATTEMPTS", "0"),
            ("WORKER_HTTP_ADDR", "localhost"),
        ] {
            let err = parse(&[(variable, value)]).unwrap_err().to_string();
            assert!(err.starts_with(variable), "{err}");
        }
    }
}
