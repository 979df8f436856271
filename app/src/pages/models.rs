//! `/models` (Studio and up): the model catalog and which models each plan may use.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;

use crate::{
    api::tenant_fns::ui_models,
    auth::{Auth, RequirePlan},
};
use contract::{error::UiError, generation::ModelInfo, plans::Plan};

/// The models page.
#[component]
pub fn ModelsPage() -> impl IntoView {
    let auth = Auth::get();
    let models = RwSignal::new(None::<Result<Vec<ModelInfo>, UiError>>);
    Effect::new(move |_| spawn_local(async move { models.set(Some(auth.call(ui_models).await)) }));
    let plan = move || auth.user().and_then(|u| Plan::parse(&u.subscription_plan)).unwrap_or(Plan::Free);
    view! {
        <Title text="Models"/>
        <RequirePlan min=Plan::Studio>
            <h1>"Models"</h1>
            {move || match models.get() {
                None => view! { <p class="loading">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <table class="plans" data-testid="model-table">
                        <thead><tr><th>"Model"</th><th>"Name in requests"</th><th>"From plan"</th><th></th></tr></thead>
                        <tbody>
                            {list.into_iter().map(|m| {
                                let availability = if m.open_to(plan()) { "Available" } else { "Upgrade to use" };
                                view! {
                                    <tr>
                                        <td>{m.title}</td>
                                        <td><code>{m.name.0}</code></td>
                                        <td>{m.min_plan.display_name()}</td>
                                        <td>{availability}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
        </RequirePlan>
    }
}
