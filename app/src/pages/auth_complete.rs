//! `/auth/complete`: where provider sign-in lands. The refresh cookie was set by the callback;
//! the app exchanges it for an access token on load (no token ever travels in a URL) and this
//! page then continues to `next`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    NavigateOptions,
    hooks::{use_navigate, use_query_map},
};

use super::sign_in_messages::safe_next;
use crate::auth::{Auth, AuthStatus};

/// The landing page after provider sign-in.
#[component]
pub fn AuthCompletePage() -> impl IntoView {
    let auth = Auth::get();
    let query = use_query_map();
    let navigate = use_navigate();
    Effect::new(move |_| {
        let replace = NavigateOptions { replace: true, ..Default::default() };
        match auth.status() {
            AuthStatus::SignedIn => navigate(&safe_next(query.read_untracked().get("next")), replace),
            AuthStatus::SignedOut => navigate("/login?error=session", replace),
            AuthStatus::Checking => {}
        }
    });
    view! {
        <Title text="Signing in"/>
        <p class="loading" data-testid="signing-in">"Signing you in…"</p>
    }
}
