//! The canvas's input: pointer and wheel events on the canvas element, and the keyboard shortcuts
//! on the window, each turned into one call on the studio or the handle.

use leptos::prelude::{Set, Update};
use wasm_bindgen::{JsCast, closure::Closure};
use web_sys::{HtmlCanvasElement, PointerEvent};

use super::{CanvasHandle, Tool, surface::Studio};

/// Wires the canvas's pointer and wheel events to the studio (they live as long as the page).
pub fn listen(handle: CanvasHandle, display: &HtmlCanvasElement) {
    let on = |name: &str, act: fn(&mut Studio, &PointerEvent)| {
        let callback = Closure::<dyn FnMut(PointerEvent)>::new(move |event: PointerEvent| {
            event.prevent_default();
            handle.with_studio(|studio| act(studio, &event));
        });
        let _ = display.add_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
        callback.forget();
    };
    on("pointerdown", Studio::pointer_down);
    on("pointermove", Studio::pointer_move);
    on("pointerup", |studio, _| studio.pointer_up());
    on("pointercancel", |studio, _| studio.pointer_up());
    on("pointerleave", |studio, _| studio.pointer_leave());
    let wheel = Closure::<dyn FnMut(web_sys::WheelEvent)>::new(move |event: web_sys::WheelEvent| {
        event.prevent_default();
        let factor = if event.delta_y() < 0.0 { 1.1 } else { 1.0 / 1.1 };
        let at = (f64::from(event.offset_x()), f64::from(event.offset_y()));
        handle.with_studio(|studio| studio.zoom(factor, Some(at)));
    });
    let options = web_sys::AddEventListenerOptions::new();
    options.set_passive(false);
    let _ = display.add_event_listener_with_callback_and_add_event_listener_options(
        "wheel",
        wheel.as_ref().unchecked_ref(),
        &options,
    );
    wheel.forget();
}

/// The canvas's keyboard shortcuts, while no text field has the focus: B brush, E eraser, V box,
/// H pan, [ and ] brush size, Ctrl+Z undo, Ctrl+Shift+Z or Ctrl+Y redo, + and − zoom, 0 fit.
/// The listener goes when the returned handle is removed (the page's cleanup).
pub fn shortcuts(handle: CanvasHandle) -> leptos::prelude::WindowListenerHandle {
    leptos::prelude::window_event_listener(leptos::ev::keydown, move |event: web_sys::KeyboardEvent| {
        let typing = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|e| matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if typing || event.alt_key() {
            return;
        }
        let command = event.ctrl_key() || event.meta_key();
        let key = event.key().to_lowercase();
        let handled = match (command, key.as_str()) {
            (true, "z") => {
                handle.history_step(event.shift_key());
                true
            }
            (true, "y") => {
                handle.history_step(true);
                true
            }
            (true, _) => false,
            (false, "b") => {
                handle.tool.set(Tool::Brush);
                true
            }
            (false, "e") => {
                handle.tool.set(Tool::Eraser);
                true
            }
            (false, "v") => {
                handle.tool.set(Tool::Move);
                true
            }
            (false, "h") => {
                handle.tool.set(Tool::Pan);
                true
            }
            (false, "[") => {
                handle.brush.update(|b| *b = (*b / 1.25).max(1.0));
                true
            }
            (false, "]") => {
                handle.brush.update(|b| *b = (*b * 1.25).min(256.0));
                true
            }
            (false, "+" | "=") => {
                handle.zoom_by(1.25);
                true
            }
            (false, "-") => {
                handle.zoom_by(1.0 / 1.25);
                true
            }
            (false, "0") => {
                handle.fit();
                true
            }
            _ => false,
        };
        if handled {
            event.prevent_default();
            handle.redraw();
        }
    })
}
