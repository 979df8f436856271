//! The Content-Security-Policy of server-rendered pages.
//!
//! Only scripts carrying this response's nonce run (the hydration loader and Leptos' own inline
//! scripts carry it), wasm may be compiled, and nothing may frame the page. Set from the shell on
//! the server, where the nonce of the response is known.

/// The policy for a page whose inline scripts carry `nonce`. `live_reload` allows the websocket
/// `cargo leptos watch` uses to reload the page after a rebuild. `payments`: the billing
/// provider's origins (its card-form script, its API, its 3-D Secure frames), where billing is on;
/// the card's number goes from the page to them, never to us.
#[must_use]
pub fn page_policy(nonce: &str, live_reload: bool, payments: &[String]) -> String {
    let payments: String = payments.iter().map(|origin| format!(" {origin}")).collect();
    let connect = if live_reload { "'self' ws: wss:" } else { "'self'" };
    let frames = if payments.is_empty() { "'none'".to_owned() } else { payments.trim_start().to_owned() };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'{payments}; \
         style-src 'self'; img-src 'self' data: blob: https:; connect-src {connect}{payments}; \
         frame-src {frames}; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Sets the page policy on the current server response (no-op in the browser).
pub fn set_page_policy() {
    #[cfg(feature = "ssr")]
    {
        use leptos::prelude::use_context;
        let (Some(nonce), Some(response)) =
            (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
        else {
            return;
        };
        let live_reload = option_env!("LEPTOS_WATCH").is_some();
        let payments = use_context::<pingvas_core::Core>()
            .and_then(|core| core.config.billing.as_ref().map(pingvas_core::config::BillingSettings::origins))
            .unwrap_or_default();
        if let Ok(value) = http::HeaderValue::from_str(&page_policy(&nonce, live_reload, &payments)) {
            response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_nonced_scripts_and_wasm_run_and_nothing_frames_the_page() {
        let policy = page_policy("abc123", false, &[]);
        assert!(policy.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(policy.contains("object-src 'none'"));
        assert!(!policy.contains("unsafe-inline"));
        assert!(policy.contains("connect-src 'self';"));
        assert!(page_policy("abc123", true, &[]).contains("connect-src 'self' ws: wss:;"));
        assert!(policy.contains("frame-src 'none'"));
    }

    #[test]
    fn with_billing_the_providers_origins_may_serve_the_card_form_and_take_the_card() {
        let stripe = ["https://js.stripe.com".to_owned(), "https://api.stripe.com".to_owned()];
        let policy = page_policy("n", false, &stripe);
        assert!(policy.contains(
            "script-src 'self' 'nonce-n' 'wasm-unsafe-eval' https://js.stripe.com https://api.stripe.com;"
        ));
        assert!(policy.contains("connect-src 'self' https://js.stripe.com https://api.stripe.com;"));
        assert!(policy.contains("frame-src https://js.stripe.com https://api.stripe.com;"));
        assert!(!policy.contains("unsafe-inline"));
    }
}
