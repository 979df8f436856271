//! The pages emailed links open, and the one that asks for a reset link: `/verify-email`
//! (a new account's address, or the new address of an email change), `/forgot-password` and
//! `/reset-password`. Each acts only when the person presses its button, so a mail scanner that
//! fetches the link uses nothing up.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api::account_fns::{UiConfirmEmail, UiRequestPasswordReset, UiResetPassword, ui_profile},
    auth::Auth,
};

/// The `token` query parameter.
fn token_from_query() -> Signal<String> {
    let query = use_query_map();
    Signal::derive(move || query.read().get("token").unwrap_or_default())
}

/// `/verify-email?token=…`.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let token = token_from_query();
    let confirm = ServerAction::<UiConfirmEmail>::new();
    let auth = Auth::get();
    // A signed-in visitor's banner and account page follow at once (whichever account the
    // link was for: their profile is read again).
    Effect::new(move |_| {
        if matches!(confirm.value().get(), Some(Ok(_))) && untrack(|| auth.user().is_some()) {
            leptos::task::spawn_local(async move {
                if let Ok(profile) = auth.call(ui_profile).await {
                    auth.set_user(profile);
                }
            });
        }
    });
    view! {
        <Title text="Confirm your email"/>
        <section class="auth-card">
            <h1>"Confirm your email"</h1>
            {move || match confirm.value().get() {
                Some(Ok(confirmed)) => view! {
                    <p class="success" role="status" data-testid="email-confirmed">
                        {if confirmed.changed { "Your account now uses " } else { "Thank you: " }}
                        <strong>{confirmed.email}</strong>
                        {if confirmed.changed { "." } else { " is confirmed. You can generate images now." }}
                    </p>
                    <p><a class="button primary" href="/generate">"Start generating"</a></p>
                }.into_any(),
                other => view! {
                    {other.and_then(Result::err).map(|e| view! {
                        <p class="error" role="alert" data-testid="form-error">{e.to_string()}</p>
                    })}
                    <ActionForm action=confirm attr:class="stacked-form" attr:data-testid="confirm-email-form">
                        <input type="hidden" name="token" value=move || token.get()/>
                        <p>"Press the button to confirm this address for your PingvasAI account."</p>
                        <button type="submit" class="button primary" data-testid="confirm-email" disabled=move || confirm.pending().get()>
                            "Confirm my email"
                        </button>
                    </ActionForm>
                }.into_any(),
            }}
        </section>
    }
}

/// `/forgot-password`: asks for a reset link.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let request = ServerAction::<UiRequestPasswordReset>::new();
    view! {
        <Title text="Forgot your password?"/>
        <section class="auth-card">
            <h1>"Forgot your password?"</h1>
            {move || match request.value().get() {
                Some(Ok(())) => view! {
                    <p class="success" role="status" data-testid="reset-requested">
                        "If an account uses this address, a link to choose a new password is on its way. \
                         It works for 60 minutes."
                    </p>
                }.into_any(),
                other => view! {
                    <p>"Enter your account's email and we will send you a link to choose a new password."</p>
                    <ActionForm action=request attr:class="stacked-form" attr:data-testid="forgot-password-form">
                        <label>
                            "Email"
                            <input type="email" name="email" autocomplete="username" required data-testid="email"/>
                        </label>
                        {other.and_then(Result::err).map(|e| view! {
                            <p class="error" role="alert" data-testid="form-error">{e.to_string()}</p>
                        })}
                        <button type="submit" class="button primary" data-testid="submit" disabled=move || request.pending().get()>
                            "Send the link"
                        </button>
                    </ActionForm>
                }.into_any(),
            }}
            <p><a href="/login">"Back to sign in"</a></p>
        </section>
    }
}

/// `/reset-password?token=…`: chooses the new password.
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let token = token_from_query();
    let reset = ServerAction::<UiResetPassword>::new();
    view! {
        <Title text="Choose a new password"/>
        <section class="auth-card">
            <h1>"Choose a new password"</h1>
            {move || match reset.value().get() {
                Some(Ok(())) => view! {
                    <p class="success" role="status" data-testid="password-reset">
                        "Your password is changed and every device was signed out. Sign in with the new one."
                    </p>
                    <p><a class="button primary" href="/login" data-testid="sign-in">"Sign in"</a></p>
                }.into_any(),
                other => view! {
                    <ActionForm action=reset attr:class="stacked-form" attr:data-testid="reset-password-form">
                        <input type="hidden" name="token" value=move || token.get()/>
                        <label>
                            "New password"
                            <input type="password" name="new_password" autocomplete="new-password" minlength="15" required data-testid="new-password"/>
                        </label>
                        <p class="muted">"At least 15 characters; a few unrelated words make a good one."</p>
                        {other.and_then(Result::err).map(|e| view! {
                            <p class="error" role="alert" data-testid="form-error">{e.to_string()}</p>
                        })}
                        <button type="submit" class="button primary" data-testid="submit" disabled=move || reset.pending().get()>
                            "Set the new password"
                        </button>
                    </ActionForm>
                }.into_any(),
            }}
        </section>
    }
}
