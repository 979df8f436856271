//! User administration for superusers: find users; change plan, quota, active and staff flags.
//! Every change is written to `admin_audit_log` in the same transaction; deactivating a user ends
//! all of their sessions at once.

use contract::{
    admin::{AdminUser, AdminUserPage, AdminUserUpdate},
    plans::Plan,
};
use serde_json::json;
use time::OffsetDateTime;

use crate::{
    accounts::{CurrentUser, sessions},
    services::Core,
};
use contract::ids::UserId;

/// Largest page of users.
pub const MAX_PAGE: i64 = 100;

/// Why an administrative request did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The caller is not a superuser (403).
    #[error("Not enough permissions.")]
    Forbidden,
    /// No such user (404).
    #[error("Not found.")]
    NotFound,
    /// A field is invalid (422).
    #[error("{message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// For people.
        message: String,
    },
    /// The database failed (500).
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Ending the user's sessions failed (500).
    #[error(transparent)]
    Sessions(#[from] crate::accounts::AccountError),
}

#[derive(Debug, sqlx::FromRow)]
struct AdminUserRow {
    user_id: UserId,
    email: String,
    full_name: Option<String>,
    subscription_plan: String,
    monthly_image_quota: Option<i32>,
    monthly_images_generated: i32,
    billing_status: String,
    billing_subscription_id: Option<String>,
    billing_period_end: Option<OffsetDateTime>,
    billing_cancel_at_period_end: bool,
    is_active: bool,
    is_staff: bool,
    is_superuser: bool,
    created_at: OffsetDateTime,
}

impl From<AdminUserRow> for AdminUser {
    fn from(r: AdminUserRow) -> Self {
        Self {
            user_id: r.user_id,
            email: r.email,
            full_name: r.full_name,
            subscription_plan: r.subscription_plan,
            monthly_image_quota: r.monthly_image_quota,
            monthly_images_generated: r.monthly_images_generated,
            billing_status: r.billing_status,
            billing_subscription_id: r.billing_subscription_id,
            billing_period_end: r.billing_period_end,
            billing_cancel_at_period_end: r.billing_cancel_at_period_end,
            is_active: r.is_active,
            is_staff: r.is_staff,
            is_superuser: r.is_superuser,
            created_at: r.created_at,
        }
    }
}

const COLUMNS: &str = "user_id, email, full_name, subscription_plan, monthly_image_quota, \
                       monthly_images_generated, billing_status, billing_subscription_id, billing_period_end, \
                       billing_cancel_at_period_end, is_active, is_staff, is_superuser, created_at";

/// 403 unless `user` is a superuser.
///
/// # Errors
/// [`AdminError::Forbidden`].
pub fn require_superuser(user: &CurrentUser) -> Result<(), AdminError> {
    if user.is_superuser { Ok(()) } else { Err(AdminError::Forbidden) }
}

/// Users whose email, name or username contains `search`, newest first, a page at a time.
///
/// # Errors
/// 403 for non-superusers.
pub async fn list_users(
    db: &sqlx::PgPool,
    caller: &CurrentUser,
    search: Option<&str>,
    offset: Option<i64>,
    limit: Option<i64>,
) -> Result<AdminUserPage, AdminError> {
    require_superuser(caller)?;
    let (offset, limit) = (offset.unwrap_or(0).max(0), limit.unwrap_or(50).clamp(1, MAX_PAGE));
    // The pattern is a bind parameter; LIKE's own wildcards in it are escaped.
    let pattern = search
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| format!("%{}%", s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
    let filter = "($1::text IS NULL OR email ILIKE $1 OR full_name ILIKE $1 OR username ILIKE $1)";
    let total: i64 =
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM users WHERE {filter}")))
            .bind(&pattern)
            .fetch_one(db)
            .await?;
    let rows: Vec<AdminUserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users WHERE {filter} ORDER BY created_at DESC, user_id LIMIT $2 OFFSET $3"
    )))
    .bind(&pattern)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    Ok(AdminUserPage { items: rows.into_iter().map(AdminUser::from).collect(), total, offset, limit })
}

/// Applies `changes` to `target`, records them in the audit log, and ends the target's sessions
/// when deactivating.
///
/// # Errors
/// 403 for non-superusers, 404 for an unknown user, 422 for an unknown plan or negative quota.
pub async fn update_user(
    core: &Core,
    caller: &CurrentUser,
    target: UserId,
    changes: &AdminUserUpdate,
) -> Result<AdminUser, AdminError> {
    require_superuser(caller)?;
    let plan = changes
        .subscription_plan
        .as_deref()
        .map(|name| {
            Plan::parse(name).ok_or(AdminError::Invalid {
                field: "subscription_plan",
                message: "Choose free, pro, studio or enterprise.".into(),
            })
        })
        .transpose()?;
    if changes.monthly_image_quota.flatten().is_some_and(|q| q < 0) {
        return Err(AdminError::Invalid {
            field: "monthly_image_quota",
            message: "A quota cannot be negative.".into(),
        });
    }
    // A new plan brings its own quota unless one is given explicitly.
    let quota = changes.monthly_image_quota.or_else(|| plan.map(|p| p.limits().monthly_images));

    let mut tx = core.db.begin().await?;
    let row: Option<AdminUserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE users SET
             subscription_plan   = COALESCE($2, subscription_plan),
             is_active           = COALESCE($3, is_active),
             is_staff            = COALESCE($4, is_staff),
             monthly_image_quota = CASE WHEN $5 THEN $6 ELSE monthly_image_quota END
         WHERE user_id = $1 RETURNING {COLUMNS}"
    )))
    .bind(target)
    .bind(plan.map(Plan::as_str))
    .bind(changes.is_active)
    .bind(changes.is_staff)
    .bind(quota.is_some())
    .bind(quota.flatten())
    .fetch_optional(&mut *tx)
    .await?;
    let row = row.ok_or(AdminError::NotFound)?;
    if changes.is_active == Some(false) {
        sessions::revoke(&mut tx, target, sessions::Revoke::All, core.config.access_token_seconds).await?;
    }
    let recorded = json!({
        "subscription_plan": plan.map(Plan::as_str),
        "is_active": changes.is_active,
        "is_staff": changes.is_staff,
        "monthly_image_quota": quota,
    });
    sqlx::query("INSERT INTO admin_audit_log (actor_id, target_id, action, changes) VALUES ($1, $2, 'update_user', $3::jsonb)")
        .bind(caller.user_id)
        .bind(target)
        .bind(recorded.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    core.accounts.forget_checks_of(target);
    tracing::info!(actor = %caller.user_id, target = %target, changes = %recorded, "administrator changed a user");
    Ok(row.into())
}
