//! Workflows (saved generation presets): a tenant table like boards, open to Pro and up.

use contract::{plans::Plan, workflows::Workflow};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    accounts::CurrentUser,
    boards::check_name,
    tenancy::{TenantDb, TenantError},
};
use contract::ids::WorkflowId;

/// Largest `params` object, serialised.
pub const MAX_PARAMS_BYTES: usize = 16 * 1024;

#[derive(Debug, sqlx::FromRow)]
struct WorkflowRow {
    workflow_id: WorkflowId,
    name: String,
    params: String,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl TryFrom<WorkflowRow> for Workflow {
    type Error = TenantError;

    fn try_from(row: WorkflowRow) -> Result<Self, TenantError> {
        Ok(Self {
            workflow_id: row.workflow_id,
            name: row.name,
            params: serde_json::from_str(&row.params).map_err(TenantError::corrupt)?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

const COLUMNS: &str = "workflow_id, name, params::text AS params, created_at, updated_at";

/// 403 unless the caller's plan includes saved workflows.
///
/// # Errors
/// [`TenantError::PlanRequired`] naming the cheapest plan that does.
pub fn require_workflows(user: &CurrentUser) -> Result<(), TenantError> {
    if user.plan.limits().workflows {
        return Ok(());
    }
    Err(TenantError::PlanRequired(Plan::cheapest_where(|l| l.workflows).unwrap_or(Plan::Enterprise)))
}

/// The parameters as stored: a JSON object of at most [`MAX_PARAMS_BYTES`].
///
/// # Errors
/// A 422 for `params`.
pub fn check_params(params: &serde_json::Value) -> Result<String, TenantError> {
    let text = params.to_string();
    if contract::text::json_has_nul(text.as_bytes()) {
        return Err(TenantError::invalid(
            "invalid_params",
            "params",
            "Parameters may not contain the NUL character (\\u0000).",
        ));
    }
    if !params.is_object() || text.len() > MAX_PARAMS_BYTES {
        return Err(TenantError::invalid(
            "invalid_params",
            "params",
            format!("Parameters must be a JSON object of at most {} KiB.", MAX_PARAMS_BYTES / 1024),
        ));
    }
    Ok(text)
}

/// The caller's workflows, oldest first.
///
/// # Errors
/// 403 below Pro.
pub async fn list(db: &TenantDb, user: &CurrentUser) -> Result<Vec<Workflow>, TenantError> {
    require_workflows(user)?;
    let mut tx = db.begin(user.user_id).await?;
    let rows: Vec<WorkflowRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM workflows WHERE user_id = $1 ORDER BY created_at, workflow_id"
    )))
    .bind(user.user_id)
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    rows.into_iter().map(Workflow::try_from).collect()
}

/// Saves a workflow for the caller.
///
/// # Errors
/// 403 below Pro; 422 for an invalid name or parameters.
pub async fn create(
    db: &TenantDb,
    user: &CurrentUser,
    name: &str,
    params: &serde_json::Value,
) -> Result<Workflow, TenantError> {
    require_workflows(user)?;
    let (name, params) = (check_name(name)?, check_params(params)?);
    let mut tx = db.begin(user.user_id).await?;
    let row: WorkflowRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO workflows (user_id, name, params) VALUES ($1, $2, $3::jsonb) RETURNING {COLUMNS}"
    )))
    .bind(user.user_id)
    .bind(name)
    .bind(params)
    .fetch_one(tx.conn())
    .await?;
    tx.commit().await?;
    row.try_into()
}

/// One of the caller's workflows.
///
/// # Errors
/// 403 below Pro; 404 if it is not theirs.
pub async fn get(db: &TenantDb, user: &CurrentUser, id: WorkflowId) -> Result<Workflow, TenantError> {
    require_workflows(user)?;
    let mut tx = db.begin(user.user_id).await?;
    let row: Option<WorkflowRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM workflows WHERE workflow_id = $1 AND user_id = $2"
    )))
    .bind(id)
    .bind(user.user_id)
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    row.ok_or(TenantError::NotFound)?.try_into()
}

/// Renames and/or replaces the parameters of one of the caller's workflows.
///
/// # Errors
/// 403 below Pro; 404 if it is not theirs; 422 for invalid fields.
pub async fn update(
    db: &TenantDb,
    user: &CurrentUser,
    id: Uuid,
    name: Option<&str>,
    params: Option<&serde_json::Value>,
) -> Result<Workflow, TenantError> {
    require_workflows(user)?;
    let name = name.map(check_name).transpose()?;
    let params = params.map(check_params).transpose()?;
    let mut tx = db.begin(user.user_id).await?;
    let row: Option<WorkflowRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE workflows SET name = COALESCE($3, name), params = COALESCE($4::jsonb, params)
         WHERE workflow_id = $1 AND user_id = $2 RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(user.user_id)
    .bind(name)
    .bind(params)
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    row.ok_or(TenantError::NotFound)?.try_into()
}

/// Deletes one of the caller's workflows.
///
/// # Errors
/// 403 below Pro; 404 if it is not theirs.
pub async fn delete(db: &TenantDb, user: &CurrentUser, id: WorkflowId) -> Result<(), TenantError> {
    require_workflows(user)?;
    db.delete_owned(user.user_id, "workflows", "workflow_id", id.0).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_must_be_a_small_object() {
        assert!(check_params(&serde_json::json!({"prompt": "a penguin", "steps": 20})).is_ok());
        assert!(check_params(&serde_json::json!([1, 2])).is_err());
        assert!(check_params(&serde_json::json!("text")).is_err());
        assert!(check_params(&serde_json::json!({"prompt": "x".repeat(MAX_PARAMS_BYTES)})).is_err());
    }
}
