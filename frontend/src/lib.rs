//! Browser entry point: hydrates the server-rendered HTML so the page becomes interactive.
//!
//! Everything else lives in the `app` crate, which the server renders with the same components.

// `#[wasm_bindgen]` expands to `unsafe` FFI glue; this crate holds nothing else.
#![allow(unsafe_code)]

use wasm_bindgen::prelude::wasm_bindgen;

/// Called by the generated JS loader once the wasm module is instantiated.
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
