//! The banner a subscriber sees while a renewal has failed (SECURITY.md 50): they keep their paid
//! plan through the grace period, and the billing page takes a new card.

use leptos::prelude::*;

use crate::auth::Auth;

/// Shown only to a signed-in user whose subscription is past due.
#[component]
pub fn PaymentBanner() -> impl IntoView {
    let auth = Auth::get();
    let past_due = move || auth.user().filter(|user| user.billing_status == "past_due");
    move || {
        past_due().map(|_| {
            view! {
                <div class="banner warning" role="alert" data-testid="payment-banner">
                    <span>"Your last payment failed. You keep your plan for now; update your card to keep it."</span>
                    <a class="button small" href="/billing">"Update card"</a>
                </div>
            }
        })
    }
}
