//! `/account`: the signed-in user's profile, email, password and active sessions, and their data
//! as a whole: download it, or delete the account.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use time::format_description::well_known::Rfc3339;

use crate::{
    api::account_fns::{
        ui_change_email, ui_change_password, ui_delete_account, ui_export_link, ui_revoke_session,
        ui_sessions, ui_update_profile,
    },
    auth::{Auth, RequireAuth},
};
use contract::{
    account::{SessionInfo, UpdateProfileRequest},
    error::UiError,
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
            <EmailSection/>
            <PasswordSection/>
            <SessionsSection/>
            <DataSection/>
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

#[component]
fn EmailSection() -> impl IntoView {
    let auth = Auth::get();
    let has_password = move || auth.user().is_some_and(|u| u.has_password);
    let new_email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let outcome = RwSignal::new(None::<Result<String, UiError>>);
    let change = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (email, current) = (new_email.get_untracked(), password.get_untracked());
        spawn_local(async move {
            let result =
                auth.call(|token| ui_change_email(token, email.clone(), Some(current.clone()))).await;
            outcome.set(Some(result.map(|()| {
                password.set(String::new());
                format!("We sent a link to {email}. Your email changes when you open it; until then it stays as it is.")
            })));
        });
    };
    view! {
        <section class="panel" aria-labelledby="email-title">
            <h2 id="email-title">"Email"</h2>
            <p>
                {move || auth.user().map(|u| u.email)} " "
                {move || auth.user().map(|u| if u.email_verified {
                    view! { <span class="badge" data-testid="email-verified">"Verified"</span> }.into_any()
                } else {
                    view! { <span class="badge warning" data-testid="email-unverified">"Not verified"</span> }.into_any()
                })}
            </p>
            <form class="stacked-form" on:submit=change data-testid="email-form">
                <label>"New email" <input type="email" required bind:value=new_email data-testid="new-email"/></label>
                <Show when=has_password>
                    <label>
                        "Current password"
                        <input type="password" autocomplete="current-password" bind:value=password data-testid="email-password"/>
                    </label>
                </Show>
                <button type="submit" class="button primary">"Change email"</button>
                {move || outcome_view(outcome.get())}
            </form>
        </section>
    }
}

#[component]
fn DataSection() -> impl IntoView {
    let auth = Auth::get();
    let has_password = move || auth.user().is_some_and(|u| u.has_password);
    let export_outcome = RwSignal::new(None::<Result<String, UiError>>);
    let download = move |_| {
        spawn_local(async move {
            match auth.call(ui_export_link).await {
                Ok(link) => {
                    // The browser downloads the archive (an attachment) and stays on this page.
                    let _ = window().location().set_href(&link);
                    export_outcome.set(Some(Ok("Your download starts in a moment.".to_owned())));
                }
                Err(e) => export_outcome.set(Some(Err(e))),
            }
        });
    };
    let password = RwSignal::new(String::new());
    let confirmed = RwSignal::new(false);
    let delete_outcome = RwSignal::new(None::<Result<String, UiError>>);
    let delete = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let current = password.get_untracked();
        spawn_local(async move {
            match auth.call(|token| ui_delete_account(token, Some(current.clone()))).await {
                Ok(()) => {
                    auth.signed_out();
                    let _ = window().location().set_href("/?deleted=1");
                }
                Err(e) => delete_outcome.set(Some(Err(e))),
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="data-title">
            <h2 id="data-title">"Your data"</h2>
            <p>"Download everything your account holds: your profile, boards, workflows and jobs as JSON, and every image file, in one zip."</p>
            <button type="button" class="button" data-testid="export-data" on:click=download>"Download my data"</button>
            {move || outcome_view(export_outcome.get())}
            <h3>"Delete account"</h3>
            <p>"This erases your account, your gallery and every file at once. It cannot be undone."</p>
            <form class="stacked-form" on:submit=delete data-testid="delete-account-form">
                <Show when=has_password>
                    <label>
                        "Current password"
                        <input type="password" autocomplete="current-password" bind:value=password data-testid="delete-password"/>
                    </label>
                </Show>
                <label class="checkbox">
                    <input type="checkbox" bind:checked=confirmed data-testid="delete-confirm"/>
                    "I understand that my images and account are gone for good."
                </label>
                <button type="submit" class="button danger" data-testid="delete-account" disabled=move || !confirmed.get()>
                    "Delete my account"
                </button>
                {move || outcome_view(delete_outcome.get())}
            </form>
        </section>
    }
}
