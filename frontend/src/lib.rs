//! Browser entry point: hydrates the server-rendered HTML so the page becomes interactive.
//!
//! Everything else lives in the `app` crate, which the server renders with the same components.

// `#[wasm_bindgen]` expands to `unsafe` FFI glue; this crate holds nothing else.
#![allow(unsafe_code)]

use wasm_bindgen::prelude::wasm_bindgen;

/// Called by the generated JS loader once the wasm module is instantiated. Every page is a lazy
/// route (`app::routes`), so hydration waits for the parts of the bundle the page needs.
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    app::hydration::start();
}
