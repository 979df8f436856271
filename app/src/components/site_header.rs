//! The header on every page: the product name, and either a sign-in link or the signed-in
//! user's links (billing only where this server sells plans), avatar, name (linking to the
//! account page) and a sign-out button.

use leptos::{prelude::*, task::spawn_local};

use super::QuotaMeter;
use crate::{
    PRODUCT_NAME,
    api::account_fns::ui_logout,
    auth::{Auth, AuthStatus},
    site_features::SiteFeatures,
};

/// The site header.
#[component]
pub fn SiteHeader() -> impl IntoView {
    let auth = Auth::get();
    let billing = SiteFeatures::get().billing;
    let sign_out = move |_| {
        spawn_local(async move {
            if let Err(e) = ui_logout(auth.token()).await {
                leptos::logging::warn!("sign-out: {e}");
            }
            // A full page load: nothing of the session survives in this page's memory, and no
            // protected page gets to react to the sign-out first.
            if window().location().set_href("/login").is_err() {
                auth.signed_out();
            }
        });
    };

    view! {
        <header class="site-header">
            <a href="/" class="brand">{PRODUCT_NAME}</a>
            <nav aria-label="Account">
                {move || match (auth.status(), auth.user()) {
                    (AuthStatus::SignedIn, Some(user)) => {
                        let initial = user.display_name().chars().next().unwrap_or('?').to_uppercase().to_string();
                        let avatar = match user.avatar_url.clone() {
                            Some(url) => view! {
                                <img class="avatar" src=url alt="" width="28" height="28" referrerpolicy="no-referrer"/>
                            }.into_any(),
                            None => view! { <span class="avatar initial" aria-hidden="true">{initial}</span> }.into_any(),
                        };
                        view! {
                            <a href="/generate" class="nav-link" data-testid="nav-generate">"Generate"</a>
                            <a href="/gallery" class="nav-link" data-testid="nav-gallery">"Gallery"</a>
                            {billing.then(|| view! { <a href="/billing" class="nav-link" data-testid="nav-billing">"Billing"</a> })}
                            <QuotaMeter/>
                            <a href="/account" class="user-chip" data-testid="user-menu">
                                {avatar}
                                <span data-testid="user-name">{user.display_name().to_owned()}</span>
                            </a>
                            <button type="button" class="button" data-testid="sign-out" on:click=sign_out>
                                "Sign out"
                            </button>
                        }.into_any()
                    }
                    (AuthStatus::Checking, _) => view! { <span class="header-placeholder"></span> }.into_any(),
                    _ => view! { <a href="/login" class="button" data-testid="header-sign-in">"Sign in"</a> }.into_any(),
                }}
            </nav>
        </header>
    }
}
