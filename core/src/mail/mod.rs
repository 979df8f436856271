//! Mail: messages are written to an outbox table in the transaction of what they tell about
//! ([`Outbox::enqueue`], its body sealed), so a message goes out if and only if that commits, and
//! a background task sends them ([`sender`]), retrying with backoff while the SMTP server is down.

pub mod sender;
pub mod templates;

use std::sync::Arc;

use sqlx::PgConnection;
use uuid::Uuid;

use contract::ids::UserId;

use crate::{
    auth::token_cipher::{CipherError, TokenCipher},
    config::EncryptionKey,
};

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

/// Puts mail in the outbox with its body sealed: the body of most messages holds a link whose
/// token is a credential until used, so at rest it is encrypted with the server's
/// `TOKEN_ENCRYPTION_KEY` (as sign-in providers' tokens are) and bound to its message id; a
/// copy of the database alone cannot read it (issue 33, finding 10). The sender opens it.
#[derive(Clone)]
pub struct Outbox {
    cipher: Arc<TokenCipher>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Outbox([redacted])")
    }
}

/// What a sealed body holds: the plain-text and HTML forms.
#[derive(serde::Serialize, serde::Deserialize)]
struct Body {
    text: String,
    html: String,
}

impl Outbox {
    /// An outbox sealing with `key`.
    #[must_use]
    pub fn new(key: &EncryptionKey) -> Self {
        Self { cipher: Arc::new(TokenCipher::new(key)) }
    }

    /// Puts `mail` for `user` in the outbox; it is sent once the caller's transaction commits.
    /// Returns its id (also its `Message-ID`).
    ///
    /// # Errors
    /// The database failed (or the random source, reported as an encoding error).
    pub async fn enqueue(
        &self,
        conn: &mut PgConnection,
        user: Option<UserId>,
        mail: &Mail,
    ) -> Result<Uuid, sqlx::Error> {
        let message_id = Uuid::new_v4();
        let body = serde_json::to_string(&Body { text: mail.text.clone(), html: mail.html.clone() })
            .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        let sealed =
            self.cipher.seal(&body, &context(message_id)).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        sqlx::query(
            "INSERT INTO mail_outbox (message_id, user_id, recipient, subject, text_body, html_body, sealed_body)
             VALUES ($1, $2, $3, $4, '', '', $5)",
        )
        .bind(message_id)
        .bind(user)
        .bind(&mail.to)
        .bind(&mail.subject)
        .bind(sealed)
        .execute(conn)
        .await?;
        Ok(message_id)
    }

    /// The plain-text and HTML bodies of message `message_id` from its `sealed` form.
    ///
    /// # Errors
    /// [`CipherError::Open`]: another key sealed it, or it was altered or moved to another row.
    pub fn open(&self, message_id: Uuid, sealed: &[u8]) -> Result<(String, String), CipherError> {
        let body = self.cipher.open(sealed, &context(message_id))?;
        let body: Body = serde_json::from_str(&body).map_err(|_| CipherError::Open)?;
        Ok((body.text, body.html))
    }
}

/// What a message's seal is bound to, so a sealed body copied into another row fails to open.
fn context(message_id: Uuid) -> Vec<u8> {
    format!("mail:{message_id}").into_bytes()
}
