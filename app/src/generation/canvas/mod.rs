//! The canvas of the generation workspace: a base image (uploaded, sent from the gallery or made
//! here), a mask painted over it with a brush and an eraser, and a generation box that may reach
//! past the image to extend it. A generation with a base edits the box's region of it (image to
//! image, inpainting where masked, outpainting past the edges); its results wait in the box, in a
//! staging strip, to be accepted (painted into the base and kept in the gallery) or discarded.
//! The geometry and history are plain data ([`model`]); the browser side is [`surface`]
//! (drawing), [`brush`] (the mask brush) and [`input`] (pointer, wheel and keys).

#[cfg(feature = "hydrate")]
mod brush;
#[cfg(feature = "hydrate")]
mod input;
pub mod model;
#[cfg(feature = "hydrate")]
mod surface;

use contract::{error::UiError, generation::Region, ids::ImageId, images::ImageInfo};
use leptos::{prelude::*, task::spawn_local};

use crate::{
    api::gallery_fns::{ui_accept_image, ui_delete_image},
    auth::Auth,
};
use model::Rect;

/// Runs `$body` with the studio as `$s`, in the browser once the canvas is in the page; nothing
/// on the server.
macro_rules! on_studio {
    ($handle:expr, |$s:ident| $body:expr) => {{
        #[cfg(feature = "hydrate")]
        $handle.with_studio(|$s| $body);
    }};
}

/// What a pointer drag on the canvas does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// Paint the mask.
    Brush,
    /// Erase the mask.
    Eraser,
    /// Move the box (its corner handle resizes it); elsewhere, pan.
    Move,
    /// Pan the view.
    Pan,
}

/// What a generation on the canvas edits: its uploads, the region and the size to make.
#[derive(Debug, Clone, PartialEq)]
pub struct EditSource {
    /// The base, as an asset.
    pub init: ImageId,
    /// The mask, as an asset, when something is painted.
    pub mask: Option<ImageId>,
    /// The box, in the base's pixels.
    pub region: Option<Region>,
    /// Width and height to generate at.
    pub size: (u32, u32),
}

/// The canvas as the page sees it: signals for what it shows, and the studio behind them.
#[derive(Debug, Clone, Copy)]
pub struct CanvasHandle {
    #[cfg(feature = "hydrate")]
    studio: StoredValue<Option<surface::Studio>, LocalStorage>,
    /// The pointer's tool.
    pub tool: RwSignal<Tool>,
    /// Brush diameter, canvas pixels.
    pub brush: RwSignal<f64>,
    /// Brush hardness, 0–1.
    pub hardness: RwSignal<f64>,
    /// Whether undo and redo can act.
    pub history: RwSignal<(bool, bool)>,
    /// The base's size; none for an empty canvas.
    pub base: RwSignal<Option<(i32, i32)>>,
    /// The generation box.
    pub area: RwSignal<Rect>,
    /// The view's zoom.
    pub zoom: RwSignal<f64>,
    /// Whether the mask has paint.
    pub painted: RwSignal<bool>,
    /// Results waiting in the box.
    pub staged: RwSignal<Vec<ImageInfo>>,
    /// The one shown.
    pub staged_index: RwSignal<usize>,
    /// Bumped when the gallery gained a picture here (a result accepted), for lists of it.
    pub gallery_changed: RwSignal<u32>,
}

impl CanvasHandle {
    /// An empty canvas whose box is `side` pixels square.
    #[must_use]
    pub fn new(side: i32) -> Self {
        Self {
            #[cfg(feature = "hydrate")]
            studio: StoredValue::new_local(None),
            tool: RwSignal::new(Tool::Brush),
            brush: RwSignal::new(16.0),
            hardness: RwSignal::new(0.8),
            history: RwSignal::new((false, false)),
            base: RwSignal::new(None),
            area: RwSignal::new(Rect { x: 0, y: 0, w: side, h: side }),
            zoom: RwSignal::new(1.0),
            painted: RwSignal::new(false),
            staged: RwSignal::new(Vec::new()),
            staged_index: RwSignal::new(0),
            gallery_changed: RwSignal::new(0),
        }
    }

    /// Runs `act` on the studio, once the canvas is in the page.
    #[cfg(feature = "hydrate")]
    fn with_studio(self, act: impl FnOnce(&mut surface::Studio)) {
        self.studio.update_value(|studio| {
            if let Some(studio) = studio.as_mut() {
                act(studio);
            }
        });
    }

    /// Redraws the canvas.
    pub fn redraw(self) {
        on_studio!(self, |s| s.render());
    }

    /// Undoes (or redoes) a mask stroke.
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    pub fn history_step(self, redo: bool) {
        on_studio!(self, |s| s.history(redo));
    }

    /// Zooms in (`> 1`) or out about the centre.
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    pub fn zoom_by(self, factor: f64) {
        on_studio!(self, |s| s.zoom(factor, None));
    }

    /// Shows everything.
    pub fn fit(self) {
        on_studio!(self, |s| s.fit());
    }

    /// Moves the box half past the right edge.
    pub fn extend_right(self) {
        on_studio!(self, |s| s.extend_right());
    }

    /// Erases the mask.
    pub fn clear_mask(self) {
        on_studio!(self, |s| s.clear_mask());
    }

    /// Empties the canvas.
    pub fn start_over(self) {
        self.staged.set(Vec::new());
        on_studio!(self, |s| s.start_over());
    }

    /// Sizes the box (from the page's size fields, on an empty canvas).
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    pub fn resize_area(self, size: (i32, i32)) {
        on_studio!(self, |s| s.resize_area(size));
    }

    /// Makes the image at `url` the base.
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    pub fn load_base(self, url: &str) {
        self.staged.set(Vec::new());
        #[cfg(feature = "hydrate")]
        {
            let _ = surface::load_image(url, move |image| self.with_studio(|studio| studio.set_base(&image)));
        }
    }

    /// Shows `preview` (a data URL) in the box while a job runs; `None` clears it.
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    pub fn show_preview(self, preview: Option<&str>) {
        #[cfg(feature = "hydrate")]
        {
            let image =
                preview.and_then(|url| surface::load_image(url, move |_| self.with_studio(|s| s.render())));
            self.with_studio(|studio| studio.show_preview(image));
        }
    }

    /// Shows a finished job's `images` in the box to accept or discard.
    pub fn stage(self, images: Vec<ImageInfo>) {
        #[cfg(feature = "hydrate")]
        {
            let elements = images
                .iter()
                .filter_map(|i| surface::load_image(&i.file_url, move |_| self.with_studio(|s| s.render())))
                .collect();
            self.with_studio(|studio| studio.stage(elements));
        }
        self.staged_index.set(0);
        self.staged.set(images);
    }

    /// Keeps the shown staged result: into the base over the box, and into the gallery.
    pub async fn accept(self, auth: Auth) -> Result<(), UiError> {
        let index = self.staged_index.get_untracked();
        let Some(image) = self.staged.get_untracked().get(index).cloned() else { return Ok(()) };
        auth.call(|token| ui_accept_image(token, image.image_id)).await?;
        on_studio!(self, |s| s.accept(index));
        self.staged.set(Vec::new());
        self.gallery_changed.update(|n| *n += 1);
        Ok(())
    }

    /// Throws the shown staged result away (it is deleted).
    pub async fn discard(self, auth: Auth) -> Result<(), UiError> {
        let index = self.staged_index.get_untracked();
        let Some(image) = self.staged.get_untracked().get(index).cloned() else { return Ok(()) };
        auth.call(|token| ui_delete_image(token, image.image_id)).await?;
        on_studio!(self, |s| s.unstage(index));
        self.staged.update(|staged| {
            staged.remove(index);
        });
        self.staged_index.set(0);
        self.redraw();
        Ok(())
    }

    /// What a generation now would edit, uploading the base and mask as assets if they changed
    /// since the last upload; `None` for an empty canvas (text to image).
    ///
    /// # Errors
    /// An upload failed.
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables, clippy::unused_async))]
    pub async fn edit_source(self, auth: Auth, max_side: u32) -> Result<Option<EditSource>, UiError> {
        #[cfg(feature = "hydrate")]
        {
            use crate::components::upload::{Purpose, upload_image};

            let Some(snapshot) = self.studio.with_value(|s| s.as_ref().and_then(surface::Studio::snapshot))
            else {
                return Ok(None);
            };
            let failed = |_| UiError::Failed("The canvas could not be saved as an image.".into());
            let upload = async |canvas: &web_sys::HtmlCanvasElement, name: &str| {
                let blob = surface::png_of(canvas).await.map_err(failed)?;
                let info =
                    auth.call(|token| upload_image(token, blob.clone(), name, None, Purpose::Asset)).await?;
                Ok::<_, UiError>(info.image_id)
            };
            let init = match snapshot.assets.0 {
                Some(id) => id,
                None => upload(&snapshot.base, "canvas.png").await?,
            };
            let mask = match (&snapshot.mask, snapshot.assets.1) {
                (None, _) => None,
                (Some(_), Some(id)) => Some(id),
                (Some(canvas), None) => Some(upload(canvas, "mask.png").await?),
            };
            self.with_studio(|s| s.remember(snapshot.versions, init, mask));
            let (region, size) = model::request_geometry(Some(snapshot.base_size), snapshot.area, max_side);
            Ok(Some(EditSource { init, mask, region, size }))
        }
        #[cfg(not(feature = "hydrate"))]
        Ok(None)
    }
}

/// The canvas with its tools and staging strip.
#[component]
pub fn CanvasPane(handle: CanvasHandle) -> impl IntoView {
    let auth = Auth::get();
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let file_ref = NodeRef::<leptos::html::Input>::new();
    let error = RwSignal::new(None::<UiError>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(display) = canvas_ref.get() {
            let area = handle.area.get_untracked();
            handle.studio.set_value(surface::Studio::new(handle, display.clone(), (area.w, area.h)));
            input::listen(handle, &display);
            let keys = input::shortcuts(handle);
            on_cleanup(move || keys.remove());
            handle.with_studio(|s| s.render());
        }
    });
    let choose_file = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(file) = file_ref.get_untracked().and_then(|i| i.files()).and_then(|f| f.get(0))
            && let Ok(url) = web_sys::Url::create_object_url_with_blob(&file)
        {
            handle.load_base(&url);
        }
    };
    let tool_button = move |tool: Tool, label: &'static str, key: &'static str, testid: &'static str| {
        view! {
            <button type="button" class="button tool" data-testid=testid aria-pressed=move || (handle.tool.get() == tool).to_string()
                title=format!("{label} ({key})") on:click=move |_| handle.tool.set(tool)>{label}</button>
        }
    };
    let settle = move |result: Result<(), UiError>| error.set(result.err());
    let staged_count = move || handle.staged.get().len();
    view! {
        <section class="canvas-pane" data-testid="canvas-pane">
            <div class="canvas-toolbar" role="toolbar" aria-label="Canvas tools">
                <label class="button tool file-button">"Image…"
                    <input type="file" accept="image/png,image/jpeg,image/webp" node_ref=file_ref data-testid="canvas-file" on:change=choose_file/>
                </label>
                {tool_button(Tool::Brush, "Brush", "B", "tool-brush")}
                {tool_button(Tool::Eraser, "Eraser", "E", "tool-eraser")}
                {tool_button(Tool::Move, "Box", "V", "tool-move")}
                {tool_button(Tool::Pan, "Pan", "H", "tool-pan")}
                <label class="slider">"Size"
                    <input type="range" min="1" max="256" data-testid="brush-size"
                        prop:value=move || handle.brush.get().to_string()
                        on:input=move |ev| handle.brush.set(event_target_value(&ev).parse().unwrap_or(16.0))/>
                </label>
                <label class="slider">"Hardness"
                    <input type="range" min="0" max="100" data-testid="brush-hardness"
                        prop:value=move || (handle.hardness.get() * 100.0).round().to_string()
                        on:input=move |ev| handle.hardness.set(event_target_value(&ev).parse::<f64>().unwrap_or(80.0) / 100.0)/>
                </label>
                <button type="button" class="button tool" data-testid="undo" title="Undo (Ctrl+Z)"
                    disabled=move || !handle.history.get().0 on:click=move |_| handle.history_step(false)>"Undo"</button>
                <button type="button" class="button tool" data-testid="redo" title="Redo (Ctrl+Shift+Z)"
                    disabled=move || !handle.history.get().1 on:click=move |_| handle.history_step(true)>"Redo"</button>
                <button type="button" class="button tool" data-testid="clear-mask" disabled=move || !handle.painted.get()
                    on:click=move |_| handle.clear_mask()>"Clear mask"</button>
                <button type="button" class="button tool" data-testid="zoom-out" title="Zoom out (-)" on:click=move |_| handle.zoom_by(1.0 / 1.25)>"−"</button>
                <span class="muted zoom" data-testid="zoom">{move || format!("{:.0}%", handle.zoom.get() * 100.0)}</span>
                <button type="button" class="button tool" data-testid="zoom-in" title="Zoom in (+)" on:click=move |_| handle.zoom_by(1.25)>"+"</button>
                <button type="button" class="button tool" data-testid="fit" title="Fit (0)" on:click=move |_| handle.fit()>"Fit"</button>
                <button type="button" class="button tool" data-testid="extend-right" disabled=move || handle.base.get().is_none()
                    title="Move the box half past the right edge to extend the picture" on:click=move |_| handle.extend_right()>"Extend →"</button>
                <button type="button" class="button tool" data-testid="start-over" disabled=move || handle.base.get().is_none()
                    on:click=move |_| handle.start_over()>"Clear canvas"</button>
            </div>
            <canvas class="studio-canvas" node_ref=canvas_ref data-testid="canvas"
                data-base=move || handle.base.get().map(|(w, h)| format!("{w}x{h}")).unwrap_or_default()
                data-box=move || { let a = handle.area.get(); format!("{},{},{},{}", a.x, a.y, a.w, a.h) }
                data-strokes=move || handle.history.get().0.to_string()
                aria-label="Canvas: paint the mask, move the box, or pan"></canvas>
            <p class="muted canvas-hint">{move || match handle.base.get() {
                None => "Empty canvas: Generate makes a picture in the box, or open an image to edit.".to_owned(),
                Some((w, h)) => format!("{w}×{h} image. Paint where to repaint; move the box past an edge to extend."),
            }}</p>
            {move || (staged_count() > 0).then(|| view! {
                <div class="staging" data-testid="staging">
                    <button type="button" class="button tool" data-testid="staged-previous" disabled=move || handle.staged_index.get() == 0
                        on:click=move |_| { handle.staged_index.update(|i| *i = i.saturating_sub(1)); handle.redraw(); }>"‹"</button>
                    <span data-testid="staged-position">{move || format!("{} of {}", handle.staged_index.get() + 1, staged_count())}</span>
                    <button type="button" class="button tool" data-testid="staged-next" disabled=move || { handle.staged_index.get() + 1 >= staged_count() }
                        on:click=move |_| { handle.staged_index.update(|i| *i += 1); handle.redraw(); }>"›"</button>
                    <button type="button" class="button primary" data-testid="accept"
                        on:click=move |_| spawn_local(async move { settle(handle.accept(auth).await) })>"Accept"</button>
                    <button type="button" class="button" data-testid="discard"
                        on:click=move |_| spawn_local(async move { settle(handle.discard(auth).await) })>"Discard"</button>
                </div>
            })}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
        </section>
    }
    .into_any()
}
