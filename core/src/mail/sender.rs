//! The outbox's sender: takes due messages one at a time under a row lock (`SKIP LOCKED`, so
//! several server instances never take the same one), opens its sealed body, sends it, and in the
//! same transaction marks it sent and drops its body (the link in it is a credential until used). A failure schedules a
//! retry with exponential backoff; after [`MAX_ATTEMPTS`] the message is marked failed and logged.
//! Nothing is lost while the SMTP server is down. A message goes out twice only if the process
//! dies between the SMTP server's acceptance and the commit; the copy has the same `Message-ID`,
//! which mail clients fold together.

use std::{path::PathBuf, time::Duration};

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};
use sqlx::PgPool;
use uuid::Uuid;

use super::Outbox;
use crate::config::{MailSettings, MailTransport};

/// How often the sender looks for due mail.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Tries before a message is given up on (the backoff makes that about a day).
pub const MAX_ATTEMPTS: i32 = 30;
/// How long the SMTP server may take to answer.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// The wait before try `attempts + 1`, after `attempts` failed ones: 15 s, doubling, at most an hour.
#[must_use]
pub fn backoff(attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(8);
    Duration::from_secs(15 << doublings).min(Duration::from_secs(3600))
}

/// The sender could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    /// `SMTP_URL` or `MAIL_FROM` is unusable (configuration checks them first).
    #[error("mail settings: {0}")]
    Settings(String),
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(PathBuf),
}

/// Sends the outbox's mail.
pub struct MailSender {
    db: PgPool,
    outbox: Outbox,
    transport: Transport,
    from: Mailbox,
}

impl std::fmt::Debug for MailSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSender").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
struct Due {
    message_id: Uuid,
    recipient: String,
    subject: String,
    /// The body of a message queued before bodies were sealed (empty otherwise).
    text_body: String,
    html_body: String,
    sealed_body: Option<Vec<u8>>,
    attempts: i32,
}

impl MailSender {
    /// A sender over `db` with `settings`' transport, opening bodies sealed by `outbox`.
    ///
    /// # Errors
    /// Settings that do not build a transport.
    pub fn new(db: PgPool, settings: &MailSettings, outbox: Outbox) -> Result<Self, SenderError> {
        let transport = match &settings.transport {
            MailTransport::Smtp(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| SenderError::Settings(e.to_string()))?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build(),
            ),
            MailTransport::Folder(dir) => Transport::Folder(dir.clone()),
        };
        let from = settings
            .from
            .parse()
            .map_err(|e: lettre::address::AddressError| SenderError::Settings(e.to_string()))?;
        Ok(Self { db, outbox, transport, from })
    }

    /// Sends every message that is due now; returns how many were sent.
    ///
    /// # Errors
    /// The database failed (a failed delivery is recorded and retried, not an error).
    pub async fn send_due(&self) -> Result<usize, sqlx::Error> {
        let mut sent = 0;
        loop {
            let mut tx = self.db.begin().await?;
            let due: Option<Due> = sqlx::query_as(
                "SELECT message_id, recipient, subject, text_body, html_body, sealed_body, attempts FROM mail_outbox
                 WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
                 ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED",
            )
            .fetch_optional(&mut *tx)
            .await?;
            let Some(due) = due else { return Ok(sent) };
            match self.deliver(&due).await {
                Ok(()) => {
                    sqlx::query(
                        "UPDATE mail_outbox SET sent_at = now(), attempts = attempts + 1, last_error = NULL,
                                text_body = '', html_body = '', sealed_body = NULL
                         WHERE message_id = $1",
                    )
                    .bind(due.message_id)
                    .execute(&mut *tx)
                    .await?;
                    sent += 1;
                }
                Err(error) => {
                    let attempts = due.attempts + 1;
                    let give_up = attempts >= MAX_ATTEMPTS;
                    if give_up {
                        tracing::error!(message = %due.message_id, %error, attempts, "mail given up on");
                    } else {
                        tracing::warn!(message = %due.message_id, %error, attempts, "mail not sent; will retry");
                    }
                    // A message given up on keeps its envelope for the operator, not its body: the
                    // body's link is a live token (issue 33, finding 10), as a sent one's was.
                    sqlx::query(
                        "UPDATE mail_outbox SET attempts = $2, last_error = $3,
                                next_attempt_at = now() + make_interval(secs => $4),
                                failed_at = CASE WHEN $5 THEN now() END,
                                text_body = CASE WHEN $5 THEN '' ELSE text_body END,
                                html_body = CASE WHEN $5 THEN '' ELSE html_body END,
                                sealed_body = CASE WHEN $5 THEN NULL ELSE sealed_body END
                         WHERE message_id = $1",
                    )
                    .bind(due.message_id)
                    .bind(attempts)
                    .bind(error.chars().take(500).collect::<String>())
                    .bind(backoff(attempts).as_secs_f64())
                    .bind(give_up)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
        }
    }

    async fn deliver(&self, due: &Due) -> Result<(), String> {
        let to: Mailbox = due.recipient.parse().map_err(|e| format!("recipient: {e}"))?;
        // A body that does not open (TOKEN_ENCRYPTION_KEY changed since it was queued) is
        // retried like a refused delivery, so restoring the key still sends it.
        let (text, html) = match &due.sealed_body {
            Some(sealed) => self
                .outbox
                .open(due.message_id, sealed)
                .map_err(|e| format!("body: {e} (was TOKEN_ENCRYPTION_KEY changed?)"))?,
            None => (due.text_body.clone(), due.html_body.clone()),
        };
        let domain = self.from.email.domain().to_owned();
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&due.subject)
            .message_id(Some(format!("<{}@{domain}>", due.message_id)))
            .multipart(MultiPart::alternative_plain_html(text.clone(), html))
            .map_err(|e| format!("building the message: {e}"))?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(|e| e.to_string()),
            Transport::Folder(dir) => {
                tokio::fs::create_dir_all(dir).await.map_err(|e| format!("{}: {e}", dir.display()))?;
                let path = dir.join(format!("{}.eml", due.message_id));
                tokio::fs::write(&path, message.formatted())
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                // Development has no mail server: the log shows the message, links included.
                tracing::info!(to = %due.recipient, subject = %due.subject, file = %path.display(), "mail written:\n{text}");
                Ok(())
            }
        }
    }

    /// Sends due mail every [`POLL_INTERVAL`] until `stop` turns true; database failures (a
    /// restart, say) are logged and the next round tries again.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if let Err(error) = self.send_due().await {
                tracing::warn!(%error, "the mail outbox could not be read; trying again");
            }
            tokio::select! {
                () = tokio::time::sleep(POLL_INTERVAL) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

/// Deletes sent and given-up messages older than 30 days (called periodically); they hold no
/// body by then, only who was written to and when.
///
/// # Errors
/// The database failed.
pub async fn delete_old(db: &PgPool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM mail_outbox WHERE coalesce(sent_at, failed_at) < now() - interval '30 days'",
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// The outbox as `/metrics` reports it: messages waiting (not sent, not given up on) and the
/// oldest one's age.
///
/// # Errors
/// The database failed.
pub async fn outbox_stats(db: &PgPool) -> Result<crate::metrics::MailStats, sqlx::Error> {
    let (pending, oldest_pending_seconds): (i64, f64) = sqlx::query_as(
        "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
         FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL",
    )
    .fetch_one(db)
    .await?;
    Ok(crate::metrics::MailStats { pending, oldest_pending_seconds })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_15_seconds_doubling_to_an_hour() {
        let waits: Vec<u64> = (1..=10).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [15, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff(0).as_secs(), 15);
        assert_eq!(backoff(MAX_ATTEMPTS).as_secs(), 3600);
    }
}
