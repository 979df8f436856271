//! `/generate`, the workspace: parameters on the left ([`super::form`]), the canvas in the
//! centre with the live progress (previews drawn in the box) and the results, the recent images
//! on the right; one column on a phone.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;

use super::{
    canvas::{CanvasHandle, CanvasPane},
    form::{GenerateForm, JobProgress},
};
use crate::{
    api::gallery_fns::ui_images,
    auth::{Auth, RequireAuth},
};
use contract::images::{ImageFilter, ImageInfo, JobEvent};

/// How many recent images the right-hand pane shows.
const RECENT: i64 = 12;

/// What the workspace's panes share: the canvas, the job being made and what it made.
#[derive(Debug, Clone, Copy)]
pub struct Workspace {
    pub canvas: CanvasHandle,
    pub event: RwSignal<Option<JobEvent>>,
    pub results: RwSignal<Vec<ImageInfo>>,
    pub elapsed: RwSignal<Option<f64>>,
}

/// The generation workspace.
#[component]
pub fn GeneratePage() -> impl IntoView {
    let workspace = Workspace {
        canvas: CanvasHandle::new(64),
        event: RwSignal::new(None),
        results: RwSignal::new(Vec::new()),
        elapsed: RwSignal::new(None),
    };
    view! {
        <Title text="Generate"/>
        <RequireAuth>
            <div class="workspace" data-testid="workspace">
                <aside class="workspace-params">
                    <h1>"Generate"</h1>
                    <GenerateForm workspace/>
                </aside>
                <div class="workspace-centre">
                    <CanvasPane handle=workspace.canvas/>
                    {move || workspace.event.get().map(|e| view! { <JobProgress event=e/> })}
                    {move || workspace.elapsed.get().map(|s| view! { <p class="muted" data-testid="elapsed">{format!("Done in {s:.1} s.")}</p> })}
                    <Results workspace/>
                </div>
                <aside class="workspace-recent">
                    <RecentImages workspace/>
                </aside>
            </div>
        </RequireAuth>
    }
}

/// The pictures a text-to-image job made (an edit's wait on the canvas instead).
#[component]
fn Results(workspace: Workspace) -> impl IntoView {
    let results = workspace.results;
    move || {
        (!results.get().is_empty()).then(|| {
            view! {
                <section class="panel">
                    <h2>"Results"</h2>
                    <div class="gallery-grid" data-testid="results">
                        {results.get().into_iter().map(|image| view! {
                            <figure class="result">
                                <ThumbToCanvas image canvas=workspace.canvas testids=("result", "result-to-canvas") label="Edit on canvas"/>
                            </figure>
                        }).collect_view()}
                    </div>
                    <a href="/gallery" class="button" data-testid="open-gallery">"Open the gallery"</a>
                </section>
            }
        })
    }
}

/// The newest pictures of the gallery, each of which can be opened on the canvas.
#[component]
fn RecentImages(workspace: Workspace) -> impl IntoView {
    let auth = Auth::get();
    let images = RwSignal::new(Vec::<ImageInfo>::new());
    Effect::new(move |_| {
        workspace.canvas.gallery_changed.track();
        spawn_local(async move {
            let filter = ImageFilter { offset: 0, limit: RECENT, board_id: None, starred: false };
            if let Ok(page) = auth.call(|token| ui_images(token, filter.clone())).await {
                images.set(page.items);
            }
        });
    });
    view! {
        <h2>"Recent"</h2>
        <ul class="recent-list" data-testid="recent">
            {move || images.get().into_iter().map(|image| view! {
                <li data-testid="recent-image">
                    <ThumbToCanvas image canvas=workspace.canvas testids=("recent-link", "recent-to-canvas") label="Edit"/>
                </li>
            }).collect_view()}
        </ul>
        {move || images.get().is_empty().then(|| view! { <p class="muted">"Your pictures will appear here."</p> })}
        <a href="/gallery" data-testid="recent-gallery">"All images"</a>
    }
}

/// An image's thumbnail, linking to its page, and a button that opens it on the canvas
/// (`testids`: the link's and the button's).
#[component]
fn ThumbToCanvas(
    image: ImageInfo,
    canvas: CanvasHandle,
    testids: (&'static str, &'static str),
    label: &'static str,
) -> impl IntoView {
    let url = image.file_url.clone();
    view! {
        <a href=format!("/gallery/{}", image.image_id) class="thumb" data-testid=testids.0>
            <img src=image.thumbnail_url alt="Generated image"/>
        </a>
        <button type="button" class="button tool" data-testid=testids.1 on:click=move |_| canvas.load_base(&url)>{label}</button>
    }
}
