//! The browser's sign-in state. The access token lives only in memory (never in localStorage or
//! a URL); on page load the refresh cookie is exchanged once for a token. An authenticated call
//! that answers "unauthenticated" refreshes silently once and retries; if that fails too, the
//! user is signed out and protected pages send them to `/login?next=…`.

use std::{cell::RefCell, future::Future};

use futures::{
    FutureExt,
    future::{LocalBoxFuture, Shared},
};
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};

use crate::api::account_fns::ui_refresh;
use contract::{
    account::{SignedIn, UserProfile},
    error::UiError,
};

/// Where the sign-in state stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStatus {
    /// The page has not yet asked the server (always so during server rendering).
    Checking,
    /// No live session.
    SignedOut,
    /// A user is signed in and an access token is in memory.
    SignedIn,
}

/// The sign-in state, provided once by the app and shared by every page.
#[derive(Debug, Clone, Copy)]
pub struct Auth {
    status: RwSignal<AuthStatus>,
    token: RwSignal<Option<String>>,
    user: RwSignal<Option<UserProfile>>,
}

type RefreshOutcome = Result<Option<SignedIn>, UiError>;

thread_local! {
    /// The refresh in flight, shared by every caller: two concurrent refreshes would present one
    /// refresh token twice, which the server treats as theft and answers by ending the session.
    static REFRESHING: RefCell<Option<Shared<LocalBoxFuture<'static, RefreshOutcome>>>> =
        const { RefCell::new(None) };
}

impl Auth {
    /// Creates the state and provides it as context.
    pub fn provide() -> Self {
        let auth = Self {
            status: RwSignal::new(AuthStatus::Checking),
            token: RwSignal::new(None),
            user: RwSignal::new(None),
        };
        provide_context(auth);
        auth
    }

    /// The state provided by the app.
    #[must_use]
    pub fn get() -> Self {
        expect_context::<Self>()
    }

    /// Where sign-in stands (reactive).
    #[must_use]
    pub fn status(&self) -> AuthStatus {
        self.status.get()
    }

    /// The signed-in user (reactive).
    #[must_use]
    pub fn user(&self) -> Option<UserProfile> {
        self.user.get()
    }

    /// Records a successful sign-in or refresh.
    pub fn signed_in(&self, session: SignedIn) {
        self.token.set(Some(session.access_token));
        self.user.set(Some(session.user));
        self.set_status(AuthStatus::SignedIn);
    }

    /// Sets the status only when it changes: a silent refresh must not tell pages gated on
    /// it ([`RequireAuth`]) that something changed, or they would build themselves again and
    /// lose what the user was doing (a half-typed card, an error being shown).
    fn set_status(&self, status: AuthStatus) {
        if self.status.get_untracked() != status {
            self.status.set(status);
        }
    }

    /// Replaces the profile after an edit.
    pub fn set_user(&self, user: UserProfile) {
        self.user.set(Some(user));
    }

    /// Forgets the session in this page.
    pub fn signed_out(&self) {
        self.token.set(None);
        self.user.set(None);
        self.set_status(AuthStatus::SignedOut);
    }

    /// The token in memory, if any (not reactive).
    #[must_use]
    pub fn token(&self) -> Option<String> {
        self.token.get_untracked()
    }

    /// Exchanges the refresh cookie for a token (one exchange at a time) and records the result.
    pub async fn refresh(&self) -> bool {
        let shared = REFRESHING.with(|slot| {
            slot.borrow_mut()
                .get_or_insert_with(|| {
                    across_tabs::exclusively(async { ui_refresh().await }).boxed_local().shared()
                })
                .clone()
        });
        let outcome = shared.await;
        REFRESHING.with(|slot| slot.borrow_mut().take());
        match outcome {
            Ok(Some(session)) => {
                self.signed_in(session);
                true
            }
            Ok(None) | Err(UiError::Unauthenticated) => {
                self.signed_out();
                false
            }
            // The server could not be reached: keep what we have, report failure.
            Err(_) => {
                if self.token.get_untracked().is_none() {
                    self.signed_out();
                }
                false
            }
        }
    }

    /// Calls `call` with the access token; on "unauthenticated" refreshes once and retries.
    ///
    /// # Errors
    /// The call's error, or [`UiError::Unauthenticated`] once the session is gone.
    pub async fn call<T, F, Fut>(&self, call: F) -> Result<T, UiError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, UiError>>,
    {
        let token = match self.token() {
            Some(token) => token,
            None if self.refresh().await => self.token().ok_or(UiError::Unauthenticated)?,
            None => return Err(UiError::Unauthenticated),
        };
        match call(token.clone()).await {
            Err(UiError::Unauthenticated) => {
                // Another call may have refreshed meanwhile; otherwise refresh now.
                let fresh = match self.token() {
                    Some(current) if current != token => Some(current),
                    _ if self.refresh().await => self.token(),
                    _ => None,
                };
                match fresh {
                    Some(fresh) => call(fresh).await.inspect_err(|e| {
                        if *e == UiError::Unauthenticated {
                            self.signed_out();
                        }
                    }),
                    None => Err(UiError::Unauthenticated),
                }
            }
            other => other,
        }
    }
}

/// One refresh at a time across all of this site's tabs, with the Web Locks API: tabs share the
/// refresh cookie, and a second tab presenting the token the first has just rotated would end
/// the session (reuse detection). Where the API is missing the refresh simply runs.
mod across_tabs {
    use std::future::Future;

    use super::RefreshOutcome;

    /// The lock's name, shared by every tab of this origin.
    #[cfg(feature = "hydrate")]
    const LOCK_NAME: &str = "pingvas-refresh";

    /// Runs `work` while holding the cross-tab refresh lock.
    #[cfg(feature = "hydrate")]
    pub async fn exclusively(work: impl Future<Output = RefreshOutcome> + 'static) -> RefreshOutcome {
        use std::{cell::RefCell, rc::Rc};

        use futures::FutureExt;
        use wasm_bindgen::{JsCast, JsValue, closure::Closure};

        let locks = web_sys::window()
            .and_then(|w| js_sys::Reflect::get(&w.navigator(), &JsValue::from_str("locks")).ok())
            .filter(|locks| !locks.is_undefined() && !locks.is_null());
        let request = locks
            .as_ref()
            .and_then(|locks| js_sys::Reflect::get(locks, &JsValue::from_str("request")).ok())
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        let (Some(locks), Some(request)) = (locks, request) else { return work.await };

        let outcome: Rc<RefCell<Option<RefreshOutcome>>> = Rc::new(RefCell::new(None));
        let slot = Rc::clone(&outcome);
        let mut work = Some(work.boxed_local());
        let callback = Closure::once_into_js(move |_lock: JsValue| -> js_sys::Promise {
            let work = work.take();
            wasm_bindgen_futures::future_to_promise(async move {
                if let Some(work) = work {
                    *slot.borrow_mut() = Some(work.await);
                }
                Ok(JsValue::UNDEFINED)
            })
        });
        let held = request
            .call2(&locks, &JsValue::from_str(LOCK_NAME), &callback)
            .ok()
            .and_then(|p| p.dyn_into::<js_sys::Promise>().ok());
        if let Some(held) = held {
            // Resolves once the callback's promise has, i.e. after the refresh.
            let _ = wasm_bindgen_futures::JsFuture::from(held).await;
        }
        outcome.borrow_mut().take().unwrap_or_else(|| {
            Err(contract::error::UiError::Failed("Could not refresh the session in this tab.".into()))
        })
    }

    /// Off the browser there are no other tabs.
    #[cfg(not(feature = "hydrate"))]
    pub async fn exclusively(work: impl Future<Output = RefreshOutcome> + 'static) -> RefreshOutcome {
        work.await
    }
}

/// Percent-encodes `text` for use as one query-string value.
#[must_use]
pub fn encode_query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The sign-in page's address for coming back to the current page afterwards.
#[must_use]
pub fn login_path_for(path_and_query: &str) -> String {
    format!("/login?next={}", encode_query_value(path_and_query))
}

/// Shows `children` to a signed-in user; sends anyone else to sign in and back.
#[component]
pub fn RequireAuth(children: ChildrenFn) -> impl IntoView {
    let auth = Auth::get();
    let navigate = use_navigate();
    let location = use_location();
    Effect::new(move |_| {
        if auth.status() == AuthStatus::SignedOut {
            let here = format!("{}{}", location.pathname.get_untracked(), location.search.get_untracked());
            navigate(&login_path_for(&here), Default::default());
        }
    });
    move || match auth.status() {
        AuthStatus::SignedIn => children().into_any(),
        AuthStatus::Checking => {
            view! { <p class="loading" data-testid="auth-checking">"Loading…"</p> }.into_any()
        }
        AuthStatus::SignedOut => view! { <p class="loading">"Redirecting to sign in…"</p> }.into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_paths_survive_the_query_string() {
        assert_eq!(login_path_for("/account"), "/login?next=/account");
        assert_eq!(login_path_for("/gallery?board=a b&x=1"), "/login?next=/gallery%3Fboard%3Da%20b%26x%3D1");
        assert_eq!(encode_query_value("ü"), "%C3%BC");
    }
}

/// Shows `children` to a signed-in user whose plan is `min` or higher; sends anyone on a lower
/// plan to `/upgrade`, which names the plan needed. The server enforces the same gate on every
/// call these pages make; this only spares people a page they cannot use.
#[component]
pub fn RequirePlan(min: contract::plans::Plan, children: ChildrenFn) -> impl IntoView {
    let auth = Auth::get();
    let navigate = use_navigate();
    let location = use_location();
    // A memo: a refreshed profile with the same plan must not build the page again.
    let allowed = Memo::new(move |_| {
        auth.user()
            .and_then(|u| contract::plans::Plan::parse(&u.subscription_plan))
            .is_some_and(|plan| plan >= min)
    });
    let allowed = move || allowed.get();
    Effect::new(move |_| {
        if auth.status() == AuthStatus::SignedIn && !allowed() {
            let from = encode_query_value(&location.pathname.get_untracked());
            navigate(&format!("/upgrade?needed={}&from={from}", min.as_str()), Default::default());
        }
    });
    view! {
        <RequireAuth>
            {
                let children = children.clone();
                move || {
                    if allowed() {
                        children().into_any()
                    } else {
                        view! { <p class="loading">"This needs a higher plan: opening the plans…"</p> }.into_any()
                    }
                }
            }
        </RequireAuth>
    }
}
