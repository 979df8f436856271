//! The workspace's parameters (prompt, negative prompt, seed with "randomise", steps, guidance,
//! scheduler, size, batch, model, board, and an edit's strength and mask blur) and the progress
//! of the job they started. With an image on the canvas a
//! generation edits the box's region of it and its results are staged there; on an empty canvas
//! it makes pictures from the prompt alone, which land in the gallery. Controls beyond the plan
//! are shown disabled with the plan that unlocks them; the server enforces the same limits.
//! `?from=<image id>` fills the form with that image's settings (and an edit's init image onto
//! the canvas), `?canvas=<image id>` opens that image on the canvas, `?workflow=<id>` fills the
//! form with a saved preset's (Pro and up, who can also save the form as a preset here).

use contract::ids::{ImageId, JobId, WorkflowId};
use leptos::{prelude::*, task::spawn_local};
use leptos_router::hooks::use_query_map;

use super::{
    server_fns::{ui_cancel_job, ui_generate},
    watch::watch_job,
    workspace::Workspace,
};
use crate::{
    api::{
        account_fns::ui_profile,
        gallery_fns::ui_image,
        tenant_fns::{ui_boards, ui_create_workflow, ui_models, ui_workflows},
    },
    auth::Auth,
};
use contract::{
    boards::Board,
    error::UiError,
    generation::{
        DEFAULT_CFG_SCALE, DEFAULT_INPAINT_STRENGTH, DEFAULT_MASK_BLUR, DEFAULT_STEPS, DEFAULT_STRENGTH,
        GenerateRequest, JobStatus, MAX_MASK_BLUR, ModelInfo, Scheduler,
    },
    images::JobEvent,
    plans::{Plan, PlanLimits},
};

/// Sizes offered, in pixels.
const SIDES: [u32; 8] = [64, 96, 128, 256, 512, 768, 1024, 1536];

/// The caller's plan (Free until the profile says otherwise).
fn current_plan(auth: Auth) -> Plan {
    auth.user().and_then(|u| Plan::parse(&u.subscription_plan)).unwrap_or(Plan::Free)
}

/// "needs Pro" for what `allows` grants, or "" when the plan already has it.
fn unlock_hint(plan: Plan, allows: impl Fn(&PlanLimits) -> bool) -> String {
    if allows(&plan.limits()) {
        return String::new();
    }
    Plan::cheapest_where(allows).map(|p| format!("needs {}", p.display_name())).unwrap_or_default()
}

#[component]
#[allow(clippy::too_many_lines)] // One form: splitting it would scatter its signals.
pub fn GenerateForm(workspace: Workspace) -> impl IntoView {
    let auth = Auth::get();
    let Workspace { canvas, event, results, elapsed } = workspace;
    let strength = RwSignal::new(None::<f64>);
    let mask_blur = RwSignal::new(DEFAULT_MASK_BLUR.to_string());
    let models = RwSignal::new(Vec::<ModelInfo>::new());
    let boards = RwSignal::new(Vec::<Board>::new());
    let prompt = RwSignal::new(String::new());
    let negative = RwSignal::new(String::new());
    let seed = RwSignal::new(String::new());
    let randomise = RwSignal::new(true);
    let steps = RwSignal::new(DEFAULT_STEPS.to_string());
    let cfg = RwSignal::new(DEFAULT_CFG_SCALE.to_string());
    let scheduler = RwSignal::new(Scheduler::EulerA.as_str().to_owned());
    let width = RwSignal::new(String::new());
    let height = RwSignal::new(String::new());
    let batch = RwSignal::new("1".to_owned());
    let model = RwSignal::new(String::new());
    let board = RwSignal::new(String::new());
    let error = RwSignal::new(None::<UiError>);
    let job_id = RwSignal::new(None::<JobId>);
    let started_at = RwSignal::new(None::<f64>);

    let preset_name = RwSignal::new(String::new());
    let preset_saved = RwSignal::new(None::<String>);
    let number = |text: String| text.trim().parse::<i64>().ok();
    // The form as one typed request: what Generate sends, and (less board and batch) what a
    // preset saves.
    let form_request = move || GenerateRequest {
        prompt: prompt.get_untracked(),
        negative_prompt: Some(negative.get_untracked()).filter(|n| !n.trim().is_empty()),
        seed: if randomise.get_untracked() { None } else { number(seed.get_untracked()) },
        steps: number(steps.get_untracked()),
        cfg_scale: cfg.get_untracked().trim().parse().ok(),
        scheduler: Some(scheduler.get_untracked()),
        width: number(width.get_untracked()),
        height: number(height.get_untracked()),
        batch_size: number(batch.get_untracked()),
        model: Some(model.get_untracked()).filter(|m| !m.is_empty()),
        board_id: board.get_untracked().parse().ok(),
        ..GenerateRequest::default()
    };
    // Sets the fields a request names (a preset's, an image's, a link's); the others stay.
    let apply = move |request: &GenerateRequest| {
        if !request.prompt.is_empty() {
            prompt.set(request.prompt.clone());
        }
        let texts = [
            (negative, request.negative_prompt.clone()),
            (seed, request.seed.map(|v| v.to_string())),
            (steps, request.steps.map(|v| v.to_string())),
            (cfg, request.cfg_scale.map(|v| v.to_string())),
            (scheduler, request.scheduler.clone()),
            (width, request.width.map(|v| v.to_string())),
            (height, request.height.map(|v| v.to_string())),
            (model, request.model.clone()),
        ];
        for (field, value) in texts {
            if let Some(value) = value {
                field.set(value);
            }
        }
        // A given seed is meant to be reused, not replaced by a random one.
        if request.seed.is_some() {
            randomise.set(false);
        }
        if let Some(value) = request.strength {
            strength.set(Some(value));
        }
        if let Some(value) = request.mask_blur {
            mask_blur.set(value.to_string());
        }
    };
    let query = use_query_map();
    Effect::new(move |_| {
        let from = query.with_untracked(|q| q.get("from")).and_then(|id| id.parse::<ImageId>().ok());
        let on_canvas = query.with_untracked(|q| q.get("canvas")).and_then(|id| id.parse::<ImageId>().ok());
        let workflow =
            query.with_untracked(|q| q.get("workflow")).and_then(|id| id.parse::<WorkflowId>().ok());
        // "Try it" links (the home page's examples): a prompt, and the seed that made the example.
        let linked = query.with_untracked(|q| GenerateRequest {
            prompt: q.get("prompt").unwrap_or_default(),
            seed: q.get("seed").and_then(|s| s.trim().parse().ok()),
            ..GenerateRequest::default()
        });
        spawn_local(async move {
            if let Ok(list) = auth.call(ui_models).await {
                let plan = current_plan(auth);
                if let Some(first) = list.iter().find(|m| m.open_to(plan)) {
                    model.set(first.name.0.clone());
                    width.set(first.default_side.to_string());
                    height.set(first.default_side.to_string());
                    let side = i32::try_from(first.default_side).unwrap_or(64);
                    canvas.resize_area((side, side));
                }
                models.set(list);
            }
            apply(&linked);
            if let Ok(list) = auth.call(ui_boards).await {
                boards.set(list);
            }
            // "Use these settings" from the gallery.
            if let Some(id) = from
                && let Ok(image) = auth.call(|token| ui_image(token, id)).await
                && let Some(params) = image.params
            {
                let recalled = GenerateRequest { batch_size: None, ..GenerateRequest::from(&params) };
                apply(&recalled);
                // An edit's settings bring back the image it started from.
                if let Some(init) = recalled.init_image_id
                    && let Ok(image) = auth.call(|token| ui_image(token, init)).await
                {
                    canvas.load_base(&image.file_url);
                }
            }
            if let Some(id) = on_canvas
                && let Ok(image) = auth.call(|token| ui_image(token, id)).await
            {
                canvas.load_base(&image.file_url);
            }
            if let Some(id) = workflow
                && let Ok(presets) = auth.call(ui_workflows).await
                && let Some(preset) = presets.into_iter().find(|w| w.workflow_id == id)
            {
                match GenerateRequest::from_preset(&preset.params) {
                    Ok(settings) => apply(&settings),
                    Err(message) => error.set(Some(UiError::Failed(message))),
                }
            }
        });
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = form_request();
        error.set(None);
        results.set(Vec::new());
        elapsed.set(None);
        started_at.set(Some(js_now()));
        let max_side = current_plan(auth).limits().max_side;
        spawn_local(async move {
            // With an image on the canvas, the request edits the box's region of it.
            let request = match canvas.edit_source(auth, max_side).await {
                Ok(None) => request,
                Ok(Some(source)) => GenerateRequest {
                    init_image_id: Some(source.init),
                    mask_image_id: source.mask,
                    region: source.region,
                    width: Some(i64::from(source.size.0)),
                    height: Some(i64::from(source.size.1)),
                    strength: Some(strength.get_untracked().unwrap_or(if source.mask.is_some() {
                        DEFAULT_INPAINT_STRENGTH
                    } else {
                        DEFAULT_STRENGTH
                    })),
                    mask_blur: number(mask_blur.get_untracked()),
                    staged: true,
                    ..request
                },
                Err(e) => {
                    error.set(Some(e));
                    return;
                }
            };
            let staged = request.staged;
            match auth.call(|token| ui_generate(token, request.clone())).await {
                Ok(accepted) => {
                    job_id.set(Some(accepted.job.job_id));
                    if !randomise.get_untracked() || seed.get_untracked().is_empty() {
                        seed.set(accepted.job.params.seed.to_string());
                    }
                    // The reservation counts at once: show the meter going down.
                    if let Ok(profile) = auth.call(ui_profile).await {
                        auth.set_user(profile);
                    }
                    let watch = watch_job(&accepted.events_url, move |mut update| {
                        let finished = update.status.is_finished();
                        // The completed event carries the images it made.
                        let made = std::mem::take(&mut update.images);
                        if !finished {
                            canvas.show_preview(update.preview.as_deref());
                        }
                        event.set(Some(update));
                        if finished {
                            elapsed.set(started_at.get_untracked().map(|t| (js_now() - t) / 1000.0));
                            if staged {
                                canvas.show_preview(None);
                                canvas.stage(made);
                            } else {
                                canvas.show_preview(made.first().map(|i| i.file_url.as_str()));
                                results.set(made);
                            }
                            canvas.gallery_changed.update(|n| *n += 1);
                            spawn_local(async move {
                                if let Ok(profile) = auth.call(ui_profile).await {
                                    auth.set_user(profile);
                                }
                            });
                        }
                    });
                    // It closes itself when the job finishes.
                    std::mem::forget(watch);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let save_preset = move |_| {
        let name = preset_name.get_untracked();
        let preset = form_request().as_preset(!randomise.get_untracked());
        let params = serde_json::to_value(&preset).unwrap_or_default();
        spawn_local(async move {
            match auth.call(|token| ui_create_workflow(token, name.clone(), params.clone())).await {
                Ok(saved) => {
                    error.set(None);
                    preset_saved.set(Some(format!("Saved as “{}”.", saved.name)));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let cancel = move |_| {
        if let Some(id) = job_id.get_untracked() {
            spawn_local(async move {
                if let Err(e) = auth.call(|token| ui_cancel_job(token, id)).await {
                    error.set(Some(e));
                }
            });
        }
    };

    // On an empty canvas the box is the size to be made.
    let resize_box = move || {
        if let (Some(w), Some(h)) = (number(width.get_untracked()), number(height.get_untracked())) {
            canvas.resize_area((i32::try_from(w).unwrap_or(64), i32::try_from(h).unwrap_or(64)));
        }
    };
    let plan = move || current_plan(auth);
    let running = move || event.get().is_some_and(|e| !e.status.is_finished());
    let field_error = move |name: &'static str| {
        move || {
            error
                .get()
                .and_then(|e| e.for_field(name))
                .map(|m| view! { <span class="field-error" role="alert">{m}</span> })
        }
    };
    let size_options = move || {
        let limits = plan().limits();
        SIDES
            .into_iter()
            .map(|side| {
                let hint = unlock_hint(plan(), |l| l.max_side >= side);
                let label =
                    if hint.is_empty() { format!("{side} px") } else { format!("{side} px ({hint})") };
                view! { <option value=side.to_string() disabled={side > limits.max_side}>{label}</option> }
            })
            .collect_view()
    };

    view! {
        <form class="generate-form panel" on:submit=submit data-testid="generate-form">
            <label class="wide">"Prompt"
                <textarea rows="3" maxlength="2000" required data-testid="prompt"
                    prop:value=move || prompt.get() on:input=move |ev| prompt.set(event_target_value(&ev))></textarea>
                {field_error("prompt")}
            </label>
            <label class="wide">"Negative prompt"
                <input type="text" maxlength="2000" data-testid="negative-prompt" bind:value=negative/>
            </label>
            <label>"Seed"
                <input type="number" min="0" max="4294967295" data-testid="seed" bind:value=seed
                    disabled=move || randomise.get()/>
                <span class="inline-check"><input type="checkbox" data-testid="randomise" bind:checked=randomise/> "Randomise"</span>
                {field_error("seed")}
            </label>
            <label>"Steps"
                <input type="number" min="1" max=move || plan().limits().max_steps.to_string() data-testid="steps" bind:value=steps/>
                <span class="muted">{move || format!("up to {} on your plan", plan().limits().max_steps)}</span>
                {field_error("steps")}
            </label>
            <label>"Guidance (CFG)"
                <input type="number" min="0" max="30" step="0.5" data-testid="cfg" bind:value=cfg/>
                {field_error("cfg_scale")}
            </label>
            <label>"Scheduler"
                <select data-testid="scheduler" prop:value=move || scheduler.get() on:change=move |ev| scheduler.set(event_target_value(&ev))>
                    {Scheduler::ALL.into_iter().map(|s| view! { <option value=s.as_str()>{s.display_name()}</option> }).collect_view()}
                </select>
            </label>
            {move || canvas.base.get().map(|_| {
                let area = canvas.area.get();
                view! {
                    <p class="wide muted" data-testid="edit-size">{format!("Editing the canvas: the box's {}×{} pixels are generated.", area.w, area.h)}</p>
                    <label>"Strength"
                        <input type="range" min="0" max="1" step="0.05" data-testid="strength"
                            prop:value=move || strength.get().map_or(String::new(), |v| v.to_string())
                            on:input=move |ev| strength.set(event_target_value(&ev).parse().ok())/>
                        <span class="muted">{move || strength.get().map_or_else(
                            || "1 where masked, else 0.75".to_owned(),
                            |v| format!("{v:.2}: 0 keeps the image, 1 paints afresh"))}</span>
                        {field_error("strength")}
                    </label>
                    <label>"Mask blur"
                        <input type="number" min="0" max=MAX_MASK_BLUR.to_string() data-testid="mask-blur" bind:value=mask_blur/>
                        <span class="muted">"pixels of soft edge"</span>
                        {field_error("mask_blur")}
                    </label>
                }
            })}
            <label class:hidden=move || canvas.base.get().is_some()>"Width"
                <select data-testid="width" prop:value=move || width.get()
                    on:change=move |ev| { width.set(event_target_value(&ev)); resize_box(); }>
                    {size_options}
                </select>
                {field_error("width")}
            </label>
            <label class:hidden=move || canvas.base.get().is_some()>"Height"
                <select data-testid="height" prop:value=move || height.get()
                    on:change=move |ev| { height.set(event_target_value(&ev)); resize_box(); }>
                    {size_options}
                </select>
                {field_error("height")}
            </label>
            <label>"Images"
                <input type="number" min="1" data-testid="batch" bind:value=batch
                    max=move || plan().limits().max_batch.to_string()
                    disabled=move || { plan().limits().max_batch <= 1 }/>
                <span class="muted" data-testid="batch-hint">{move || {
                    let limits = plan().limits();
                    if limits.max_batch <= 1 { unlock_hint(plan(), |l| l.max_batch > 1).replace("needs", "Batches need") }
                    else { format!("up to {} at once", limits.max_batch) }
                }}</span>
                {field_error("batch_size")}
            </label>
            <label>"Model"
                <select data-testid="model" prop:value=move || model.get() on:change=move |ev| model.set(event_target_value(&ev))>
                    {move || models.get().into_iter().map(|m| {
                        let locked = !m.open_to(plan());
                        let label = if locked { format!("{} (needs {})", m.title, m.min_plan.display_name()) } else { m.title.clone() };
                        view! { <option value=m.name.0.clone() disabled=locked>{label}</option> }
                    }).collect_view()}
                </select>
                {field_error("model")}
            </label>
            <label>"Board"
                <select data-testid="board" prop:value=move || board.get() on:change=move |ev| board.set(event_target_value(&ev))>
                    <option value="">"No board"</option>
                    {move || boards.get().into_iter().map(|b| view! { <option value=b.board_id.to_string()>{b.name}</option> }).collect_view()}
                </select>
            </label>
            <div class="form-actions wide">
                <button type="submit" class="button primary" data-testid="generate" disabled=running>"Generate"</button>
                {move || running().then(|| view! { <button type="button" class="button" data-testid="cancel-job" on:click=cancel>"Cancel"</button> })}
            </div>
            {move || error.get().filter(|e| !matches!(e, UiError::Invalid { .. })).map(|e| view! { <p class="error" role="alert" data-testid="generate-error">{e.to_string()}</p> })}
        </form>
        <section class="panel inline-form" data-testid="preset-panel">
            <input type="text" maxlength="100" placeholder="Preset name" aria-label="Preset name" data-testid="preset-name"
                bind:value=preset_name disabled=move || { !plan().limits().workflows }/>
            <button type="button" class="button" data-testid="save-preset" on:click=save_preset
                disabled=move || { !plan().limits().workflows || preset_name.get().trim().is_empty() }>
                {move || if plan().limits().workflows { "Save as preset".to_owned() } else {
                    format!("Save as preset ({})", unlock_hint(plan(), |l| l.workflows))
                }}
            </button>
            {move || preset_saved.get().map(|m| view! { <span class="success" data-testid="preset-saved">{m}</span> })}
            {move || error.get().and_then(|e| e.for_field("name")).map(|m| view! { <span class="field-error" role="alert">{m}</span> })}
        </section>
    }
    .into_any()
}

/// The progress bar, queue position and preview of the job being made.
#[component]
pub fn JobProgress(event: JobEvent) -> impl IntoView {
    let status = match event.status {
        JobStatus::Queued => match event.queue_position {
            Some(0) | None => "Queued: next in line".to_owned(),
            Some(n) => format!("Queued: {n} ahead of you"),
        },
        JobStatus::Running => format!("Step {} of {}", event.step, event.total),
        JobStatus::Completed => "Done".to_owned(),
        JobStatus::Failed => format!("Failed: {}", event.error.clone().unwrap_or_default()),
        JobStatus::Cancelled => "Cancelled; unused images were refunded".to_owned(),
    };
    view! {
        <section class="panel job-progress" data-testid="job-progress" data-status=event.status.as_str()>
            <progress data-testid="progress-bar" max=event.total.to_string() value=event.step.to_string()></progress>
            <p data-testid="progress-text">{status}</p>
            {event.preview.map(|src| view! { <img class="preview" data-testid="preview" src=src alt="Preview of the image being made"/> })}
        </section>
    }
}

/// Milliseconds since the epoch, in the browser (0 on the server, where nothing is timed).
fn js_now() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    0.0
}
