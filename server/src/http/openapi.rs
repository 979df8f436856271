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

use super::{
    AppState, account_data_api, admin_api, auth_api, boards_api, email_api, generation_api, health,
    images_api, job_events_api, oauth_api, users_api, workflows_api,
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
    components(schemas(app::api::images::JobEvent)),
    tags(
        (name = "auth", description = "Sign-in, tokens and sessions"),
        (name = "users", description = "The signed-in user's profile"),
        (name = "boards", description = "The signed-in user's boards (row-level security)"),
        (name = "generation", description = "Generation requests, jobs and models (quota-checked)"),
        (name = "images", description = "The signed-in user's gallery (row-level security)"),
        (name = "workflows", description = "Saved generation presets (Pro and up)"),
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
/// (a field missing or of the wrong type) where a request body is read ([`super::json::ApiJson`];
/// 400 also for a multipart body that cannot be read), and 400
/// `invalid_query` where a query string is ([`super::query::ApiQuery`]). Each is an [`ErrorBody`](super::error::ErrorBody).
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
    let (schemas, paths, route) = routes!(images_api::upload_image);
    let limit = crate::imaging::MAX_UPLOAD_BYTES + 64 * 1024;
    (schemas, paths, route.layer(axum::extract::DefaultBodyLimit::max(limit)))
}

/// Every documented route with its handler.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(auth_api::register))
        .routes(routes!(auth_api::login))
        .routes(routes!(auth_api::refresh))
        .routes(routes!(auth_api::logout))
        .routes(routes!(auth_api::list_sessions))
        .routes(routes!(auth_api::revoke_session))
        .routes(routes!(users_api::me, users_api::update_me, account_data_api::delete_account))
        .routes(routes!(account_data_api::export))
        .routes(routes!(users_api::change_password))
        .routes(routes!(email_api::confirm_email))
        .routes(routes!(email_api::resend_verification))
        .routes(routes!(email_api::request_password_reset))
        .routes(routes!(email_api::reset_password))
        .routes(routes!(email_api::change_email))
        .routes(routes!(oauth_api::providers))
        .routes(routes!(boards_api::list_boards, boards_api::create_board))
        .routes(routes!(boards_api::get_board, boards_api::update_board, boards_api::delete_board))
        .routes(routes!(workflows_api::list_workflows, workflows_api::create_workflow))
        .routes(routes!(
            workflows_api::get_workflow,
            workflows_api::update_workflow,
            workflows_api::delete_workflow
        ))
        .routes(routes!(generation_api::generate))
        .routes(routes!(generation_api::list_jobs))
        .routes(routes!(generation_api::get_job))
        .routes(routes!(generation_api::cancel_job))
        .routes(routes!(job_events_api::job_events))
        .routes(routes!(images_api::list_images))
        .routes(upload_route())
        .routes(routes!(images_api::get_image, images_api::update_image, images_api::delete_image))
        .routes(routes!(images_api::image_file))
        .routes(routes!(images_api::image_thumbnail))
        .routes(routes!(generation_api::list_models))
        .routes(routes!(admin_api::list_users))
        .routes(routes!(admin_api::update_user))
}

/// The provider sign-in routes, which need the OAuth session layer.
pub fn oauth_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(oauth_api::google_start))
        .routes(routes!(oauth_api::google_callback))
        .routes(routes!(oauth_api::discord_start))
        .routes(routes!(oauth_api::discord_callback))
}
