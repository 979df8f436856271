//! The foundation, black-box: probes, pages, the 404 page and the OpenAPI document, through the
//! same router the binary serves, each test on its own fresh database.

use crate::common;

use axum::http::{StatusCode, header};
use common::{TestDatabase, app, body_json, body_text, get};
use pingvas_core::db;

#[tokio::test]
async fn healthz_answers_ok() {
    let test_db = TestDatabase::migrated().await;
    let response = get(&app(test_db.pool.clone()), "/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_json(response).await, serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn readyz_is_ready_once_migrations_are_applied() {
    let test_db = TestDatabase::migrated().await;
    let response = get(&app(test_db.pool.clone()), "/readyz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_json(response).await, serde_json::json!({"status": "ready"}));
}

#[tokio::test]
async fn readyz_is_unavailable_before_migrations() {
    let test_db = TestDatabase::empty().await;
    let router = app(test_db.pool.clone());
    let response = get(&router, "/readyz").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body_json(response).await["error"]["code"], "migrations_pending");

    db::migrate(&test_db.pool).await.unwrap();
    assert_eq!(get(&router, "/readyz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn readyz_is_unavailable_when_the_database_is_unreachable_while_healthz_stays_ok() {
    // A port that was free a moment ago: nothing answers there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let unreachable =
        sqlx::postgres::PgConnectOptions::new().host("127.0.0.1").port(port).database("nowhere");
    let router = app(db::pool(unreachable, 1));

    let response = get(&router, "/readyz").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = body_json(response).await;
    assert_eq!(body["error"]["code"], "database_unreachable");
    assert!(!body.to_string().contains(&port.to_string()), "no internal detail leaks: {body}");

    assert_eq!(get(&router, "/healthz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn home_page_is_server_rendered_with_name_sign_in_link_and_hydration_scripts() {
    let test_db = TestDatabase::migrated().await;
    let response = get(&app(test_db.pool.clone()), "/").await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = body_text(response).await;
    assert!(html.contains(r#"data-testid="product-name">PingvasAI</h1>"#), "{html}");
    assert!(html.contains(r#"href="/login""#), "sign-in link missing: {html}");
    assert!(html.contains(r#"data-testid="inspire-button""#));
    // Rendered on the server, not yet hydrated; the bundle that will hydrate it is referenced.
    assert!(html.contains(r#"data-hydrated="false""#));
    assert!(html.contains("/pkg/pingvas.js"), "hydration script missing: {html}");
    assert!(html.contains("<title>Create images with Stable Diffusion · PingvasAI</title>"), "{html}");
}

#[tokio::test]
async fn unknown_page_renders_the_not_found_page_with_status_404() {
    let test_db = TestDatabase::migrated().await;
    let response = get(&app(test_db.pool.clone()), "/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let html = body_text(response).await;
    assert!(html.contains(r#"data-testid="not-found""#), "{html}");
    assert!(html.contains("Page not found"));
}

#[tokio::test]
async fn unknown_api_route_answers_json_404() {
    let test_db = TestDatabase::migrated().await;
    let response = get(&app(test_db.pool.clone()), "/api/v1/nothing-here").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(body_json(response).await["error"]["code"], "not_found");
}

#[tokio::test]
async fn openapi_document_describes_the_probes() {
    let test_db = TestDatabase::migrated().await;
    let response = get(&app(test_db.pool.clone()), "/api/v1/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc = body_json(response).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    assert_eq!(doc["info"]["title"], "PingvasAI API");
    assert!(doc["paths"]["/healthz"]["get"].is_object(), "{doc}");
    assert!(doc["paths"]["/readyz"]["get"]["responses"]["503"].is_object(), "{doc}");
}

/// The answers a route gives before its handler runs are documented too, so a client (or
/// `scripts/fuzz-api`) meets no undocumented status: a body that is not JSON, not JSON at all,
/// or of the wrong shape; a query string that cannot be read.
#[tokio::test]
async fn openapi_document_lists_the_rejections_of_bodies_and_query_strings() {
    let test_db = TestDatabase::migrated().await;
    let doc = body_json(get(&app(test_db.pool.clone()), "/api/v1/openapi.json").await).await;
    let paths = doc["paths"].as_object().unwrap();
    let mut bodies = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let responses = &operation["responses"];
            if operation.get("requestBody").is_some() {
                bodies += 1;
                for status in ["400", "415", "422"] {
                    assert!(responses[status].is_object(), "{method} {path} documents {status}");
                }
            }
            let reads_query =
                operation["parameters"].as_array().is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
            if reads_query {
                assert!(responses["400"].is_object(), "{method} {path} documents 400 for its query");
            }
        }
    }
    assert!(bodies >= 10, "only {bodies} operations take a body");
    let file = &paths["/api/v1/images/{id}/file"]["get"]["responses"]["200"]["content"];
    for kind in ["image/png", "image/jpeg", "image/webp"] {
        assert!(file[kind].is_object(), "uploads keep their type: {kind}");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let test_db = TestDatabase::migrated().await;
    let response = get(&app(test_db.pool.clone()), "/healthz").await;
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4);
}
