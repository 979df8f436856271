//! The page for unknown routes, served with HTTP status 404.

use leptos::prelude::*;
use leptos_meta::Title;

/// Rendered by the router's fallback. On the server it also sets the response status to 404,
/// so crawlers and scripts see a real "not found" rather than a 200 with an error message.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }

    view! {
        <Title text="Page not found"/>
        <section class="not-found" data-testid="not-found">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. It may have moved, or never existed."</p>
            <a class="button" href="/" data-testid="home-link">"Back to the home page"</a>
        </section>
    }
}
