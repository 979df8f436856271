//! A real SMTP server for the tests: MailDev (npm `maildev`, installed by `npm ci` in `end2end/`),
//! started per test on free local ports and stopped when dropped. Its REST API lists what it
//! received, so a test reads a mail the way its recipient would.

use std::{net::TcpListener, path::PathBuf, process::Stdio, time::Duration};

use serde_json::Value;

/// A running MailDev.
pub struct MailServer {
    /// `smtp://127.0.0.1:port`, for `SMTP_URL`.
    pub smtp_url: String,
    web: String,
    child: tokio::process::Child,
}

/// A free local port (free when this returns; MailDev takes it moments later).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn maildev_bin() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end/node_modules/maildev/bin/maildev");
    assert!(bin.exists(), "MailDev is missing: run `npm ci` in end2end/ (./scripts/test does)");
    bin
}

impl MailServer {
    /// Starts MailDev with its SMTP server on `smtp_port` (or a free one).
    pub async fn start(smtp_port: Option<u16>) -> Self {
        let (smtp, web) = (smtp_port.unwrap_or_else(free_port), free_port());
        let child = tokio::process::Command::new("node")
            .arg(maildev_bin())
            .args(["--ip", "127.0.0.1", "--smtp", &smtp.to_string(), "--web", &web.to_string(), "--silent"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs MailDev");
        let server = Self {
            smtp_url: format!("smtp://127.0.0.1:{smtp}"),
            web: format!("http://127.0.0.1:{web}"),
            child,
        };
        for _ in 0..600 {
            let smtp_up = tokio::net::TcpStream::connect(("127.0.0.1", smtp)).await.is_ok();
            if smtp_up
                && reqwest::get(format!("{}/email", server.web)).await.is_ok_and(|r| r.status().is_success())
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("MailDev did not start on ports {smtp} and {web}");
    }

    /// Every mail received so far, oldest first (MailDev's JSON: `to`, `subject`, `text`, `html`…).
    pub async fn mails(&self) -> Vec<Value> {
        reqwest::get(format!("{}/email", self.web)).await.unwrap().json().await.unwrap()
    }

    /// The mails received for `address`.
    pub async fn mails_to(&self, address: &str) -> Vec<Value> {
        self.mails()
            .await
            .into_iter()
            .filter(|mail| mail["to"].as_array().is_some_and(|to| to.iter().any(|r| r["address"] == address)))
            .collect()
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
