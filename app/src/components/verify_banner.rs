//! The banner a signed-in user sees until their email is verified (SECURITY.md 44): why they
//! cannot generate yet, where the link went, and a button for another.

use leptos::{prelude::*, task::spawn_local};

use crate::{api::account_fns::ui_resend_verification, auth::Auth};
use contract::error::UiError;

/// Shown only to a signed-in user whose address is not verified.
#[component]
pub fn VerifyEmailBanner() -> impl IntoView {
    let auth = Auth::get();
    let unverified = move || auth.user().filter(|user| !user.email_verified).map(|user| user.email);
    let outcome = RwSignal::new(None::<Result<(), UiError>>);
    let resend = move |_| {
        spawn_local(async move {
            outcome.set(Some(auth.call(ui_resend_verification).await));
        });
    };
    view! {
        {move || unverified().map(|email| view! {
            <div class="banner" role="status" data-testid="verify-banner">
                <span>
                    "Confirm your email to start generating: we sent a link to " <strong>{email}</strong> "."
                </span>
                <button type="button" class="button small" data-testid="resend-verification" on:click=resend>
                    "Send it again"
                </button>
                {move || outcome.get().map(|sent| match sent {
                    Ok(()) => view! { <span data-testid="resend-outcome">"A new link is on its way."</span> }.into_any(),
                    Err(e) => view! { <span class="error" data-testid="resend-outcome">{e.to_string()}</span> }.into_any(),
                })}
            </div>
        })}
    }
}
