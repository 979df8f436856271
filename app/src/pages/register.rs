//! `/register`: a new email/password account, signed in at once.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{
    login::{LegalNotice, ProviderButtons, continue_when_signed_in},
    sign_in_messages::safe_next,
};
use crate::{api::account_fns::UiRegister, auth::encode_query_value};

/// The registration page.
#[component]
pub fn RegisterPage() -> impl IntoView {
    let query = use_query_map();
    let next = Signal::derive(move || safe_next(query.read().get("next")));
    let register = ServerAction::<UiRegister>::new();
    continue_when_signed_in(next, Signal::derive(move || register.value().get()));
    let field_error = move |field: &'static str| {
        move || {
            register.value().get().and_then(Result::err).and_then(|e| e.for_field(field)).map(|message| {
            view! { <span class="field-error" role="alert" data-testid=format!("{field}-error")>{message}</span> }
        })
        }
    };
    let other_error = move || {
        register
            .value()
            .get()
            .and_then(Result::err)
            .filter(|e| !matches!(e, contract::error::UiError::Invalid { .. }))
    };

    view! {
        <Title text="Create an account"/>
        <section class="auth-card">
            <h1>"Create an account"</h1>
            <ProviderButtons next/>
            <ActionForm action=register attr:class="stacked-form" attr:data-testid="register-form">
                <label>
                    "Email"
                    <input type="email" name="email" autocomplete="email" required data-testid="email"/>
                    {field_error("email")}
                </label>
                <label>
                    "Name " <span class="muted">"(optional)"</span>
                    <input type="text" name="full_name" autocomplete="name" maxlength="100" data-testid="full-name"/>
                    {field_error("full_name")}
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="new-password" minlength="15" required data-testid="password"/>
                    <span class="hint">"At least 15 characters. A few unrelated words make a strong, memorable password."</span>
                    {field_error("password")}
                </label>
                {move || other_error().map(|e| view! { <p class="error" role="alert" data-testid="form-error">{e.to_string()}</p> })}
                <button type="submit" class="button primary" data-testid="submit" disabled=move || register.pending().get()>
                    "Create account"
                </button>
            </ActionForm>
            <p>
                "Already have an account? "
                <a href=move || format!("/login?next={}", encode_query_value(&next.get()))>"Sign in"</a>
            </p>
            <LegalNotice/>
        </section>
    }
}
