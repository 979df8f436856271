//! `/admin`: user administration for superusers: find users, change plan, quota, active and
//! staff flags. Everyone else is refused here, and by the server on every call.

use contract::ids::UserId;
use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;

use crate::{
    api::tenant_fns::{ui_admin_update_user, ui_admin_users},
    auth::{Auth, RequireAuth},
};
use contract::{
    admin::{AdminUser, AdminUserPage, AdminUserUpdate},
    error::UiError,
    plans::Plan,
};

/// The administration page.
#[component]
pub fn AdminPage() -> impl IntoView {
    let auth = Auth::get();
    view! {
        <Title text="Administration"/>
        <RequireAuth>
            {move || {
                if auth.user().is_some_and(|u| u.is_superuser) {
                    view! { <AdminPanel/> }.into_any()
                } else {
                    view! {
                        <h1>"Administration"</h1>
                        <p class="error" role="alert" data-testid="admin-refused">
                            "Not enough permissions: this page is for administrators."
                        </p>
                    }
                    .into_any()
                }
            }}
        </RequireAuth>
    }
}

#[component]
fn AdminPanel() -> impl IntoView {
    let auth = Auth::get();
    let search = RwSignal::new(String::new());
    let page = RwSignal::new(None::<Result<AdminUserPage, UiError>>);
    let load = move || {
        let query = Some(search.get_untracked()).filter(|q| !q.trim().is_empty());
        spawn_local(async move {
            let result = auth.call(|token| ui_admin_users(token, query.clone(), 0)).await;
            page.set(Some(result));
        });
    };
    Effect::new(move |_| load());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        load();
    };
    view! {
        <h1>"Administration"</h1>
        <form class="inline-form" on:submit=submit data-testid="admin-search">
            <input type="search" placeholder="Email, name or username" bind:value=search data-testid="admin-query"/>
            <button type="submit" class="button">"Find users"</button>
        </form>
        {move || match page.get() {
            None => view! { <p class="loading">"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
            Some(Ok(page)) => view! {
                <p class="muted" data-testid="admin-total">{format!("{} users", page.total)}</p>
                <table class="admin-users" data-testid="admin-users">
                    <thead><tr>
                        <th>"User"</th><th>"Plan"</th><th>"Subscription"</th><th>"Quota"</th><th>"Used"</th>
                        <th>"Active"</th><th>"Staff"</th><th></th>
                    </tr></thead>
                    <tbody>
                        {page.items.into_iter().map(|user| view! { <AdminUserRow user/> }).collect_view()}
                    </tbody>
                </table>
            }.into_any(),
        }}
    }
}

/// A subscriber's standing in a few words: "active, renews 2027-01-04 (sub_…)".
fn subscription_summary(user: &AdminUser) -> String {
    if user.billing_status == "none" {
        return "—".to_owned();
    }
    let day = user
        .billing_period_end
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .and_then(|t| t.get(..10).map(str::to_owned))
        .unwrap_or_default();
    let when = match (user.billing_status.as_str(), user.billing_cancel_at_period_end) {
        ("active", true) => format!(", ends {day}"),
        ("active", false) => format!(", renews {day}"),
        _ => String::new(),
    };
    let id = user.billing_subscription_id.as_deref().map(|id| format!(" ({id})")).unwrap_or_default();
    format!("{}{when}{id}", user.billing_status.replace('_', " "))
}

/// The edit the row's controls describe, relative to `user`.
fn row_changes(
    user: &AdminUser,
    plan: &str,
    quota: &str,
    active: bool,
    staff: bool,
) -> Result<AdminUserUpdate, String> {
    let quota = quota.trim();
    let parsed_quota = if quota.is_empty() {
        None
    } else {
        Some(
            quota
                .parse::<i32>()
                .ok()
                .filter(|q| *q >= 0)
                .ok_or("Quota: a whole number of images, or empty for unlimited.")?,
        )
    };
    Ok(AdminUserUpdate {
        subscription_plan: (plan != user.subscription_plan).then(|| plan.to_owned()),
        is_active: (active != user.is_active).then_some(active),
        is_staff: (staff != user.is_staff).then_some(staff),
        monthly_image_quota: (parsed_quota != user.monthly_image_quota).then_some(parsed_quota),
    })
}

#[component]
fn AdminUserRow(user: AdminUser) -> impl IntoView {
    let auth = Auth::get();
    let id: UserId = user.user_id;
    let current = RwSignal::new(user);
    let plan = RwSignal::new(current.get_untracked().subscription_plan.clone());
    let quota =
        RwSignal::new(current.get_untracked().monthly_image_quota.map(|q| q.to_string()).unwrap_or_default());
    let active = RwSignal::new(current.get_untracked().is_active);
    let staff = RwSignal::new(current.get_untracked().is_staff);
    let outcome = RwSignal::new(None::<Result<String, String>>);
    let save = move |_| {
        let changes = match row_changes(
            &current.get_untracked(),
            &plan.get_untracked(),
            &quota.get_untracked(),
            active.get_untracked(),
            staff.get_untracked(),
        ) {
            Ok(changes) => changes,
            Err(message) => return outcome.set(Some(Err(message))),
        };
        spawn_local(async move {
            match auth.call(|token| ui_admin_update_user(token, id, changes.clone())).await {
                Ok(updated) => {
                    quota.set(updated.monthly_image_quota.map(|q| q.to_string()).unwrap_or_default());
                    current.set(updated);
                    outcome.set(Some(Ok("Saved.".into())));
                }
                Err(e) => outcome.set(Some(Err(e.to_string()))),
            }
        });
    };
    let email = current.get_untracked().email.clone();
    let shown = email.clone();
    view! {
        <tr data-testid="admin-user" data-email=email>
            <td>{shown}</td>
            <td>
                <select aria-label="Plan" data-testid="admin-plan"
                    on:change=move |ev| plan.set(event_target_value(&ev)) prop:value=move || plan.get()>
                    {Plan::ALL.into_iter().map(|p| view! { <option value=p.as_str()>{p.display_name()}</option> }).collect_view()}
                </select>
            </td>
            <td data-testid="admin-subscription">{move || subscription_summary(&current.get())}</td>
            <td><input type="text" inputmode="numeric" size="7" aria-label="Monthly quota" placeholder="unlimited"
                bind:value=quota data-testid="admin-quota"/></td>
            <td data-testid="admin-used">{move || current.get().monthly_images_generated}</td>
            <td><input type="checkbox" aria-label="Active" bind:checked=active data-testid="admin-active"/></td>
            <td><input type="checkbox" aria-label="Staff" bind:checked=staff data-testid="admin-staff"/></td>
            <td>
                <button type="button" class="button" on:click=save data-testid="admin-save">"Save"</button>
                {move || outcome.get().map(|o| match o {
                    Ok(m) => view! { <span class="success" role="status">{m}</span> }.into_any(),
                    Err(m) => view! { <span class="error" role="alert">{m}</span> }.into_any(),
                })}
            </td>
        </tr>
    }
}
