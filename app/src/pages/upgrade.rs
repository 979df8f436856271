//! `/upgrade`: the plans side by side, from the same table the server enforces.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{api::billing_fns::ui_billing, auth::Auth};
use contract::plans::{Plan, PlanLimits};

/// One row of the comparison: a label and how to show a plan's value.
type Row = (&'static str, fn(&PlanLimits) -> String);

fn yes_no(allowed: bool) -> String {
    if allowed { "Yes".to_owned() } else { "—".to_owned() }
}

/// "1,000 images, 1 GiB", or "By contract" without a budget.
fn storage_budget(images: Option<u64>, bytes: Option<u64>) -> String {
    match (images, bytes) {
        (Some(images), Some(bytes)) => {
            format!("{} images, {} GiB", thousands(images), bytes / contract::plans::GIB)
        }
        _ => "By contract".to_owned(),
    }
}

/// `20000` as `20,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

const ROWS: [Row; 8] = [
    ("Images per month", |l| l.monthly_images.map_or_else(|| "By contract".to_owned(), |n| n.to_string())),
    ("Largest image", |l| format!("{0} × {0}", l.max_side)),
    ("Steps per image", |l| l.max_steps.to_string()),
    ("Images per request", |l| l.max_batch.to_string()),
    ("Generations at once (queued or running)", |l| l.max_active_jobs.to_string()),
    ("Gallery storage", |l| storage_budget(l.storage_images, l.storage_bytes)),
    ("Saved workflows", |l| yes_no(l.workflows)),
    ("Custom models", |l| yes_no(l.custom_models)),
];

/// The plan comparison page.
#[component]
pub fn UpgradePage() -> impl IntoView {
    let auth = Auth::get();
    let current = move || auth.user().and_then(|u| Plan::parse(&u.subscription_plan));
    // Set when a plan-gated page sent the visitor here.
    let query = leptos_router::hooks::use_query_map();
    let needed = move || {
        let query = query.read();
        let plan = query.get("needed").and_then(|name| Plan::parse(&name))?;
        Some((plan, query.get("from").unwrap_or_default()))
    };
    view! {
        <Title text="Plans"/>
        <h1>"Plans"</h1>
        {move || needed().map(|(plan, from)| view! {
            <p class="notice" role="status" data-testid="upgrade-needed">
                {format!("{from} needs the {} plan or higher.", plan.display_name())}
            </p>
        })}
        <p class="tagline">"Every plan generates on the same GPUs; higher plans make more, larger images and queue first."</p>
        <table class="plans" data-testid="plan-table">
            <thead>
                <tr>
                    <th></th>
                    {Plan::ALL.into_iter().map(|plan| view! {
                        <th class=move || if current() == Some(plan) { "current" } else { "" }
                            data-testid=format!("plan-{}", plan.as_str())>
                            {plan.display_name()}
                            {move || (current() == Some(plan)).then(|| view! { <span class="badge">"Your plan"</span> })}
                        </th>
                    }).collect_view()}
                </tr>
            </thead>
            <tbody>
                {ROWS.into_iter().map(|(label, value)| view! {
                    <tr>
                        <th scope="row">{label}</th>
                        {Plan::ALL.into_iter().map(|plan| view! { <td>{value(&plan.limits())}</td> }).collect_view()}
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <SelfService/>
    }
}

/// Where billing is on, a way to each paid plan on offer (the billing page takes the card);
/// elsewhere, and for Enterprise, whom to contact.
#[component]
fn SelfService() -> impl IntoView {
    let auth = Auth::get();
    let offers = RwSignal::new(None::<Vec<contract::billing::Offer>>);
    Effect::new(move |_| {
        if auth.user().is_some() {
            leptos::task::spawn_local(async move {
                offers.set(auth.call(ui_billing).await.ok().map(|o| o.offers));
            });
        }
    });
    move || match offers.get().filter(|o| !o.is_empty()) {
        Some(offers) => view! {
            <div class="button-row" data-testid="self-service">
                {offers.into_iter().filter(|o| o.interval == "month").map(|offer| view! {
                    <a class="button primary" href=format!("/billing?plan={}", offer.plan.as_str())
                        data-testid=format!("choose-{}", offer.plan.as_str())>
                        {format!("Choose {}", offer.plan.display_name())}
                    </a>
                }).collect_view()}
                <a class="button" href="/billing">"Manage billing"</a>
            </div>
            <p class="muted">"Enterprise: contact billing@pingvas.ai."</p>
        }
        .into_any(),
        None => view! {
            <p class="muted">"To change plan, sign in, or contact billing@pingvas.ai."</p>
        }
        .into_any(),
    }
}
