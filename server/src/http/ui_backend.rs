//! The core offered to the UI's server functions (`app::api::account_fns`, `tenant_fns`): the
//! same calls the REST API makes, with the same cookie and Origin rules, answering in the UI's
//! terms.

use app::api::{
    account::{
        ChangeEmailRequest, ChangePasswordRequest, DeleteAccountRequest, EmailConfirmed, LoginRequest,
        RegisterRequest, SessionInfo, SignInOptions, SignedIn, UpdateProfileRequest, UserProfile,
    },
    admin::{AdminUser, AdminUserPage, AdminUserUpdate},
    backend::{AccountBackend, TenantBackend, UiReply, UiRequest},
    boards::Board,
    error::UiError,
    generation::ModelInfo,
    workflows::Workflow,
};
use async_trait::async_trait;
use axum::http::header::USER_AGENT;
use std::net::{IpAddr, Ipv4Addr};
use uuid::Uuid;

use super::AppState;
use crate::{
    account_data,
    accounts::{AccountError, ClientContext, CurrentUser, IssuedTokens, SignedInSession},
    admin,
    auth::cookie::{clear_refresh_cookie, origin_allowed, read_refresh_cookie, set_refresh_cookie},
    boards,
    config::Provider,
    ids::{BoardId, SessionId, UserId, WorkflowId},
    links::{LinkOwner, LinkPurpose},
    workflows,
};

/// The UI's view of the accounts core.
#[derive(Debug, Clone)]
pub struct UiBackend {
    state: AppState,
}

impl UiBackend {
    /// The backend over the server's state.
    #[must_use]
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    fn secure(&self) -> bool {
        self.state.config.public_url.is_https()
    }

    fn client(&self, request: &UiRequest) -> ClientContext {
        let peer = request.peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.ip());
        ClientContext {
            ip: self.state.config.client_ip_source.client_ip(peer, &request.headers),
            user_agent: request.headers.get(USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
        }
    }

    fn check_origin(&self, request: &UiRequest) -> Result<(), UiError> {
        if origin_allowed(
            &request.headers,
            &self.state.config.public_url,
            &self.state.config.cors_allowed_origins,
        ) {
            Ok(())
        } else {
            tracing::warn!(origin = ?request.headers.get(axum::http::header::ORIGIN), "UI request from a foreign origin refused");
            Err(UiError::Refused {
                status: 403,
                message: "This request must come from the PingvasAI app itself.".into(),
            })
        }
    }

    fn cookie_for(&self, tokens: &IssuedTokens) -> String {
        set_refresh_cookie(&tokens.refresh, tokens.refresh_max_age(), self.secure())
    }

    fn signed_in(&self, signed_in: SignedInSession) -> UiReply<SignedIn> {
        let (body, tokens) = signed_in.into_body();
        UiReply { value: body, set_cookies: vec![self.cookie_for(&tokens)] }
    }

    /// The server's state.
    pub(super) fn state(&self) -> &AppState {
        &self.state
    }

    pub(super) async fn user(&self, access_token: &str) -> Result<CurrentUser, UiError> {
        self.state.accounts.authenticate(access_token).await.map_err(UiError::from)
    }
}

#[async_trait]
impl AccountBackend for UiBackend {
    fn sign_in_options(&self) -> SignInOptions {
        SignInOptions {
            google: self.state.oauth.is_configured(Provider::Google),
            discord: self.state.oauth.is_configured(Provider::Discord),
        }
    }

    async fn register(
        &self,
        request: &UiRequest,
        body: RegisterRequest,
    ) -> Result<UiReply<SignedIn>, UiError> {
        // These routes take plain form posts: without this, another site could sign a visitor
        // into an account of its choosing (login CSRF).
        self.check_origin(request)?;
        let signed_in =
            self.state.accounts.register(body, &self.client(request)).await.map_err(UiError::from)?;
        Ok(self.signed_in(signed_in))
    }

    async fn login(&self, request: &UiRequest, body: LoginRequest) -> Result<UiReply<SignedIn>, UiError> {
        self.check_origin(request)?;
        let signed_in =
            self.state.accounts.login(body, &self.client(request)).await.map_err(UiError::from)?;
        Ok(self.signed_in(signed_in))
    }

    async fn refresh(&self, request: &UiRequest) -> Result<UiReply<Option<SignedIn>>, UiError> {
        self.check_origin(request)?;
        let signed_out = || UiReply { value: None, set_cookies: vec![clear_refresh_cookie(self.secure())] };
        let Some(token) = read_refresh_cookie(&request.headers, self.secure()) else {
            return Ok(UiReply { value: None, set_cookies: Vec::new() });
        };
        let tokens = match self.state.accounts.refresh(&token, &self.client(request)).await {
            Ok(tokens) => tokens,
            Err(AccountError::Unauthenticated) => return Ok(signed_out()),
            Err(other) => return Err(other.into()),
        };
        // The tokens say whose they are: no need to verify the access token just signed.
        let profile = self.state.accounts.profile(tokens.user).await.map_err(UiError::from)?;
        let session = SignedInSession { tokens, user: profile };
        let reply = self.signed_in(session);
        Ok(UiReply { value: Some(reply.value), set_cookies: reply.set_cookies })
    }

    async fn logout(
        &self,
        request: &UiRequest,
        access_token: Option<String>,
    ) -> Result<UiReply<()>, UiError> {
        self.check_origin(request)?;
        let refresh = read_refresh_cookie(&request.headers, self.secure());
        self.state.accounts.logout(refresh.as_ref(), access_token.as_deref()).await.map_err(UiError::from)?;
        Ok(UiReply { value: (), set_cookies: vec![clear_refresh_cookie(self.secure())] })
    }

    async fn profile(&self, access_token: &str) -> Result<UserProfile, UiError> {
        let user = self.user(access_token).await?;
        self.state.accounts.profile(user.user_id).await.map_err(UiError::from)
    }

    async fn update_profile(
        &self,
        access_token: &str,
        body: UpdateProfileRequest,
    ) -> Result<UserProfile, UiError> {
        let user = self.user(access_token).await?;
        self.state.accounts.update_profile(&user, &body).await.map_err(UiError::from)
    }

    async fn change_password(
        &self,
        request: &UiRequest,
        access_token: &str,
        body: ChangePasswordRequest,
    ) -> Result<(), UiError> {
        let user = self.user(access_token).await?;
        self.state.accounts.change_password(&user, body, &self.client(request)).await.map_err(UiError::from)
    }

    async fn sessions(&self, access_token: &str) -> Result<Vec<SessionInfo>, UiError> {
        let user = self.user(access_token).await?;
        self.state.accounts.sessions(&user).await.map_err(UiError::from)
    }

    async fn revoke_session(&self, access_token: &str, id: Uuid) -> Result<(), UiError> {
        let user = self.user(access_token).await?;
        self.state.accounts.revoke_session(&user, SessionId(id)).await.map_err(UiError::from)
    }

    async fn confirm_email(&self, token: &str) -> Result<EmailConfirmed, UiError> {
        self.state.accounts.confirm_email(token).await.map_err(UiError::from)
    }

    async fn resend_verification(&self, access_token: &str) -> Result<(), UiError> {
        let user = self.user(access_token).await?;
        self.state.accounts.resend_verification(&user).await.map_err(UiError::from)
    }

    async fn request_password_reset(&self, request: &UiRequest, email: &str) -> Result<(), UiError> {
        self.state.accounts.request_password_reset(email, &self.client(request)).await.map_err(UiError::from)
    }

    async fn reset_password(&self, token: &str, new_password: String) -> Result<(), UiError> {
        self.state.accounts.reset_password(token, new_password).await.map_err(UiError::from)
    }

    async fn change_email(
        &self,
        request: &UiRequest,
        access_token: &str,
        body: ChangeEmailRequest,
    ) -> Result<(), UiError> {
        let user = self.user(access_token).await?;
        let client = self.client(request);
        self.state
            .accounts
            .request_email_change(&user, &body.new_email, body.current_password, &client)
            .await
            .map_err(UiError::from)
    }

    async fn delete_account(
        &self,
        request: &UiRequest,
        access_token: &str,
        body: DeleteAccountRequest,
    ) -> Result<UiReply<()>, UiError> {
        self.check_origin(request)?;
        let user = self.user(access_token).await?;
        account_data::erase(&self.state.accounts, &self.state.store, &user, body.current_password)
            .await
            .map_err(UiError::from)?;
        Ok(UiReply { value: (), set_cookies: vec![clear_refresh_cookie(self.secure())] })
    }

    async fn export_link(&self, access_token: &str) -> Result<String, UiError> {
        let user = self.user(access_token).await?;
        let owner = LinkOwner { user: user.user_id, session: user.session };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        Ok(self.state.links.link("/api/v1/users/me/export", LinkPurpose::Export, owner, user.user_id.0, now))
    }
}

#[async_trait]
impl TenantBackend for UiBackend {
    async fn boards(&self, access_token: &str) -> Result<Vec<Board>, UiError> {
        let user = self.user(access_token).await?;
        boards::list(&self.state.tenants, user.user_id).await.map_err(UiError::from)
    }

    async fn create_board(&self, access_token: &str, name: String) -> Result<Board, UiError> {
        let user = self.user(access_token).await?;
        boards::create(&self.state.tenants, user.user_id, &name).await.map_err(UiError::from)
    }

    async fn rename_board(&self, access_token: &str, id: Uuid, name: String) -> Result<Board, UiError> {
        let user = self.user(access_token).await?;
        boards::rename(&self.state.tenants, user.user_id, BoardId(id), Some(&name))
            .await
            .map_err(UiError::from)
    }

    async fn delete_board(&self, access_token: &str, id: Uuid) -> Result<(), UiError> {
        let user = self.user(access_token).await?;
        boards::delete(&self.state.tenants, user.user_id, BoardId(id)).await.map_err(UiError::from)
    }

    async fn workflows(&self, access_token: &str) -> Result<Vec<Workflow>, UiError> {
        let user = self.user(access_token).await?;
        workflows::list(&self.state.tenants, &user).await.map_err(UiError::from)
    }

    async fn create_workflow(
        &self,
        access_token: &str,
        name: String,
        params: serde_json::Value,
    ) -> Result<Workflow, UiError> {
        let user = self.user(access_token).await?;
        workflows::create(&self.state.tenants, &user, &name, &params).await.map_err(UiError::from)
    }

    async fn delete_workflow(&self, access_token: &str, id: Uuid) -> Result<(), UiError> {
        let user = self.user(access_token).await?;
        workflows::delete(&self.state.tenants, &user, WorkflowId(id)).await.map_err(UiError::from)
    }

    async fn models(&self, access_token: &str) -> Result<Vec<ModelInfo>, UiError> {
        self.user(access_token).await?;
        Ok(self.state.config.models.clone())
    }

    async fn admin_users(
        &self,
        access_token: &str,
        search: Option<String>,
        offset: i64,
    ) -> Result<AdminUserPage, UiError> {
        let user = self.user(access_token).await?;
        admin::list_users(&self.state.db, &user, search.as_deref(), Some(offset), None)
            .await
            .map_err(UiError::from)
    }

    async fn admin_update_user(
        &self,
        access_token: &str,
        id: Uuid,
        changes: AdminUserUpdate,
    ) -> Result<AdminUser, UiError> {
        let user = self.user(access_token).await?;
        admin::update_user(
            &self.state.db,
            &user,
            UserId(id),
            &changes,
            self.state.config.access_token_seconds,
        )
        .await
        .map_err(UiError::from)
    }
}
