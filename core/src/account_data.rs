//! Everything an account holds, across the database and the object store: exported as one
//! archive for its owner, or erased with the account (SECURITY.md 47).
//!
//! The export reads the tenant tables in one transaction bound to the owner (row-level security
//! applies, so it cannot reach anyone else's rows) and writes `account.json` and every image file
//! into a zip in an unlinked temporary file: memory holds one image at a time, and nothing is
//! left on disk whatever happens to the download.

use std::io::{Seek, Write};

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::{
    Core,
    accounts::{AccountError, Accounts, CurrentUser},
    links::{LinkOwner, LinkPurpose, LinkSigner},
    storage::{ImageStore, StorageError},
    tenancy::TenantDb,
};
use contract::ids::UserId;

/// The tenant tables an export lists, each row as stored minus its owner column.
const TENANT_TABLES: [&str; 5] = ["boards", "workflows", "models", "generation_jobs", "images"];

fn internal(error: impl std::fmt::Display) -> AccountError {
    AccountError::Internal(error.to_string())
}

/// A link that downloads `user`'s export while their session lasts (valid for an hour): a
/// browser's download sends no bearer token.
#[must_use]
pub fn export_link(links: &LinkSigner, user: &CurrentUser, now: OffsetDateTime) -> String {
    let owner = LinkOwner { user: user.user_id, session: user.session };
    links.link(&["/api/v1/users/me/export"], LinkPurpose::Export, owner, user.user_id.0, now.unix_timestamp())
}

/// Exports being written or downloaded, bounded (issue 33, finding 8): each writes the whole
/// gallery into a temporary file that lives until its download ends, so without a bound a few
/// requests could fill the disk. At most `slots` at once on this instance, and one per account.
#[derive(Debug, Clone)]
pub struct ExportSlots {
    slots: std::sync::Arc<tokio::sync::Semaphore>,
    users: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<UserId>>>,
}

/// An export's turn; dropping it (when the download ends or fails) frees it.
#[derive(Debug)]
pub struct ExportPermit {
    _slot: tokio::sync::OwnedSemaphorePermit,
    user: UserId,
    users: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<UserId>>>,
}

impl Drop for ExportPermit {
    fn drop(&mut self) {
        self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&self.user);
    }
}

/// How long a refused export is told to wait.
const EXPORT_RETRY: std::time::Duration = std::time::Duration::from_secs(30);

impl ExportSlots {
    /// At most `slots` exports at once (at least one).
    #[must_use]
    pub fn new(slots: usize) -> Self {
        Self {
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(slots.max(1))),
            users: std::sync::Arc::default(),
        }
    }

    /// A turn for `user`'s export, without waiting.
    ///
    /// # Errors
    /// [`AccountError::ExportBusy`] when every slot is taken or `user` already has one.
    pub fn take(&self, user: UserId) -> Result<ExportPermit, AccountError> {
        let mut users = self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if users.contains(&user) {
            return Err(AccountError::ExportBusy(EXPORT_RETRY));
        }
        let slot = std::sync::Arc::clone(&self.slots)
            .try_acquire_owned()
            .map_err(|_| AccountError::ExportBusy(EXPORT_RETRY))?;
        users.insert(user);
        Ok(ExportPermit { _slot: slot, user, users: std::sync::Arc::clone(&self.users) })
    }
}

/// One file of the archive.
struct Entry {
    name: String,
    bytes: Vec<u8>,
    compress: bool,
}

/// Writes `owner`'s archive and returns it as an open, rewound file that has no name on disk.
///
/// # Errors
/// The database, the object store or the temporary file failed.
pub async fn export(
    accounts: &Accounts,
    tenants: &TenantDb,
    store: &ImageStore,
    owner: LinkOwner,
) -> Result<std::fs::File, AccountError> {
    let (document, files) = document(accounts, tenants, owner).await?;
    let (sender, entries) = std::sync::mpsc::sync_channel::<Entry>(2);
    let writer = tokio::task::spawn_blocking(move || write_zip(&entries));
    let json = serde_json::to_vec_pretty(&document).map_err(internal)?;
    let mut sent = sender.send(Entry { name: "account.json".into(), bytes: json, compress: true }).is_ok();
    for (name, key) in files {
        if !sent {
            break;
        }
        match store.get(&key).await {
            Ok(bytes) => sent = sender.send(Entry { name, bytes: bytes.to_vec(), compress: false }).is_ok(),
            Err(StorageError::NotFound(_)) => {
                tracing::error!(key, "image row without its file; left out of the export")
            }
            Err(e) => return Err(internal(e)),
        }
    }
    drop(sender);
    writer.await.map_err(internal)?
}

/// `account.json` and the (archive name, storage key) of every image file.
async fn document(
    accounts: &Accounts,
    tenants: &TenantDb,
    owner: LinkOwner,
) -> Result<(Value, Vec<(String, String)>), AccountError> {
    let user = owner.user;
    let profile = accounts.profile(user).await?;
    let sessions = accounts.sessions_of(user, owner.session).await?;
    let mut tx = tenants.begin(user).await?;
    let mut tables = serde_json::Map::new();
    for table in TENANT_TABLES {
        let rows: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT coalesce(jsonb_agg(to_jsonb(t) - 'user_id' ORDER BY t.created_at), '[]'::jsonb)::text
             FROM {table} t WHERE t.user_id = $1"
        )))
        .bind(user)
        .fetch_one(tx.conn())
        .await?;
        tables.insert(table.to_owned(), serde_json::from_str(&rows).map_err(internal)?);
    }
    // What each provider said at the latest sign-in; its tokens stay sealed and out.
    let identities: String = sqlx::query_scalar(
        "SELECT coalesce(jsonb_agg(jsonb_build_object('provider', provider, 'email', email,
                    'email_verified', email_verified, 'linked_at', created_at, 'last_login_at', last_login_at)
                    ORDER BY created_at), '[]'::jsonb)::text
         FROM user_identities WHERE user_id = $1",
    )
    .bind(user)
    .fetch_one(tx.conn())
    .await?;
    let files: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("SELECT image_id, storage_key FROM images WHERE user_id = $1 ORDER BY created_at")
            .bind(user)
            .fetch_all(tx.conn())
            .await?;
    tx.commit().await?;
    let files = files
        .into_iter()
        .map(|(id, key)| {
            let extension = key.rsplit('.').next().unwrap_or("png").to_owned();
            (format!("images/{id}.{extension}"), key)
        })
        .collect();
    let document = json!({
        "format": "pingvas-export/1",
        "exported_at": OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).map_err(internal)?,
        "profile": profile,
        "sign_in_providers": serde_json::from_str::<Value>(&identities).map_err(internal)?,
        "sessions": sessions,
        "tables": tables,
        "files": "images/{image_id}.{extension}: each image's file as stored",
    });
    Ok((document, files))
}

/// Writes the entries into a zip in an unnamed temporary file and hands it back rewound.
fn write_zip(entries: &std::sync::mpsc::Receiver<Entry>) -> Result<std::fs::File, AccountError> {
    let path = std::env::temp_dir().join(format!("pingvas-export-{}.zip", uuid::Uuid::new_v4().simple()));
    let file =
        std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path).map_err(internal)?;
    // Unlinked at once: the open handle keeps the data until the download ends or fails.
    std::fs::remove_file(&path).map_err(internal)?;
    let mut zip = zip::ZipWriter::new(file);
    for entry in entries {
        let method =
            if entry.compress { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored };
        let options = zip::write::FileOptions::default().compression_method(method);
        zip.start_file(entry.name, options).map_err(internal)?;
        zip.write_all(&entry.bytes).map_err(internal)?;
    }
    let mut file = zip.finish().map_err(internal)?;
    file.rewind().map_err(internal)?;
    Ok(file)
}

/// Deletes `user`'s account after checking it is them ([`Accounts::reauthenticate`]): the user
/// row goes, and with it every row that references it (sessions, identities, tokens, mail,
/// boards, jobs, images…); in the same transaction their billing customer is queued for erasure
/// at the provider (every subscription cancelled, then the customer deleted: done at once where
/// the provider answers, retried by the billing sweep where it does not); then every file under
/// their prefix in the object store goes. Files a running job writes later are removed by its
/// worker, which finds the job gone.
///
/// # Errors
/// 401 `wrong_password`, 403 `reauthentication_required`; the database failed (nothing is
/// deleted).
pub async fn erase(core: &Core, user: &CurrentUser, password: Option<String>) -> Result<(), AccountError> {
    core.accounts.reauthenticate(user, password).await?;
    let mut tx = core.db.begin().await?;
    let customer = crate::billing::queue_erasure(&mut tx, user.user_id).await?;
    Accounts::delete_user(&mut tx, user.user_id).await?;
    tx.commit().await?;
    core.accounts.forget_checks_of(user.user_id);
    if let Some(customer) = customer {
        crate::billing::erase_customer(core, &customer).await;
    }
    // Rows first: a file left by a failed delete is unreachable; a row without its file would
    // be a broken gallery entry for an account that still exists.
    delete_files(&core.store, user.user_id).await;
    tracing::info!(user = %user.user_id, "account deleted");
    Ok(())
}

async fn delete_files(store: &ImageStore, user: UserId) {
    match store.delete_all_of(user).await {
        Ok(files) => tracing::info!(%user, files, "deleted account's files removed"),
        Err(error) => tracing::error!(%user, %error, "a deleted account's files could not all be removed"),
    }
}
