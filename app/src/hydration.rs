//! When the page has finished hydrating. With lazy routes (`routes`) hydration is asynchronous:
//! the page's part of the bundle is fetched before the page is hydrated. Whatever would change
//! what the server rendered (signing in from the refresh cookie turns "Loading…" into the page)
//! must wait for it, or hydration finds other elements than it expects.

use std::cell::RefCell;

use futures::channel::oneshot;

thread_local! {
    static STATE: RefCell<Hydration> = RefCell::new(Hydration::default());
}

#[derive(Default)]
struct Hydration {
    done: bool,
    waiting: Vec<oneshot::Sender<()>>,
}

/// Hydrates the server-rendered page with the app, then says so to whoever waits in [`hydrated`].
#[cfg(feature = "hydrate")]
pub fn start() {
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = leptos::prelude::document().body() else { return };
        let owner = leptos::mount::hydrate_from_async(body, crate::App).await;
        // The app lives as long as the page.
        owner.forget();
        mark_hydrated();
    });
}

/// Records that hydration finished and wakes everything waiting for it.
pub fn mark_hydrated() {
    let waiting = STATE.with_borrow_mut(|state| {
        state.done = true;
        std::mem::take(&mut state.waiting)
    });
    for waiter in waiting {
        // A waiter that went away needs no word.
        let _ = waiter.send(());
    }
}

/// Resolves once the page has finished hydrating (at once if it has).
pub async fn hydrated() {
    let receiver = STATE.with_borrow_mut(|state| {
        (!state.done).then(|| {
            let (sender, receiver) = oneshot::channel();
            state.waiting.push(sender);
            receiver
        })
    });
    if let Some(receiver) = receiver {
        // Cancelled only if the page is torn down, when nothing waits any more.
        let _ = receiver.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiters_wake_when_hydration_finishes_and_later_ones_do_not_wait() {
        let mut first = Box::pin(hydrated());
        let waker = futures::task::noop_waker();
        let mut context = std::task::Context::from_waker(&waker);
        assert!(first.as_mut().poll(&mut context).is_pending());
        mark_hydrated();
        assert!(first.as_mut().poll(&mut context).is_ready());
        assert!(Box::pin(hydrated()).as_mut().poll(&mut context).is_ready());
    }
}
