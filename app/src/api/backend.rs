//! What the server provides to the UI's server functions (server side only): the accounts core
//! behind a trait, so this crate needs neither the database nor the keys. The server implements
//! it over the very functions its REST API calls.

use std::net::SocketAddr;

use async_trait::async_trait;
use http::HeaderMap;
use uuid::Uuid;

use super::{
    account::{
        ChangeEmailRequest, ChangePasswordRequest, DeleteAccountRequest, EmailConfirmed, LoginRequest,
        RegisterRequest, SessionInfo, SignInOptions, SignedIn, UpdateProfileRequest, UserProfile,
    },
    admin::{AdminUser, AdminUserPage, AdminUserUpdate},
    boards::Board,
    error::UiError,
    generation::{GenerateRequest, Job, JobAccepted, ModelInfo},
    images::{ImageFilter, ImageInfo, ImagePage, UpdateImage},
    workflows::Workflow,
};

/// The parts of the HTTP request the core needs: headers (cookie, origin, user agent, proxy
/// header) and the socket peer.
#[derive(Debug, Clone, Default)]
pub struct UiRequest {
    /// Request headers.
    pub headers: HeaderMap,
    /// The TCP peer, when known.
    pub peer: Option<SocketAddr>,
}

/// A result and the `Set-Cookie` values to send with it.
#[derive(Debug, Clone)]
pub struct UiReply<T> {
    /// The result.
    pub value: T,
    /// Cookies to set or clear.
    pub set_cookies: Vec<String>,
}

/// The accounts core, as the UI sees it.
#[async_trait]
pub trait AccountBackend: Send + Sync + 'static {
    /// Which providers are offered.
    fn sign_in_options(&self) -> SignInOptions;
    /// Registers and signs in.
    async fn register(
        &self,
        request: &UiRequest,
        body: RegisterRequest,
    ) -> Result<UiReply<SignedIn>, UiError>;
    /// Signs in with a password.
    async fn login(&self, request: &UiRequest, body: LoginRequest) -> Result<UiReply<SignedIn>, UiError>;
    /// Exchanges the refresh cookie; `None` when there is no live session.
    async fn refresh(&self, request: &UiRequest) -> Result<UiReply<Option<SignedIn>>, UiError>;
    /// Signs out the cookie's session and revokes `access_token`.
    async fn logout(&self, request: &UiRequest, access_token: Option<String>)
    -> Result<UiReply<()>, UiError>;
    /// The caller's profile.
    async fn profile(&self, access_token: &str) -> Result<UserProfile, UiError>;
    /// Edits the caller's profile.
    async fn update_profile(
        &self,
        access_token: &str,
        body: UpdateProfileRequest,
    ) -> Result<UserProfile, UiError>;
    /// Changes the caller's password, ending their other sessions.
    async fn change_password(
        &self,
        request: &UiRequest,
        access_token: &str,
        body: ChangePasswordRequest,
    ) -> Result<(), UiError>;
    /// The caller's active sessions.
    async fn sessions(&self, access_token: &str) -> Result<Vec<SessionInfo>, UiError>;
    /// Ends one of the caller's sessions.
    async fn revoke_session(&self, access_token: &str, id: Uuid) -> Result<(), UiError>;
    /// Confirms an address with an emailed link's token.
    async fn confirm_email(&self, token: &str) -> Result<EmailConfirmed, UiError>;
    /// Sends the caller another verification link.
    async fn resend_verification(&self, access_token: &str) -> Result<(), UiError>;
    /// Sends a password-reset link if the address has an account (the answer never says).
    async fn request_password_reset(&self, request: &UiRequest, email: &str) -> Result<(), UiError>;
    /// Sets a new password with a reset link's token.
    async fn reset_password(&self, token: &str, new_password: String) -> Result<(), UiError>;
    /// Starts moving the caller's account to a new address.
    async fn change_email(
        &self,
        request: &UiRequest,
        access_token: &str,
        body: ChangeEmailRequest,
    ) -> Result<(), UiError>;
    /// Deletes the caller's account and everything it holds; clears the cookie.
    async fn delete_account(
        &self,
        request: &UiRequest,
        access_token: &str,
        body: DeleteAccountRequest,
    ) -> Result<UiReply<()>, UiError>;
    /// A signed link that downloads the caller's data export.
    async fn export_link(&self, access_token: &str) -> Result<String, UiError>;
}

/// The tenant-scoped core (boards, workflows, models) and user administration, as the UI sees
/// it: every call names the caller by their access token, and runs through the same functions
/// (row-level security, plan gates, superuser checks) as the REST API.
#[async_trait]
pub trait TenantBackend: Send + Sync + 'static {
    /// The caller's boards.
    async fn boards(&self, access_token: &str) -> Result<Vec<Board>, UiError>;
    /// Creates a board.
    async fn create_board(&self, access_token: &str, name: String) -> Result<Board, UiError>;
    /// Renames one of the caller's boards.
    async fn rename_board(&self, access_token: &str, id: Uuid, name: String) -> Result<Board, UiError>;
    /// Deletes one of the caller's boards.
    async fn delete_board(&self, access_token: &str, id: Uuid) -> Result<(), UiError>;
    /// The caller's workflows (Pro and up).
    async fn workflows(&self, access_token: &str) -> Result<Vec<Workflow>, UiError>;
    /// Saves a workflow (Pro and up).
    async fn create_workflow(
        &self,
        access_token: &str,
        name: String,
        params: serde_json::Value,
    ) -> Result<Workflow, UiError>;
    /// Deletes one of the caller's workflows (Pro and up).
    async fn delete_workflow(&self, access_token: &str, id: Uuid) -> Result<(), UiError>;
    /// Every model of the catalog; the caller's plan decides which they may use.
    async fn models(&self, access_token: &str) -> Result<Vec<ModelInfo>, UiError>;
    /// A page of users (superusers only).
    async fn admin_users(
        &self,
        access_token: &str,
        search: Option<String>,
        offset: i64,
    ) -> Result<AdminUserPage, UiError>;
    /// Changes a user (superusers only; audited).
    async fn admin_update_user(
        &self,
        access_token: &str,
        id: Uuid,
        changes: AdminUserUpdate,
    ) -> Result<AdminUser, UiError>;
}

/// Generation and the gallery, as the UI sees them: the same core functions as the REST API
/// (plan gates, quotas, row-level security), the caller named by their access token.
#[async_trait]
pub trait GalleryBackend: Send + Sync + 'static {
    /// Checks, reserves and queues a generation request.
    async fn generate(&self, access_token: &str, request: GenerateRequest) -> Result<JobAccepted, UiError>;
    /// One of the caller's jobs.
    async fn job(&self, access_token: &str, id: Uuid) -> Result<Job, UiError>;
    /// Cancels one of the caller's jobs.
    async fn cancel_job(&self, access_token: &str, id: Uuid) -> Result<Job, UiError>;
    /// A page of the caller's images.
    async fn images(&self, access_token: &str, filter: ImageFilter) -> Result<ImagePage, UiError>;
    /// One of the caller's images.
    async fn image(&self, access_token: &str, id: Uuid) -> Result<ImageInfo, UiError>;
    /// Stars or moves one of the caller's images.
    async fn update_image(
        &self,
        access_token: &str,
        id: Uuid,
        edit: UpdateImage,
    ) -> Result<ImageInfo, UiError>;
    /// Deletes one of the caller's images and its files.
    async fn delete_image(&self, access_token: &str, id: Uuid) -> Result<(), UiError>;
}
