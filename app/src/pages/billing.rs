//! `/billing`: my plan and subscription, as the billing provider confirmed them. Without a
//! subscription: choose a plan on offer and pay with a card (the provider's card form). With one:
//! change plan (upgrades at once, downgrades at the period's end), cancel or resume, replace the
//! card, and my invoices. The plan shown changes only when the provider has confirmed payment.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use time::format_description::well_known::Rfc3339;

use crate::{
    api::{
        account_fns::ui_profile,
        billing_fns::{
            ui_billing, ui_card_setup, ui_change_plan, ui_invoices, ui_set_cancel, ui_subscribe,
            ui_update_payment_method,
        },
    },
    auth::{Auth, RequireAuth},
    card_form,
};
use contract::{
    billing::{BillingOverview, InvoiceList, Offer, format_amount},
    error::UiError,
    plans::Plan,
};

/// Where the provider's card field goes.
const CARD_FIELD: &str = "#card-field";

/// One billing action at a time: buttons wait while it runs, and its failure is shown.
#[derive(Clone, Copy)]
struct Activity {
    busy: RwSignal<bool>,
    problem: RwSignal<Option<String>>,
}

impl Activity {
    /// Runs `work`; when it succeeds, `then`.
    fn run(
        self,
        work: impl std::future::Future<Output = Result<(), String>> + 'static,
        then: impl FnOnce() + 'static,
    ) {
        self.busy.set(true);
        self.problem.set(None);
        spawn_local(async move {
            let outcome = work.await;
            self.busy.set(false);
            match outcome {
                Ok(()) => then(),
                Err(e) => self.problem.set(Some(e)),
            }
        });
    }
}

/// The billing page.
#[component]
pub fn BillingPage() -> impl IntoView {
    view! {
        <Title text="Billing"/>
        <h1>"Billing"</h1>
        <RequireAuth>
            <BillingPanel/>
        </RequireAuth>
    }
}

fn day(at: Option<time::OffsetDateTime>) -> String {
    at.and_then(|t| t.format(&Rfc3339).ok()).and_then(|s| s.get(..10).map(str::to_owned)).unwrap_or_default()
}

fn price(offer: &Offer) -> String {
    match (offer.amount, offer.currency.as_deref()) {
        (Some(amount), Some(currency)) => {
            format!("{} per {}", format_amount(amount, currency), offer.interval)
        }
        _ => format!("billed every {}", offer.interval),
    }
}

/// What the subscription's status means, in a sentence.
fn standing_sentence(o: &BillingOverview) -> String {
    let plan = o.plan.display_name();
    let renews = o.renews_as.map_or(plan, Plan::display_name);
    match o.status.as_str() {
        "none" => "You are not subscribed; Free costs nothing.".to_owned(),
        "pending" => "Confirming your payment with the payment provider…".to_owned(),
        "active" if o.cancel_at_period_end => {
            format!("Your subscription ends on {}; you keep {plan} until then.", day(o.period_end))
        }
        "active" => format!("Renews on {} as {renews}.", day(o.period_end)),
        "past_due" => format!(
            "Your last payment failed. Replace your card before {} to keep {plan}; after that your plan becomes Free.",
            day(o.grace_until)
        ),
        "revoked" => "Your paid plan was withdrawn after a refund or a payment dispute.".to_owned(),
        _ => "Your subscription has ended.".to_owned(),
    }
}

#[component]
fn BillingPanel() -> impl IntoView {
    let overview = RwSignal::new(None::<Result<BillingOverview, UiError>>);
    let invoices = RwSignal::new(None::<InvoiceList>);
    let activity = Activity { busy: RwSignal::new(false), problem: RwSignal::new(None::<String>) };
    let problem = activity.problem;

    let auth = Auth::get();
    let reload = move || read_billing(auth, overview, invoices);
    Effect::new(move |_| reload());

    view! {
        {move || problem.get().map(|p| view! { <p class="error" role="alert" data-testid="billing-error">{p}</p> })}
        {move || match overview.get() {
            None => view! { <p class="loading">"Loading…"</p> }.into_any(),
            Some(Err(e)) if e.status() == 404 => view! {
                <p class="muted" data-testid="billing-off">
                    "Self-service billing is not available on this server. To change plan, contact billing@pingvas.ai."
                </p>
            }.into_any(),
            Some(Err(e)) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
            Some(Ok(o)) => {
                // Each part's view type is erased: nested together they are too deep a type for
                // the compiler's hydration code.
                let status = status_section(&o);
                let actions = if o.subscribed() {
                    view! { <ManageSubscription overview=o.clone() activity on_change=reload/> }.into_any()
                } else {
                    view! { <Checkout overview=o.clone() activity on_change=reload/> }.into_any()
                };
                let invoices = view! { <Invoices invoices/> }.into_any();
                view! { {status} {actions} {invoices} }.into_any()
            }
        }}
    }
}

fn status_section(o: &BillingOverview) -> AnyView {
    view! {
        <section class="panel" data-testid="billing-status">
            <h2>"Your plan: " <span data-testid="billing-plan">{o.plan.display_name()}</span></h2>
            <p class=if o.status == "past_due" { "notice warning" } else { "muted" }
               data-testid=format!("billing-{}", o.status)>{standing_sentence(o)}</p>
        </section>
    }
    .into_any()
}

/// Reads where billing stands into `overview` (and the invoices); while the provider is still
/// confirming a payment, reads again shortly. When the plan changed, the header's profile (plan,
/// quota meter) is read again too.
fn read_billing(
    auth: Auth,
    overview: RwSignal<Option<Result<BillingOverview, UiError>>>,
    invoices: RwSignal<Option<InvoiceList>>,
) {
    spawn_local(async move {
        let read = auth.call(ui_billing).await;
        if let Ok(o) = &read {
            let shown = auth.user().and_then(|u| Plan::parse(&u.subscription_plan));
            if shown != Some(o.plan)
                && let Ok(profile) = auth.call(ui_profile).await
            {
                auth.set_user(profile);
            }
            if o.status == "pending" {
                set_timeout(
                    move || read_billing(auth, overview, invoices),
                    std::time::Duration::from_millis(1500),
                );
            }
            invoices.set(auth.call(ui_invoices).await.ok());
        }
        overview.set(Some(read));
    });
}

/// Mounts the provider's card field once the element is on the page.
fn mount_card_field(o: &BillingOverview, problem: RwSignal<Option<String>>) {
    let (src, key) = (o.js_url.clone(), o.publishable_key.clone());
    Effect::new(move |_| {
        let (src, key) = (src.clone(), key.clone());
        spawn_local(async move {
            if let Err(e) = card_form::mount(&src, &key, CARD_FIELD).await {
                problem.set(Some(e));
            }
        });
    });
}

/// Saves the typed card with a fresh card setup; its payment method.
/// (`auth` is passed in: a task spawned from an event handler has no context to find it in.)
async fn save_typed_card(auth: Auth) -> Result<String, String> {
    let setup = auth.call(ui_card_setup).await.map_err(|e| e.to_string())?;
    card_form::save_card(&setup.client_secret).await
}

#[component]
fn Checkout(
    overview: BillingOverview,
    activity: Activity,
    on_change: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let busy = activity.busy;
    let auth = Auth::get();
    let query = leptos_router::hooks::use_query_map();
    let offers = overview.offers.clone();
    let first = offers.first().map(|o| (o.plan, o.interval.clone()));
    let wanted = query.with_untracked(|q| q.get("plan")).and_then(|p| Plan::parse(&p));
    let chosen = RwSignal::new(
        offers.iter().find(|o| Some(o.plan) == wanted).map(|o| (o.plan, o.interval.clone())).or(first),
    );
    mount_card_field(&overview, activity.problem);
    let pay = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some((plan, interval)) = chosen.get_untracked() else { return };
        activity.run(
            async move {
                let method = save_typed_card(auth).await?;
                let started = auth
                    .call(|token| {
                        ui_subscribe(token, plan.as_str().to_owned(), interval.clone(), method.clone())
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                if let Some(secret) = started.client_secret.filter(|_| started.status == "requires_action") {
                    card_form::confirm_payment(&secret).await?;
                }
                Ok(())
            },
            on_change,
        );
    };
    view! {
        <section class="panel">
            <h2>"Choose a plan"</h2>
            <form class="stacked-form" on:submit=pay data-testid="checkout-form">
                <fieldset class="plan-choice">
                    {offers.into_iter().map(|offer| {
                        let value = (offer.plan, offer.interval.clone());
                        let checked = chosen.get_untracked().as_ref() == Some(&value);
                        let label = format!("{} — {}", offer.plan.display_name(), price(&offer));
                        view! {
                            <label>
                                <input type="radio" name="plan" checked=checked
                                    data-testid=format!("offer-{}-{}", offer.plan.as_str(), offer.interval)
                                    on:change=move |_| chosen.set(Some(value.clone()))/>
                                {label}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <label>"Card" <div id="card-field" class="card-field" data-testid="card-field"></div></label>
                <p class="muted">"Your card goes straight to our payment provider; we never see its number."</p>
                <button type="submit" class="button primary" disabled=move || busy.get() data-testid="subscribe">
                    {move || if busy.get() { "Paying…" } else { "Subscribe" }}
                </button>
            </form>
        </section>
    }
}

#[component]
fn ManageSubscription(
    overview: BillingOverview,
    activity: Activity,
    on_change: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let auth = Auth::get();
    let busy = activity.busy;
    let act = move |work: std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), UiError>>>>| {
        activity.run(async move { work.await.map_err(|e| e.to_string()) }, on_change);
    };
    let renews_as = overview.renews_as;
    let others: Vec<Offer> = overview.offers.iter().filter(|o| Some(o.plan) != renews_as).cloned().collect();
    let cancelling = overview.cancel_at_period_end;
    let replacing_card = RwSignal::new(false);
    let card_saved = RwSignal::new(false);
    let save_card = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        activity.run(
            async move {
                let method = save_typed_card(auth).await?;
                auth.call(|token| ui_update_payment_method(token, method.clone()))
                    .await
                    .map_err(|e| e.to_string())
            },
            move || {
                replacing_card.set(false);
                card_saved.set(true);
            },
        );
    };
    let card_overview = overview.clone();
    view! {
        <section class="panel">
            <h2>"Change plan"</h2>
            <p class="muted">"A higher plan is charged now (the difference for the rest of the period) and starts as soon as it is paid; a lower one starts when the paid period ends."</p>
            <div class="button-row">
                {others.into_iter().map(|offer| {
                    let (plan, interval) = (offer.plan, offer.interval.clone());
                    let label = format!("Switch to {} ({})", plan.display_name(), price(&offer));
                    view! {
                        <button type="button" class="button" disabled=move || busy.get()
                            data-testid=format!("switch-{}", plan.as_str())
                            on:click=move |_| {
                                let interval = interval.clone();
                                act(Box::pin(async move {
                                    auth.call(|token| ui_change_plan(token, plan.as_str().to_owned(), interval.clone())).await.map(|_| ())
                                }));
                            }>{label}</button>
                    }
                }).collect_view()}
            </div>
        </section>
        <section class="panel">
            <h2>{if cancelling { "Keep your subscription" } else { "Cancel" }}</h2>
            {if cancelling {
                view! {
                    <button type="button" class="button primary" disabled=move || busy.get() data-testid="resume"
                        on:click=move |_| act(Box::pin(async move { auth.call(|token| ui_set_cancel(token, false)).await.map(|_| ()) }))>
                        "Keep renewing"
                    </button>
                }.into_any()
            } else {
                view! {
                    <p class="muted">"You keep your plan until the end of the period you paid for; nothing more is charged."</p>
                    <button type="button" class="button danger" disabled=move || busy.get() data-testid="cancel-subscription"
                        on:click=move |_| act(Box::pin(async move { auth.call(|token| ui_set_cancel(token, true)).await.map(|_| ()) }))>
                        "Cancel at the end of the period"
                    </button>
                }.into_any()
            }}
        </section>
        <section class="panel">
            <h2>"Card"</h2>
            {move || card_saved.get().then(|| view! { <p class="notice" role="status" data-testid="card-saved">"Your new card will be charged from now on."</p> })}
            {move || if replacing_card.get() {
                mount_card_field(&card_overview, activity.problem);
                view! {
                    <form class="stacked-form" on:submit=save_card>
                        <div id="card-field" class="card-field" data-testid="card-field"></div>
                        <button type="submit" class="button primary" disabled=move || busy.get()>"Save card"</button>
                    </form>
                }.into_any()
            } else {
                view! {
                    <button type="button" class="button" data-testid="replace-card" on:click=move |_| replacing_card.set(true)>
                        "Replace card"
                    </button>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn Invoices(invoices: RwSignal<Option<InvoiceList>>) -> impl IntoView {
    move || {
        invoices.get().filter(|list| !list.items.is_empty()).map(|list| {
            view! {
                <section class="panel">
                    <h2>"Invoices"</h2>
                    <table class="invoices" data-testid="invoices">
                        <thead><tr><th>"Date"</th><th>"Amount"</th><th>"Status"</th><th></th></tr></thead>
                        <tbody>
                            {list.items.into_iter().map(|invoice| {
                                let link = invoice.pdf_url.clone().or(invoice.page_url.clone());
                                view! {
                                    <tr data-testid="invoice">
                                        <td>{day(Some(invoice.created_at))}</td>
                                        <td>{format_amount(invoice.amount_due, &invoice.currency)}</td>
                                        <td>{invoice.status.clone()}</td>
                                        <td>{link.map(|href| view! { <a href=href rel="noopener" target="_blank">"Download"</a> })}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </section>
            }
            .into_any()
        })
    }
}
