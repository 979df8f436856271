//! `/login`: email and password, or a provider; then back to where the user was going.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    NavigateOptions,
    hooks::{use_navigate, use_query_map},
};

use super::sign_in_messages::{safe_next, sign_in_error_message};
use crate::{
    api::account_fns::{UiLogin, ui_sign_in_options},
    auth::{Auth, AuthStatus, encode_query_value},
};
use contract::{account::SignedIn, error::UiError};

/// Sends a signed-in user on to `next`, recording a fresh sign-in first.
pub fn continue_when_signed_in(next: Signal<String>, result: Signal<Option<Result<SignedIn, UiError>>>) {
    let auth = Auth::get();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(session)) = result.get() {
            auth.signed_in(session);
        }
        if auth.status() == AuthStatus::SignedIn {
            navigate(&next.get_untracked(), NavigateOptions { replace: true, ..Default::default() });
        }
    });
}

/// The providers' buttons (only those configured on the server).
#[component]
pub fn ProviderButtons(next: Signal<String>) -> impl IntoView {
    let options = Resource::new(|| (), |()| ui_sign_in_options());
    let link =
        move |provider: &str| format!("/api/v1/auth/{provider}?next={}", encode_query_value(&next.get()));
    view! {
        <Suspense fallback=|| ()>
            {move || options.get().and_then(Result::ok).map(|options| view! {
                <div class="providers">
                    {options.google.then(|| view! {
                        <a class="button provider" rel="external" data-testid="continue-google" href=move || link("google")>
                            "Continue with Google"
                        </a>
                    })}
                    {options.discord.then(|| view! {
                        <a class="button provider" rel="external" data-testid="continue-discord" href=move || link("discord")>
                            "Continue with Discord"
                        </a>
                    })}
                </div>
            })}
        </Suspense>
    }
}

/// Terms and privacy links shown wherever an account is created or used.
#[component]
pub fn LegalNotice() -> impl IntoView {
    view! {
        <p class="legal">
            "By continuing you agree to our " <a href="/terms">"Terms of Service"</a> " and "
            <a href="/privacy">"Privacy Policy"</a> "."
        </p>
    }
}

/// The sign-in page.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = Signal::derive(move || safe_next(query.read().get("next")));
    let notice = move || query.read().get("error").map(|code| sign_in_error_message(&code));
    let login = ServerAction::<UiLogin>::new();
    continue_when_signed_in(next, Signal::derive(move || login.value().get()));

    view! {
        <Title text="Sign in"/>
        <section class="auth-card">
            <h1>"Sign in"</h1>
            {move || notice().map(|message| view! { <p class="error" role="alert" data-testid="sign-in-notice">{message}</p> })}
            <ProviderButtons next/>
            <ActionForm action=login attr:class="stacked-form" attr:data-testid="login-form">
                <label>
                    "Email"
                    <input type="email" name="email" autocomplete="username" required data-testid="email"/>
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required data-testid="password"/>
                </label>
                {move || login.value().get().and_then(Result::err).map(|e| view! {
                    <p class="error" role="alert" data-testid="form-error">{e.to_string()}</p>
                })}
                <button type="submit" class="button primary" data-testid="submit" disabled=move || login.pending().get()>
                    "Sign in"
                </button>
            </ActionForm>
            <p><a href="/forgot-password" data-testid="forgot-password">"Forgot your password?"</a></p>
            <p>
                "New here? "
                <a href=move || format!("/register?next={}", encode_query_value(&next.get())) data-testid="register-link">
                    "Create an account"
                </a>
            </p>
            <LegalNotice/>
        </section>
    }
}
