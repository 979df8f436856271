//! `/account`: the signed-in user's profile, password and active sessions.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use time::format_description::well_known::Rfc3339;

use crate::{
    api::{
        account::{SessionInfo, UpdateProfileRequest},
        account_fns::{ui_change_password, ui_revoke_session, ui_sessions, ui_update_profile},
        error::UiError,
    },
    auth::{Auth, RequireAuth},
};

/// `2026-11-21 17:05 UTC` from a timestamp.
fn short_time(at: time::OffsetDateTime) -> String {
    let text = at.format(&Rfc3339).unwrap_or_default();
    format!("{} UTC", text.get(..16).unwrap_or(&text).replace('T', " "))
}

/// The account page (signed-in users only).
#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <Title text="Your account"/>
        <RequireAuth>
            <h1>"Your account"</h1>
            <ProfileSection/>
            <PasswordSection/>
            <SessionsSection/>
        </RequireAuth>
    }
}

/// A status line under a form: success or the error's message.
fn outcome_view(outcome: Option<Result<String, UiError>>) -> impl IntoView {
    outcome.map(|outcome| match outcome {
        Ok(message) => {
            view! { <p class="success" role="status" data-testid="form-success">{message}</p> }.into_any()
        }
        Err(e) => {
            view! { <p class="error" role="alert" data-testid="form-error">{e.to_string()}</p> }.into_any()
        }
    })
}

#[component]
fn ProfileSection() -> impl IntoView {
    let auth = Auth::get();
    let user = auth.user();
    let full_name = RwSignal::new(user.as_ref().and_then(|u| u.full_name.clone()).unwrap_or_default());
    let username = RwSignal::new(user.as_ref().and_then(|u| u.username.clone()).unwrap_or_default());
    let outcome = RwSignal::new(None::<Result<String, UiError>>);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let changes = UpdateProfileRequest {
            full_name: Some(full_name.get_untracked()),
            username: Some(username.get_untracked()),
            ..UpdateProfileRequest::default()
        };
        spawn_local(async move {
            let result = auth.call(|token| ui_update_profile(token, changes.clone())).await;
            outcome.set(Some(result.map(|profile| {
                auth.set_user(profile);
                "Profile saved.".to_owned()
            })));
        });
    };
    view! {
        <section class="panel" aria-labelledby="profile-title">
            <h2 id="profile-title">"Profile"</h2>
            <p class="muted" data-testid="account-email">{move || auth.user().map(|u| u.email)}</p>
            <form class="stacked-form" on:submit=save data-testid="profile-form">
                <label>"Name" <input type="text" maxlength="100" bind:value=full_name data-testid="full-name"/></label>
                <label>"Username" <input type="text" maxlength="32" bind:value=username data-testid="username"/></label>
                <button type="submit" class="button primary">"Save profile"</button>
                {move || outcome_view(outcome.get())}
            </form>
        </section>
    }
}

#[component]
fn PasswordSection() -> impl IntoView {
    let auth = Auth::get();
    let has_password = move || auth.user().is_some_and(|u| u.has_password);
    let current = RwSignal::new(String::new());
    let new_password = RwSignal::new(String::new());
    let outcome = RwSignal::new(None::<Result<String, UiError>>);
    let change = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (old, new) = (current.get_untracked(), new_password.get_untracked());
        spawn_local(async move {
            let result = auth.call(|token| ui_change_password(token, Some(old.clone()), new.clone())).await;
            if result.is_ok() {
                current.set(String::new());
                new_password.set(String::new());
                if let Some(mut user) = auth.user() {
                    user.has_password = true;
                    auth.set_user(user);
                }
            }
            outcome.set(Some(
                result.map(|()| "Password changed. Your other sessions were signed out.".to_owned()),
            ));
        });
    };
    view! {
        <section class="panel" aria-labelledby="password-title">
            <h2 id="password-title">{move || if has_password() { "Change password" } else { "Set a password" }}</h2>
            <form class="stacked-form" on:submit=change data-testid="password-form">
                <Show when=has_password>
                    <label>
                        "Current password"
                        <input type="password" autocomplete="current-password" bind:value=current data-testid="current-password"/>
                    </label>
                </Show>
                <label>
                    "New password"
                    <input type="password" autocomplete="new-password" minlength="15" required bind:value=new_password data-testid="new-password"/>
                </label>
                <button type="submit" class="button primary">"Change password"</button>
                {move || outcome_view(outcome.get())}
            </form>
        </section>
    }
}

#[component]
fn SessionsSection() -> impl IntoView {
    let auth = Auth::get();
    let reload = RwSignal::new(0_u32);
    let sessions = LocalResource::new(move || {
        reload.track();
        async move { auth.call(ui_sessions).await }
    });
    let revoke = move |session: SessionInfo| {
        spawn_local(async move {
            let id = session.id;
            match auth.call(move |token| ui_revoke_session(token, id)).await {
                Ok(()) if session.current => auth.signed_out(),
                _ => reload.update(|n| *n += 1),
            }
        });
    };
    let row = move |session: SessionInfo| {
        let device = session.device_name.clone().unwrap_or_else(|| "Unknown device".to_owned());
        let current = session.current;
        view! {
            <tr data-testid="session-row" data-current=current.to_string()>
                <td>{device} {current.then(|| view! { <span class="badge">"This device"</span> })}</td>
                <td>{session.ip_address.clone().unwrap_or_default()}</td>
                <td>{short_time(session.created_at)}</td>
                <td>{short_time(session.last_used_at)}</td>
                <td>
                    <button type="button" class="button small" data-testid="revoke-session"
                        on:click=move |_| revoke(session.clone())>
                        {if current { "Sign out" } else { "Revoke" }}
                    </button>
                </td>
            </tr>
        }
    };
    view! {
        <section class="panel" aria-labelledby="sessions-title">
            <h2 id="sessions-title">"Active sessions"</h2>
            <button type="button" class="button small" data-testid="reload-sessions" on:click=move |_| reload.update(|n| *n += 1)>
                "Refresh list"
            </button>
            <Suspense fallback=|| view! { <p class="loading">"Loading sessions…"</p> }>
                {move || sessions.get().map(|result| match result {
                    Ok(list) => view! {
                        <table class="sessions" data-testid="sessions">
                            <thead><tr><th>"Device"</th><th>"Address"</th><th>"Signed in"</th><th>"Last active"</th><th></th></tr></thead>
                            <tbody>{list.into_iter().map(row).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
