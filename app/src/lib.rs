//! PingvasAI's user interface: the HTML shell, the router and every page.
//!
//! The same components render on the server (feature `ssr`) and hydrate in the browser (feature
//! `hydrate`), so the first paint is complete HTML and interactivity arrives with the wasm bundle.
// The workspace page's view types nest deeper than the default limit lets rustc lay out.
#![recursion_limit = "256"]

pub mod api;
pub mod auth;
pub mod card_form;
pub mod components;
pub mod csp;
pub mod generation;
pub mod hydration;
pub mod pages;
pub mod routes;
pub mod site_features;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    Lazy, ParamSegment, StaticSegment,
    components::{Route, Router, Routes},
};

use crate::{
    auth::Auth,
    components::{PaymentBanner, SiteHeader, VerifyEmailBanner},
    site_features::SiteFeatures,
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
                // The billing page's card form (loads the provider's script only when shown).
                <script src="/billing.js" defer></script>
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
    SiteFeatures::provide();
    provide_meta_context();
    let auth = Auth::provide();
    // Effects never run during server rendering, so this flips only once the wasm bundle has
    // hydrated the page, its lazily loaded part included. Browser tests wait on
    // `data-hydrated="true"` instead of sleeping. Then the refresh cookie (if any) is exchanged
    // for an access token in memory: signing in earlier would change the page under hydration.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            hydration::hydrated().await;
            hydrated.set(true);
            auth.refresh().await;
        })
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/pingvas.css"/>
        <Title formatter=|page: String| format!("{page} · {PRODUCT_NAME}")/>
        <Router>
            <SiteHeader/>
            <main data-hydrated=move || hydrated.get().to_string()>
                <VerifyEmailBanner/>
                <PaymentBanner/>
                <Routes fallback=pages::NotFound>
                    <Route path=StaticSegment("") view={Lazy::<routes::Home>::new()}/>
                    <Route path=StaticSegment("login") view={Lazy::<routes::Login>::new()}/>
                    <Route path=StaticSegment("register") view={Lazy::<routes::Register>::new()}/>
                    <Route path=StaticSegment("verify-email") view={Lazy::<routes::VerifyEmail>::new()}/>
                    <Route path=StaticSegment("forgot-password") view={Lazy::<routes::ForgotPassword>::new()}/>
                    <Route path=StaticSegment("reset-password") view={Lazy::<routes::ResetPassword>::new()}/>
                    <Route path=(StaticSegment("auth"), StaticSegment("complete")) view={Lazy::<routes::AuthComplete>::new()}/>
                    <Route path=StaticSegment("account") view={Lazy::<routes::Account>::new()}/>
                    <Route path=StaticSegment("terms") view={Lazy::<routes::Terms>::new()}/>
                    <Route path=StaticSegment("privacy") view={Lazy::<routes::Privacy>::new()}/>
                    <Route path=StaticSegment("upgrade") view={Lazy::<routes::Upgrade>::new()}/>
                    <Route path=StaticSegment("billing") view={Lazy::<routes::Billing>::new()}/>
                    <Route path=StaticSegment("workflows") view={Lazy::<routes::Workflows>::new()}/>
                    <Route path=StaticSegment("models") view={Lazy::<routes::Models>::new()}/>
                    <Route path=StaticSegment("admin") view={Lazy::<routes::Admin>::new()}/>
                    <Route path=StaticSegment("generate") view={Lazy::<routes::Generate>::new()}/>
                    <Route path=StaticSegment("gallery") view={Lazy::<routes::Gallery>::new()}/>
                    <Route path=(StaticSegment("gallery"), ParamSegment("id")) view={Lazy::<routes::ImageDetail>::new()}/>
                </Routes>
            </main>
        </Router>
    }
}
