//! The OpenAPI document of REST API v1, served at `/api/v1/openapi.json`.
//!
//! Routes are registered here through `utoipa_axum::routes!`, which takes each handler's
//! `#[utoipa::path]` annotation: a route cannot be added without being described.

use utoipa::{
    Modify, OpenApi,
    openapi::{
        Content, Ref, RefOr, ResponseBuilder,
        path::ParameterIn,
        security::{Http, HttpAuthScheme, SecurityScheme},
    },
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::http::{
    AppState,
    rest::{
        account_data, admin, auth, billing, boards, email, gallery, generation, health, oauth, users,
        workflows,
    },
};

/// Document-level information; paths are added by [`api_router`].
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "PingvasAI API",
        version = "1",
        description = "REST API v1 of PingvasAI. Errors are `{\"error\": {\"code\", \"message\"}}`."
    ),
    modifiers(&BearerAuth),
    // Carried as JSON text inside the job event stream, which names it rather than embeds it.
    components(schemas(contract::images::JobEvent)),
    tags(
        (name = "auth", description = "Sign-in, tokens and sessions"),
        (name = "users", description = "The signed-in user's profile"),
        (name = "boards", description = "The signed-in user's boards (row-level security)"),
        (name = "generation", description = "Generation requests, jobs and models (quota-checked)"),
        (name = "images", description = "The signed-in user's gallery (row-level security)"),
        (name = "workflows", description = "Saved generation presets (Pro and up)"),
        (name = "billing", description = "Subscriptions, cards, invoices and the provider's webhook (404 where billing is not configured)"),
        (name = "admin", description = "User administration (superusers only)"),
        (name = "operations", description = "Probes and monitoring"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme that protected routes name.
#[derive(Debug)]
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Adds the answers every route may give before its handler runs, so clients (and fuzzers) find
/// them documented: 400 `invalid_json`, 415 `unsupported_media_type` and 422 `invalid_request`
/// (a field missing or of the wrong type) where a request body is read ([`crate::http::extractors::json::ApiJson`];
/// 400 also for a multipart body that cannot be read), and 400
/// `invalid_query` where a query string is ([`crate::http::extractors::query::ApiQuery`]). Each is an [`ErrorBody`](crate::http::error::ErrorBody).
pub fn document_rejections(openapi: &mut utoipa::openapi::OpenApi) {
    let error = |description: &str| {
        let content = Content::new(Some(Ref::from_schema_name("ErrorBody")));
        RefOr::T(ResponseBuilder::new().description(description).content("application/json", content).build())
    };
    for item in openapi.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
        for operation in operations.into_iter().flatten() {
            let reads_query = operation
                .parameters
                .iter()
                .flatten()
                .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
            let responses = &mut operation.responses.responses;
            if operation.request_body.is_some() {
                responses
                    .entry("400".into())
                    .or_insert_with(|| error("`invalid_json`: the body is not valid JSON (or multipart)"));
                responses.entry("415".into()).or_insert_with(|| {
                    error("`unsupported_media_type`: the body is not of the documented type")
                });
                responses
                    .entry("422".into())
                    .or_insert_with(|| error("`invalid_request`: a field is missing or of the wrong type"));
            } else if reads_query {
                responses
                    .entry("400".into())
                    .or_insert_with(|| error("`invalid_query`: a query parameter cannot be read"));
            }
        }
    }
}

/// The upload route, whose body may be larger than the API's default limit.
fn upload_route() -> utoipa_axum::router::UtoipaMethodRouter<AppState> {
    let (schemas, paths, route) = routes!(gallery::upload_image);
    let limit = pingvas_core::imaging::MAX_UPLOAD_BYTES + 64 * 1024;
    (schemas, paths, route.layer(axum::extract::DefaultBodyLimit::max(limit)))
}

/// The provider's webhook, with a body limit of its own (issue 33, finding 1): its MAC is computed
/// over the whole body, so the body must be small.
fn webhook_route() -> utoipa_axum::router::UtoipaMethodRouter<AppState> {
    let (schemas, paths, route) = routes!(billing::receive_webhook);
    (schemas, paths, route.layer(axum::extract::DefaultBodyLimit::max(billing::WEBHOOK_MAX_BODY_BYTES)))
}

/// Every documented route with its handler.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::list_sessions))
        .routes(routes!(auth::revoke_session))
        .routes(routes!(users::me, users::update_me, account_data::delete_account))
        .routes(routes!(account_data::export))
        .routes(routes!(users::change_password))
        .routes(routes!(email::confirm_email))
        .routes(routes!(email::resend_verification))
        .routes(routes!(email::request_password_reset))
        .routes(routes!(email::reset_password))
        .routes(routes!(email::change_email))
        .routes(routes!(oauth::providers))
        .routes(routes!(boards::list_boards, boards::create_board))
        .routes(routes!(boards::get_board, boards::update_board, boards::delete_board))
        .routes(routes!(workflows::list_workflows, workflows::create_workflow))
        .routes(routes!(workflows::get_workflow, workflows::update_workflow, workflows::delete_workflow))
        .routes(routes!(gallery::accept_image))
        .routes(routes!(generation::generate))
        .routes(routes!(generation::list_jobs))
        .routes(routes!(generation::get_job))
        .routes(routes!(generation::cancel_job))
        .routes(routes!(generation::events::job_events))
        .routes(routes!(gallery::list_images))
        .routes(upload_route())
        .routes(routes!(gallery::get_image, gallery::update_image, gallery::delete_image))
        .routes(routes!(gallery::image_file))
        .routes(routes!(gallery::image_thumbnail))
        .routes(routes!(generation::list_models))
        .routes(routes!(billing::overview))
        .routes(routes!(billing::card_setup))
        .routes(routes!(billing::subscribe, billing::change_plan))
        .routes(routes!(billing::cancel))
        .routes(routes!(billing::resume))
        .routes(routes!(billing::update_payment_method))
        .routes(routes!(billing::invoices))
        .routes(webhook_route())
        .routes(routes!(admin::list_users))
        .routes(routes!(admin::update_user))
}

/// The provider sign-in routes, which need the OAuth session layer.
pub fn oauth_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(oauth::google_start))
        .routes(routes!(oauth::google_callback))
        .routes(routes!(oauth::discord_start))
        .routes(routes!(oauth::discord_callback))
}
