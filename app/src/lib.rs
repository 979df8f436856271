//! PingvasAI's user interface: the HTML shell, the router and every page.
//!
//! The same components render on the server (feature `ssr`) and hydrate in the browser (feature
//! `hydrate`), so the first paint is complete HTML and interactivity arrives with the wasm bundle.

pub mod api;
pub mod csp;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    StaticSegment,
    components::{Route, Router, Routes},
};

/// The product name as users see it.
pub const PRODUCT_NAME: &str = "PingvasAI";

/// The full HTML document the server sends for every page route.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    csp::set_page_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The root component: routes, stylesheet and a hydration marker.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    // Effects never run during server rendering, so this flips only once the wasm bundle has
    // hydrated the page. Browser tests wait on `data-hydrated="true"` instead of sleeping.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    view! {
        <Stylesheet id="leptos" href="/pkg/pingvas.css"/>
        <Title formatter=|page: String| format!("{page} · {PRODUCT_NAME}")/>
        <Router>
            <main data-hydrated=move || hydrated.get().to_string()>
                <Routes fallback=pages::NotFound>
                    <Route path=StaticSegment("") view=pages::HomePage/>
                </Routes>
            </main>
        </Router>
    }
}
