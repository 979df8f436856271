//! `/gallery/{id}`: one of my images at full size with the parameters that made it, "use these
//! settings", download and delete. Another user's image (or none) shows the not-found page,
//! exactly as an image that does not exist would.

use contract::ids::ImageId;
use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::{gallery::confirmed, not_found::NotFound};
use crate::{
    api::gallery_fns::{ui_delete_image, ui_image},
    auth::{Auth, RequireAuth},
};
use contract::{error::UiError, images::ImageInfo};

/// The image page.
#[component]
pub fn ImageDetailPage() -> impl IntoView {
    view! {
        <Title text="Image"/>
        <RequireAuth>
            <ImageDetail/>
        </RequireAuth>
    }
}

#[component]
fn ImageDetail() -> impl IntoView {
    let auth = Auth::get();
    let params = use_params_map();
    let image = RwSignal::new(None::<Result<ImageInfo, UiError>>);
    Effect::new(move |_| {
        let id = params.with(|p| p.get("id")).and_then(|id| id.parse::<ImageId>().ok());
        spawn_local(async move {
            let found = match id {
                Some(id) => auth.call(|token| ui_image(token, id)).await,
                None => Err(UiError::Refused { status: 404, message: "Not found.".into() }),
            };
            image.set(Some(found));
        });
    });
    move || match image.get() {
        None => view! { <p class="loading">"Loading…"</p> }.into_any(),
        Some(Err(UiError::Refused { status: 404, .. })) => view! { <NotFound/> }.into_any(),
        Some(Err(e)) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        Some(Ok(info)) => view! { <ImageView info=info/> }.into_any(),
    }
}

#[component]
fn ImageView(info: ImageInfo) -> impl IntoView {
    let auth = Auth::get();
    let navigate = use_navigate();
    let id = info.image_id;
    let error = RwSignal::new(None::<UiError>);
    let delete = move |_| {
        if !confirmed("Delete this image? This cannot be undone.") {
            return;
        }
        let navigate = navigate.clone();
        spawn_local(async move {
            match auth.call(|token| ui_delete_image(token, id)).await {
                Ok(()) => navigate("/gallery", Default::default()),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let rows: Vec<(&'static str, String)> = info.params.as_ref().map_or_else(Vec::new, |p| {
        vec![
            ("Prompt", p.prompt.clone()),
            ("Negative prompt", p.negative_prompt.clone()),
            ("Seed", p.seed.to_string()),
            ("Steps", p.steps.to_string()),
            ("Guidance (CFG)", p.cfg_scale.to_string()),
            ("Scheduler", p.scheduler.display_name().to_owned()),
            ("Size", format!("{} × {}", p.width, p.height)),
            ("Model", p.model.0.clone()),
        ]
    });
    let generated = info.params.is_some();
    view! {
        <h1>"Image"</h1>
        <div class="image-detail" data-testid="image-detail">
            <img class="full-image" src=info.file_url.clone() alt="The image" data-testid="full-image"
                width=info.width.to_string() height=info.height.to_string()/>
            <section class="panel">
                <h2>"How it was made"</h2>
                {if generated {
                    view! {
                        <dl class="params" data-testid="image-params">
                            {rows.into_iter().map(|(name, value)| view! {
                                <dt>{name}</dt><dd data-testid=format!("param-{}", name.to_lowercase().replace(' ', "-"))>{value}</dd>
                            }).collect_view()}
                        </dl>
                        <a class="button primary" href=format!("/generate?from={id}") data-testid="use-settings">"Use these settings"</a>
                    }.into_any()
                } else {
                    view! { <p class="muted">"Uploaded image."</p> }.into_any()
                }}
                <p class="muted">{format!("{} × {} px · {} bytes", info.width, info.height, info.byte_size)}</p>
                <a class="button" href=format!("/generate?canvas={id}") data-testid="edit-on-canvas">"Edit on canvas"</a>
                <a class="button" href=info.file_url download=format!("pingvas-{id}.png") data-testid="download">"Download"</a>
                <button type="button" class="button danger" data-testid="delete" on:click=delete>"Delete"</button>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
                <p><a href="/gallery">"Back to the gallery"</a></p>
            </section>
        </div>
    }
}
