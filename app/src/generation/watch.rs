//! Follows a job's live progress in the browser: an `EventSource` on the job's signed
//! `events_url`, each server-sent event decoded into a [`JobEvent`] and handed to the page,
//! closed once the job has finished (an `EventSource` would otherwise reconnect).

use contract::images::JobEvent;

/// The SSE event names the server sends.
pub const EVENT_NAMES: [&str; 5] = ["queued", "progress", "completed", "failed", "cancelled"];

/// An open event stream; dropping it closes the stream.
#[derive(Debug)]
pub struct JobWatch {
    #[cfg(feature = "hydrate")]
    source: web_sys::EventSource,
}

impl Drop for JobWatch {
    fn drop(&mut self) {
        #[cfg(feature = "hydrate")]
        self.source.close();
    }
}

/// Starts following `url`, calling `on_event` for every event; `None` on the server or when the
/// browser cannot open the stream.
#[cfg_attr(not(feature = "hydrate"), allow(unused_variables, clippy::needless_pass_by_value))]
pub fn watch_job(url: &str, on_event: impl Fn(JobEvent) + 'static) -> Option<JobWatch> {
    #[cfg(feature = "hydrate")]
    {
        use std::rc::Rc;
        use wasm_bindgen::{JsCast, closure::Closure};

        let source = web_sys::EventSource::new(url).ok()?;
        let on_event = Rc::new(on_event);
        for name in EVENT_NAMES {
            let (handler, stream) = (Rc::clone(&on_event), source.clone());
            let callback =
                Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |message: web_sys::MessageEvent| {
                    let Some(text) = message.data().as_string() else { return };
                    match serde_json::from_str::<JobEvent>(&text) {
                        Ok(event) => {
                            if event.status.is_finished() {
                                stream.close();
                            }
                            handler(event);
                        }
                        Err(e) => leptos::logging::warn!("job event not understood: {e}"),
                    }
                });
            source.add_event_listener_with_callback(name, callback.as_ref().unchecked_ref()).ok()?;
            // The listener lives as long as the stream; the stream is closed when done.
            callback.forget();
        }
        Some(JobWatch { source })
    }
    #[cfg(not(feature = "hydrate"))]
    None
}
