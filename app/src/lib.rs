//! PingvasAI's user interface: the HTML shell, the router and every page.
//!
//! The same components render on the server (feature `ssr`) and hydrate in the browser (feature
//! `hydrate`), so the first paint is complete HTML and interactivity arrives with the wasm bundle.

pub mod api;
pub mod auth;
pub mod card_form;
pub mod components;
pub mod csp;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    ParamSegment, StaticSegment,
    components::{Route, Router, Routes},
};

use crate::{
    auth::Auth,
    components::{PaymentBanner, SiteHeader, VerifyEmailBanner},
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
    provide_meta_context();
    let auth = Auth::provide();
    // Once the page is live, exchange the refresh cookie (if any) for an access token in memory.
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            auth.refresh().await;
        })
    });

    // Effects never run during server rendering, so this flips only once the wasm bundle has
    // hydrated the page. Browser tests wait on `data-hydrated="true"` instead of sleeping.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    view! {
        <Stylesheet id="leptos" href="/pkg/pingvas.css"/>
        <Title formatter=|page: String| format!("{page} · {PRODUCT_NAME}")/>
        <Router>
            <SiteHeader/>
            <main data-hydrated=move || hydrated.get().to_string()>
                <VerifyEmailBanner/>
                <PaymentBanner/>
                <Routes fallback=pages::NotFound>
                    <Route path=StaticSegment("") view=pages::HomePage/>
                    <Route path=StaticSegment("login") view=pages::LoginPage/>
                    <Route path=StaticSegment("register") view=pages::RegisterPage/>
                    <Route path=StaticSegment("verify-email") view=pages::VerifyEmailPage/>
                    <Route path=StaticSegment("forgot-password") view=pages::ForgotPasswordPage/>
                    <Route path=StaticSegment("reset-password") view=pages::ResetPasswordPage/>
                    <Route path=(StaticSegment("auth"), StaticSegment("complete")) view=pages::AuthCompletePage/>
                    <Route path=StaticSegment("account") view=pages::AccountPage/>
                    <Route path=StaticSegment("terms") view=pages::TermsPage/>
                    <Route path=StaticSegment("privacy") view=pages::PrivacyPage/>
                    <Route path=StaticSegment("upgrade") view=pages::UpgradePage/>
                    <Route path=StaticSegment("billing") view=pages::BillingPage/>
                    <Route path=StaticSegment("workflows") view=pages::WorkflowsPage/>
                    <Route path=StaticSegment("models") view=pages::ModelsPage/>
                    <Route path=StaticSegment("admin") view=pages::AdminPage/>
                    <Route path=StaticSegment("generate") view=pages::GeneratePage/>
                    <Route path=StaticSegment("gallery") view=pages::GalleryPage/>
                    <Route path=(StaticSegment("gallery"), ParamSegment("id")) view=pages::ImageDetailPage/>
                </Routes>
            </main>
        </Router>
    }
}
