//! `/workflows` (Pro and up): saved generation presets: save one, see them, delete them.

use contract::ids::WorkflowId;
use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use serde_json::json;

use crate::{
    api::tenant_fns::{ui_create_workflow, ui_delete_workflow, ui_workflows},
    auth::{Auth, RequirePlan},
};
use contract::{
    error::UiError,
    generation::{DEFAULT_CFG_SCALE, DEFAULT_STEPS},
    plans::Plan,
    workflows::Workflow,
};

/// The workflows page.
#[component]
pub fn WorkflowsPage() -> impl IntoView {
    view! {
        <Title text="Workflows"/>
        <RequirePlan min=Plan::Pro>
            <h1>"Workflows"</h1>
            <WorkflowList/>
        </RequirePlan>
    }
}

#[component]
fn WorkflowList() -> impl IntoView {
    let auth = Auth::get();
    let items = RwSignal::new(None::<Result<Vec<Workflow>, UiError>>);
    let reload = move || {
        spawn_local(async move { items.set(Some(auth.call(ui_workflows).await)) });
    };
    Effect::new(move |_| reload());

    let name = RwSignal::new(String::new());
    let prompt = RwSignal::new(String::new());
    let steps = RwSignal::new(DEFAULT_STEPS.to_string());
    let outcome = RwSignal::new(None::<UiError>);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let params = json!({
            "prompt": prompt.get_untracked(),
            "steps": steps.get_untracked().trim().parse::<i64>().unwrap_or(DEFAULT_STEPS),
            "cfg_scale": DEFAULT_CFG_SCALE,
        });
        let name = name.get_untracked();
        spawn_local(async move {
            match auth.call(|token| ui_create_workflow(token, name.clone(), params.clone())).await {
                Ok(_) => {
                    outcome.set(None);
                    reload();
                }
                Err(e) => outcome.set(Some(e)),
            }
        });
    };
    let delete = move |id: WorkflowId| {
        spawn_local(async move {
            if let Err(e) = auth.call(|token| ui_delete_workflow(token, id)).await {
                outcome.set(Some(e));
            }
            reload();
        });
    };
    view! {
        <section class="panel">
            <h2>"Save a preset"</h2>
            <form class="stacked-form" on:submit=save data-testid="workflow-form">
                <label>"Name" <input type="text" maxlength="100" required bind:value=name data-testid="workflow-name"/></label>
                <label>"Prompt" <input type="text" bind:value=prompt data-testid="workflow-prompt"/></label>
                <label>"Steps" <input type="number" min="1" bind:value=steps/></label>
                <button type="submit" class="button primary">"Save preset"</button>
                {move || outcome.get().map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            </form>
        </section>
        <section class="panel">
            <h2>"Your presets"</h2>
            {move || match items.get() {
                None => view! { <p class="loading">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="muted">"No presets yet."</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <ul class="plain-list" data-testid="workflow-list">
                        {list.into_iter().map(|w| {
                            let id = w.workflow_id;
                            view! {
                                <li data-testid="workflow">
                                    <strong>{w.name}</strong>
                                    <span class="muted">{w.params.get("prompt").and_then(|p| p.as_str()).map(|p| format!(" · {p}"))}</span>
                                    <a class="button small" href=format!("/generate?workflow={id}") data-testid="use-workflow">"Use"</a>
                                    <button type="button" class="button small" on:click=move |_| delete(id)>"Delete"</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </section>
    }
}
