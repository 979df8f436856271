//! The UI's server functions for boards, workflows, models and administration. Each calls the
//! same core function as the REST API (`pingvas_core::boards`, `workflows`, `admin`), so the UI
//! and the API cannot disagree on who may see or change what. They take the
//! in-memory access token in the POST body and answer real HTTP statuses on errors.

use leptos::{prelude::*, server_fn::codec::Json};

use contract::{
    admin::{AdminUser, AdminUserPage, AdminUserUpdate},
    boards::Board,
    error::UiError,
    generation::ModelInfo,
    workflows::Workflow,
};

#[cfg(feature = "ssr")]
use super::call::as_user;
use contract::ids::{BoardId, UserId, WorkflowId};
#[cfg(feature = "ssr")]
use pingvas_core::{admin, boards, workflows};

/// My boards.
#[server(prefix = "/api/v1/ui", endpoint = "boards")]
pub async fn ui_boards(access_token: String) -> Result<Vec<Board>, UiError> {
    as_user(&access_token, async |core, user| boards::list(&core.tenants, user.user_id).await).await
}

/// Make a board.
#[server(prefix = "/api/v1/ui", endpoint = "boards/create")]
pub async fn ui_create_board(access_token: String, name: String) -> Result<Board, UiError> {
    as_user(&access_token, async |core, user| boards::create(&core.tenants, user.user_id, &name).await).await
}

/// Rename a board of mine.
#[server(prefix = "/api/v1/ui", endpoint = "boards/rename")]
pub async fn ui_rename_board(access_token: String, id: BoardId, name: String) -> Result<Board, UiError> {
    as_user(&access_token, async |core, user| {
        boards::rename(&core.tenants, user.user_id, id, Some(&name)).await
    })
    .await
}

/// Delete a board of mine.
#[server(prefix = "/api/v1/ui", endpoint = "boards/delete")]
pub async fn ui_delete_board(access_token: String, id: BoardId) -> Result<(), UiError> {
    as_user(&access_token, async |core, user| boards::delete(&core.tenants, user.user_id, id).await).await
}

/// My workflows (Pro and up).
#[server(prefix = "/api/v1/ui", endpoint = "workflows")]
pub async fn ui_workflows(access_token: String) -> Result<Vec<Workflow>, UiError> {
    as_user(&access_token, async |core, user| workflows::list(&core.tenants, &user).await).await
}

/// Save a workflow (Pro and up).
#[server(prefix = "/api/v1/ui", endpoint = "workflows/create", input = Json)]
pub async fn ui_create_workflow(
    access_token: String,
    name: String,
    params: serde_json::Value,
) -> Result<Workflow, UiError> {
    as_user(&access_token, async |core, user| workflows::create(&core.tenants, &user, &name, &params).await)
        .await
}

/// Delete a workflow of mine (Pro and up).
#[server(prefix = "/api/v1/ui", endpoint = "workflows/delete")]
pub async fn ui_delete_workflow(access_token: String, id: WorkflowId) -> Result<(), UiError> {
    as_user(&access_token, async |core, user| workflows::delete(&core.tenants, &user, id).await).await
}

/// The model catalog, with the plan each model needs.
#[server(prefix = "/api/v1/ui", endpoint = "models")]
pub async fn ui_models(access_token: String) -> Result<Vec<ModelInfo>, UiError> {
    // Every model, locked ones too: the page shows what an upgrade would open.
    as_user(&access_token, async |core, _user| Ok::<_, UiError>(core.config.models.clone())).await
}

/// Find users (superusers only).
#[server(prefix = "/api/v1/ui", endpoint = "admin/users")]
pub async fn ui_admin_users(
    access_token: String,
    search: Option<String>,
    offset: i64,
) -> Result<AdminUserPage, UiError> {
    as_user(&access_token, async |core, user| {
        admin::list_users(&core.db, &user, search.as_deref(), Some(offset), None).await
    })
    .await
}

/// Change a user's plan, quota, active or staff flag (superusers only; audited).
#[server(prefix = "/api/v1/ui", endpoint = "admin/users/update", input = Json)]
pub async fn ui_admin_update_user(
    access_token: String,
    id: UserId,
    changes: AdminUserUpdate,
) -> Result<AdminUser, UiError> {
    as_user(&access_token, async |core, user| admin::update_user(core, &user, id, &changes).await).await
}
