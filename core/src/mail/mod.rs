//! Mail: messages are written to an outbox table in the transaction of what they tell about
//! ([`enqueue`]), so a message goes out if and only if that commits, and a background task sends
//! them ([`sender`]), retrying with backoff while the SMTP server is down.

pub mod sender;
pub mod templates;

use sqlx::PgConnection;
use uuid::Uuid;

use contract::ids::UserId;

/// A message to one person, in plain text and HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The address it goes to.
    pub to: String,
    /// Its subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body (the same words).
    pub html: String,
}

/// Puts `mail` for `user` in the outbox; it is sent once the caller's transaction commits.
/// Returns its id (also its `Message-ID`).
///
/// # Errors
/// The database failed.
pub async fn enqueue(
    conn: &mut PgConnection,
    user: Option<UserId>,
    mail: &Mail,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO mail_outbox (user_id, recipient, subject, text_body, html_body)
         VALUES ($1, $2, $3, $4, $5) RETURNING message_id",
    )
    .bind(user)
    .bind(&mail.to)
    .bind(&mail.subject)
    .bind(&mail.text)
    .bind(&mail.html)
    .fetch_one(conn)
    .await
}
