//! The canvas in the browser: the base image and the mask as off-screen `<canvas>` elements, the
//! visible one redrawn from them with the view's zoom and pan, the box, staged results and live
//! previews; pointer events (mouse, pen and touch alike, wired in [`super::input`]) paint, erase,
//! move and resize the box or pan. Strokes are kept as data ([`Strokes`]) and the mask is
//! repainted from them on undo.

use contract::ids::ImageId;
use leptos::prelude::{GetUntracked, Set};
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, HtmlImageElement, PointerEvent};

use super::{
    CanvasHandle, Tool,
    brush::{dab, paint, segment},
    model::{self, Rect, Stroke, Strokes, View},
};

/// What a pointer drag is doing.
#[derive(Debug, Clone, Copy)]
enum Drag {
    Stroke,
    Box { start: Rect, from: (f64, f64), resize: bool },
    Pan { pan: (f64, f64), from: (f64, f64) },
}

/// The canvas's state and elements.
#[derive(Debug)]
pub struct Studio {
    handle: CanvasHandle,
    display: HtmlCanvasElement,
    /// For tinting the mask on screen.
    scratch: HtmlCanvasElement,
    base: Option<HtmlCanvasElement>,
    /// White where painted, transparent elsewhere; the base's size.
    mask: Option<HtmlCanvasElement>,
    strokes: Strokes,
    current: Option<Stroke>,
    view: View,
    area: Rect,
    drag: Option<Drag>,
    hover: Option<(f64, f64)>,
    staged: Vec<HtmlImageElement>,
    preview: Option<HtmlImageElement>,
    /// Bumped whenever the base or the mask changes, so an uploaded copy is reused until then.
    base_version: u64,
    mask_version: u64,
    base_asset: Option<(u64, ImageId)>,
    mask_asset: Option<(u64, ImageId)>,
}

/// What a generation needs from the canvas, read at once (the uploads happen after).
#[derive(Debug)]
pub struct Snapshot {
    /// The base, to upload unless `base_asset` is current.
    pub base: HtmlCanvasElement,
    /// The mask as black and white, when something is painted.
    pub mask: Option<HtmlCanvasElement>,
    /// Versions of both, to remember the uploads by.
    pub versions: (u64, u64),
    /// Uploads still current.
    pub assets: (Option<ImageId>, Option<ImageId>),
    /// The base's size.
    pub base_size: (i32, i32),
    /// The box.
    pub area: Rect,
}

fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok().flatten().and_then(|c| c.dyn_into().ok())
}

fn new_canvas(width: i32, height: i32) -> Option<HtmlCanvasElement> {
    let canvas: HtmlCanvasElement =
        leptos::prelude::document().create_element("canvas").ok()?.dyn_into().ok()?;
    canvas.set_width(u32::try_from(width.max(1)).unwrap_or(1));
    canvas.set_height(u32::try_from(height.max(1)).unwrap_or(1));
    Some(canvas)
}

fn size_of(canvas: &HtmlCanvasElement) -> (i32, i32) {
    (i32::try_from(canvas.width()).unwrap_or(0), i32::try_from(canvas.height()).unwrap_or(0))
}

impl Studio {
    /// A studio drawing on `display`, with an empty canvas whose box is `width × height`.
    #[must_use]
    pub fn new(
        handle: CanvasHandle,
        display: HtmlCanvasElement,
        (width, height): (i32, i32),
    ) -> Option<Self> {
        let area = Rect { x: 0, y: 0, w: width, h: height };
        Some(Self {
            handle,
            scratch: new_canvas(1, 1)?,
            view: View::fitting(
                area,
                (f64::from(display.client_width()), f64::from(display.client_height())),
            ),
            display,
            base: None,
            mask: None,
            strokes: Strokes::default(),
            current: None,
            area,
            drag: None,
            hover: None,
            staged: Vec::new(),
            preview: None,
            base_version: 0,
            mask_version: 0,
            base_asset: None,
            mask_asset: None,
        })
    }

    fn screen_size(&self) -> (f64, f64) {
        (f64::from(self.display.client_width()), f64::from(self.display.client_height()))
    }

    /// Tells the page what changed.
    fn sync(&self) {
        let h = self.handle;
        h.history.set(self.strokes.can());
        h.base.set(self.base.as_ref().map(size_of));
        h.area.set(self.area);
        h.zoom.set(self.view.zoom);
        h.painted.set(self.strokes.paints());
    }

    /// Redraws the visible canvas.
    pub fn render(&self) {
        let Some(ctx) = context(&self.display) else { return };
        let (cw, ch) = (self.display.client_width().max(1), self.display.client_height().max(1));
        if size_of(&self.display) != (cw, ch) {
            self.display.set_width(u32::try_from(cw).unwrap_or(1));
            self.display.set_height(u32::try_from(ch).unwrap_or(1));
        }
        let _ = ctx.set_transform(1.0, 0.0, 0.0, 1.0, 0.0, 0.0);
        ctx.set_fill_style_str("#15171c");
        ctx.fill_rect(0.0, 0.0, f64::from(cw), f64::from(ch));
        let View { zoom, pan } = self.view;
        let _ = ctx.set_transform(zoom, 0.0, 0.0, zoom, pan.0, pan.1);
        ctx.set_image_smoothing_enabled(zoom < 2.0);
        let area = self.area;
        let (ax, ay, aw, ah) = (f64::from(area.x), f64::from(area.y), f64::from(area.w), f64::from(area.h));
        if let Some(base) = &self.base {
            let _ = ctx.draw_image_with_html_canvas_element(base, 0.0, 0.0);
        } else {
            ctx.set_fill_style_str("#262a33");
            ctx.fill_rect(ax, ay, aw, ah);
        }
        if let (Some(mask), true) = (&self.mask, self.strokes.paints() || self.current.is_some()) {
            let (w, h) = size_of(mask);
            if size_of(&self.scratch) != (w, h) {
                self.scratch.set_width(mask.width());
                self.scratch.set_height(mask.height());
            }
            if let Some(tint) = context(&self.scratch) {
                tint.clear_rect(0.0, 0.0, f64::from(w), f64::from(h));
                let _ = tint.draw_image_with_html_canvas_element(mask, 0.0, 0.0);
                let _ = tint.set_global_composite_operation("source-in");
                tint.set_fill_style_str("#ff4d6d");
                tint.fill_rect(0.0, 0.0, f64::from(w), f64::from(h));
                let _ = tint.set_global_composite_operation("source-over");
                ctx.set_global_alpha(0.5);
                let _ = ctx.draw_image_with_html_canvas_element(&self.scratch, 0.0, 0.0);
                ctx.set_global_alpha(1.0);
            }
        }
        let index = self.handle.staged_index.get_untracked();
        let shown = self
            .staged
            .get(index)
            .or(self.preview.as_ref())
            .filter(|i| i.complete() && i.natural_width() > 0);
        if let Some(image) = shown {
            let _ = ctx.draw_image_with_html_image_element_and_dw_and_dh(image, ax, ay, aw, ah);
        }
        ctx.set_line_width(2.0 / zoom);
        let dash = js_sys::Array::of2(&JsValue::from_f64(6.0 / zoom), &JsValue::from_f64(4.0 / zoom));
        let _ = ctx.set_line_dash(&dash);
        ctx.set_stroke_style_str("#7aa2ff");
        ctx.stroke_rect(ax, ay, aw, ah);
        let _ = ctx.set_line_dash(&js_sys::Array::new());
        ctx.set_fill_style_str("#7aa2ff");
        let handle = 12.0 / zoom;
        ctx.fill_rect(ax + aw - handle / 2.0, ay + ah - handle / 2.0, handle, handle);
        let tool = self.handle.tool.get_untracked();
        if let (Some((x, y)), Tool::Brush | Tool::Eraser) = (self.hover, tool) {
            ctx.begin_path();
            let _ = ctx.arc(x, y, self.handle.brush.get_untracked() / 2.0, 0.0, std::f64::consts::TAU);
            ctx.set_line_width(1.0 / zoom);
            ctx.set_stroke_style_str("#fff");
            ctx.stroke();
        }
    }

    fn point(&self, event: &PointerEvent) -> ((f64, f64), (f64, f64)) {
        let screen = (f64::from(event.offset_x()), f64::from(event.offset_y()));
        (screen, self.view.to_canvas(screen))
    }

    /// A pointer went down on the canvas.
    pub fn pointer_down(&mut self, event: &PointerEvent) {
        let (screen, at) = self.point(event);
        let _ = self.display.set_pointer_capture(event.pointer_id());
        let tool = self.handle.tool.get_untracked();
        let pan = Drag::Pan { pan: self.view.pan, from: screen };
        let drag = match tool {
            _ if event.button() == 1 => pan,
            Tool::Pan => pan,
            Tool::Brush | Tool::Eraser => {
                if self.begin_stroke(at, tool == Tool::Eraser) {
                    Drag::Stroke
                } else {
                    pan
                }
            }
            Tool::Move if self.area.on_handle(at, 10.0 / self.view.zoom) => {
                Drag::Box { start: self.area, from: at, resize: true }
            }
            Tool::Move if self.area.contains(at) => Drag::Box { start: self.area, from: at, resize: false },
            Tool::Move => pan,
        };
        self.drag = Some(drag);
        self.render();
    }

    /// Starts a mask stroke at `at`; false on an empty canvas (nothing to mask).
    fn begin_stroke(&mut self, at: (f64, f64), erase: bool) -> bool {
        let Some(ctx) = self.mask.as_ref().and_then(context) else { return false };
        let stroke = Stroke {
            points: vec![at],
            size: self.handle.brush.get_untracked(),
            hardness: self.handle.hardness.get_untracked(),
            erase,
        };
        dab(&ctx, &stroke, at);
        self.current = Some(stroke);
        true
    }

    /// The pointer moved (pressed or not).
    pub fn pointer_move(&mut self, event: &PointerEvent) {
        let (screen, at) = self.point(event);
        self.hover = Some(at);
        match self.drag {
            Some(Drag::Stroke) => {
                if let (Some(stroke), Some(ctx)) =
                    (self.current.as_mut(), self.mask.as_ref().and_then(context))
                {
                    let last = stroke.points.last().copied().unwrap_or(at);
                    stroke.points.push(at);
                    segment(&ctx, stroke, last, at);
                }
            }
            Some(Drag::Box { start, from, resize }) => {
                self.area = model::dragged(start, (at.0 - from.0, at.1 - from.1), resize);
                self.handle.area.set(self.area);
            }
            Some(Drag::Pan { pan, from }) => {
                self.view.pan = (pan.0 + screen.0 - from.0, pan.1 + screen.1 - from.1);
            }
            None => {}
        }
        self.render();
    }

    /// The pointer was lifted or the gesture cancelled.
    pub fn pointer_up(&mut self) {
        if let Some(stroke) = self.current.take() {
            self.strokes.push(stroke);
            self.mask_version += 1;
        }
        self.drag = None;
        self.sync();
        self.render();
    }

    /// The pointer left the canvas.
    pub fn pointer_leave(&mut self) {
        self.hover = None;
        self.render();
    }

    /// Zooms by `factor` about `screen` (the centre when `None`).
    pub fn zoom(&mut self, factor: f64, screen: Option<(f64, f64)>) {
        let (w, h) = self.screen_size();
        self.view = self.view.zoomed(factor, screen.unwrap_or((w / 2.0, h / 2.0)));
        self.sync();
        self.render();
    }

    /// Shows the base and the box whole.
    pub fn fit(&mut self) {
        let whole = match &self.base {
            Some(base) => {
                let (w, h) = size_of(base);
                Rect { x: 0, y: 0, w, h }.union(self.area)
            }
            None => self.area,
        };
        self.view = View::fitting(whole, self.screen_size());
        self.sync();
        self.render();
    }

    fn repaint_mask(&self) {
        let Some(mask) = &self.mask else { return };
        let Some(ctx) = context(mask) else { return };
        ctx.clear_rect(0.0, 0.0, f64::from(mask.width()), f64::from(mask.height()));
        for stroke in self.strokes.done() {
            paint(&ctx, stroke);
        }
    }

    /// Takes back (`true`: puts back) a mask stroke.
    pub fn history(&mut self, redo: bool) {
        let changed = if redo { self.strokes.redo() } else { self.strokes.undo() };
        if changed {
            self.repaint_mask();
            self.mask_version += 1;
        }
        self.sync();
        self.render();
    }

    /// Erases the whole mask (undoable stroke by stroke no longer: a fresh start).
    pub fn clear_mask(&mut self) {
        self.strokes.clear();
        self.repaint_mask();
        self.mask_version += 1;
        self.sync();
        self.render();
    }

    /// Makes `image` (loaded) the base: a fresh mask, the box over the whole image.
    pub fn set_base(&mut self, image: &HtmlImageElement) {
        let (w, h) = (
            i32::try_from(image.natural_width()).unwrap_or(0),
            i32::try_from(image.natural_height()).unwrap_or(0),
        );
        let Some(base) = new_canvas(w, h) else { return };
        if let Some(ctx) = context(&base) {
            let _ = ctx.draw_image_with_html_image_element(image, 0.0, 0.0);
        }
        self.replace_base(base, Rect { x: 0, y: 0, w, h });
        self.fit();
    }

    fn replace_base(&mut self, base: HtmlCanvasElement, area: Rect) {
        let (w, h) = size_of(&base);
        self.mask = new_canvas(w, h);
        self.base = Some(base);
        self.strokes.clear();
        self.area = area;
        self.base_version += 1;
        self.mask_version += 1;
        self.staged.clear();
        self.preview = None;
        self.sync();
        self.render();
    }

    /// Empties the canvas, keeping the box's size.
    pub fn start_over(&mut self) {
        self.base = None;
        self.mask = None;
        self.strokes.clear();
        self.area = Rect { x: 0, y: 0, ..self.area };
        self.staged.clear();
        self.preview = None;
        self.base_version += 1;
        self.fit();
    }

    /// Sizes the box (the page's size fields on an empty canvas).
    pub fn resize_area(&mut self, (w, h): (i32, i32)) {
        if (self.area.w, self.area.h) != (w, h) {
            self.area = Rect { w, h, ..self.area };
            if self.base.is_none() {
                self.fit();
            } else {
                self.sync();
                self.render();
            }
        }
    }

    /// Moves the box half past the base's right edge, to extend the picture there.
    pub fn extend_right(&mut self) {
        if let Some(base) = &self.base {
            self.area = model::extended_right(size_of(base), self.area);
            self.fit();
        }
    }

    /// Shows `images` (loading) in the box, to accept or discard.
    pub fn stage(&mut self, images: Vec<HtmlImageElement>) {
        self.staged = images;
        self.preview = None;
        self.render();
    }

    /// Drops staged image `index`.
    pub fn unstage(&mut self, index: usize) {
        if index < self.staged.len() {
            self.staged.remove(index);
        }
        self.render();
    }

    /// Shows a live preview in the box.
    pub fn show_preview(&mut self, image: Option<HtmlImageElement>) {
        self.preview = image;
        self.render();
    }

    /// Paints staged image `index` into the base over the box, growing the base to hold it.
    pub fn accept(&mut self, index: usize) {
        let Some(image) = self.staged.get(index).cloned() else { return };
        let (whole, (ox, oy)) = model::accepted(self.base.as_ref().map(size_of), self.area);
        let Some(canvas) = new_canvas(whole.w, whole.h) else { return };
        if let Some(ctx) = context(&canvas) {
            if let Some(base) = &self.base {
                let _ = ctx.draw_image_with_html_canvas_element(base, f64::from(ox), f64::from(oy));
            }
            let area = self.area;
            let _ = ctx.draw_image_with_html_image_element_and_dw_and_dh(
                &image,
                f64::from(area.x + ox),
                f64::from(area.y + oy),
                f64::from(area.w),
                f64::from(area.h),
            );
        }
        let area = Rect { x: self.area.x + ox, y: self.area.y + oy, ..self.area };
        // The picture stays where it was on screen though its origin moved.
        let zoom = self.view.zoom;
        self.view.pan = (self.view.pan.0 - f64::from(ox) * zoom, self.view.pan.1 - f64::from(oy) * zoom);
        self.replace_base(canvas, area);
    }

    /// What a generation needs, if there is a base to edit.
    pub fn snapshot(&self) -> Option<Snapshot> {
        let base = self.base.clone()?;
        let mask = if self.strokes.paints() {
            let source = self.mask.as_ref()?;
            let out = new_canvas(i32::try_from(source.width()).ok()?, i32::try_from(source.height()).ok()?)?;
            let ctx = context(&out)?;
            ctx.set_fill_style_str("#000");
            ctx.fill_rect(0.0, 0.0, f64::from(out.width()), f64::from(out.height()));
            let _ = ctx.draw_image_with_html_canvas_element(source, 0.0, 0.0);
            Some(out)
        } else {
            None
        };
        let current =
            |asset: Option<(u64, ImageId)>, version| asset.filter(|(v, _)| *v == version).map(|(_, id)| id);
        Some(Snapshot {
            base_size: size_of(&base),
            base,
            mask,
            versions: (self.base_version, self.mask_version),
            assets: (
                current(self.base_asset, self.base_version),
                current(self.mask_asset, self.mask_version),
            ),
            area: self.area,
        })
    }

    /// Remembers the uploads made of the base and mask at `versions`.
    pub fn remember(&mut self, versions: (u64, u64), base: ImageId, mask: Option<ImageId>) {
        self.base_asset = Some((versions.0, base));
        if let Some(mask) = mask {
            self.mask_asset = Some((versions.1, mask));
        }
    }
}

/// An image element loading `url` that calls `loaded` once it has.
pub fn load_image(url: &str, loaded: impl FnOnce(HtmlImageElement) + 'static) -> Option<HtmlImageElement> {
    let image = HtmlImageElement::new().ok()?;
    let target = image.clone();
    let callback = Closure::once_into_js(move || loaded(target));
    image.set_onload(Some(callback.unchecked_ref()));
    image.set_src(url);
    Some(image)
}

/// The PNG of `canvas`.
///
/// # Errors
/// The browser made none.
pub async fn png_of(canvas: &HtmlCanvasElement) -> Result<web_sys::Blob, JsValue> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        if let Err(e) = canvas.to_blob(&resolve) {
            let _ = reject.call1(&JsValue::NULL, &e);
        }
    });
    wasm_bindgen_futures::JsFuture::from(promise).await?.dyn_into()
}
