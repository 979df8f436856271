//! The UI's server functions for boards, workflows, models and administration. Each hands the
//! call to the server's [`TenantBackend`](super::backend::TenantBackend), the core the REST API
//! uses, so the UI and the API cannot disagree on who may see or change what. They take the
//! in-memory access token in the POST body and answer real HTTP statuses on errors.

use leptos::{prelude::*, server_fn::codec::Json};
use uuid::Uuid;

use super::{
    admin::{AdminUser, AdminUserPage, AdminUserUpdate},
    boards::Board,
    error::UiError,
    generation::ModelInfo,
    workflows::Workflow,
};

#[cfg(feature = "ssr")]
mod edge {
    use std::sync::Arc;

    use leptos::prelude::*;

    use crate::api::{backend::TenantBackend, error::UiError};

    /// Runs `work` against the backend the server provided, setting the HTTP status from an
    /// error (as the account functions do).
    pub async fn with_backend<T, Fut>(work: impl FnOnce(Arc<dyn TenantBackend>) -> Fut) -> Result<T, UiError>
    where
        Fut: Future<Output = Result<T, UiError>>,
    {
        let result = match use_context::<Arc<dyn TenantBackend>>() {
            Some(backend) => work(backend).await,
            None => Err(UiError::Failed("The server is not set up for this.".into())),
        };
        crate::api::account_fns::set_error_status(&result);
        result
    }
}

/// My boards.
#[server(prefix = "/api/v1/ui", endpoint = "boards")]
pub async fn ui_boards(access_token: String) -> Result<Vec<Board>, UiError> {
    edge::with_backend(async move |b| b.boards(&access_token).await).await
}

/// Make a board.
#[server(prefix = "/api/v1/ui", endpoint = "boards/create")]
pub async fn ui_create_board(access_token: String, name: String) -> Result<Board, UiError> {
    edge::with_backend(async move |b| b.create_board(&access_token, name).await).await
}

/// Rename a board of mine.
#[server(prefix = "/api/v1/ui", endpoint = "boards/rename")]
pub async fn ui_rename_board(access_token: String, id: Uuid, name: String) -> Result<Board, UiError> {
    edge::with_backend(async move |b| b.rename_board(&access_token, id, name).await).await
}

/// Delete a board of mine.
#[server(prefix = "/api/v1/ui", endpoint = "boards/delete")]
pub async fn ui_delete_board(access_token: String, id: Uuid) -> Result<(), UiError> {
    edge::with_backend(async move |b| b.delete_board(&access_token, id).await).await
}

/// My workflows (Pro and up).
#[server(prefix = "/api/v1/ui", endpoint = "workflows")]
pub async fn ui_workflows(access_token: String) -> Result<Vec<Workflow>, UiError> {
    edge::with_backend(async move |b| b.workflows(&access_token).await).await
}

/// Save a workflow (Pro and up).
#[server(prefix = "/api/v1/ui", endpoint = "workflows/create", input = Json)]
pub async fn ui_create_workflow(
    access_token: String,
    name: String,
    params: serde_json::Value,
) -> Result<Workflow, UiError> {
    edge::with_backend(async move |b| b.create_workflow(&access_token, name, params).await).await
}

/// Delete a workflow of mine (Pro and up).
#[server(prefix = "/api/v1/ui", endpoint = "workflows/delete")]
pub async fn ui_delete_workflow(access_token: String, id: Uuid) -> Result<(), UiError> {
    edge::with_backend(async move |b| b.delete_workflow(&access_token, id).await).await
}

/// The model catalog, with the plan each model needs.
#[server(prefix = "/api/v1/ui", endpoint = "models")]
pub async fn ui_models(access_token: String) -> Result<Vec<ModelInfo>, UiError> {
    edge::with_backend(async move |b| b.models(&access_token).await).await
}

/// Find users (superusers only).
#[server(prefix = "/api/v1/ui", endpoint = "admin/users")]
pub async fn ui_admin_users(
    access_token: String,
    search: Option<String>,
    offset: i64,
) -> Result<AdminUserPage, UiError> {
    edge::with_backend(async move |b| b.admin_users(&access_token, search, offset).await).await
}

/// Change a user's plan, quota, active or staff flag (superusers only; audited).
#[server(prefix = "/api/v1/ui", endpoint = "admin/users/update", input = Json)]
pub async fn ui_admin_update_user(
    access_token: String,
    id: Uuid,
    changes: AdminUserUpdate,
) -> Result<AdminUser, UiError> {
    edge::with_backend(async move |b| b.admin_update_user(&access_token, id, changes).await).await
}
