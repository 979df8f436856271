//! The Content-Security-Policy of server-rendered pages.
//!
//! Only scripts carrying this response's nonce run (the hydration loader and Leptos' own inline
//! scripts carry it), wasm may be compiled, and nothing may frame the page. Set from the shell on
//! the server, where the nonce of the response is known.

/// The billing provider's origins a page needs, where billing is on: the card's number goes from
/// the page to them, never to us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentOrigins {
    /// Where its card-form script comes from: the only origin besides ours that may run scripts
    /// (issue 33, finding 10: the API's origin was admitted too, and anything served there ran).
    pub script: Option<String>,
    /// Every origin it talks to or frames (the script's, its API's, its 3-D Secure frames').
    pub all: Vec<String>,
}

/// The policy for a page whose inline scripts carry `nonce`. `live_reload` allows the websocket
/// `cargo leptos watch` uses to reload the page after a rebuild.
#[must_use]
pub fn page_policy(nonce: &str, live_reload: bool, payments: &PaymentOrigins) -> String {
    let scripts: String = payments.script.iter().map(|origin| format!(" {origin}")).collect();
    let others: String = payments.all.iter().map(|origin| format!(" {origin}")).collect();
    let connect = if live_reload { "'self' ws: wss:" } else { "'self'" };
    let frames = if others.is_empty() { "'none'".to_owned() } else { others.trim_start().to_owned() };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'{scripts}; \
         style-src 'self'; img-src 'self' data: blob: https:; connect-src {connect}{others}; \
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
            .and_then(|core| {
                core.config
                    .billing
                    .as_ref()
                    .map(|billing| PaymentOrigins { script: billing.script_origin(), all: billing.origins() })
            })
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
        let policy = page_policy("abc123", false, &PaymentOrigins::default());
        assert!(policy.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(policy.contains("object-src 'none'"));
        assert!(!policy.contains("unsafe-inline"));
        assert!(policy.contains("connect-src 'self';"));
        assert!(
            page_policy("abc123", true, &PaymentOrigins::default()).contains("connect-src 'self' ws: wss:;")
        );
        assert!(policy.contains("frame-src 'none'"));
    }

    #[test]
    fn with_billing_only_the_card_form_script_runs_and_the_providers_origins_take_the_card() {
        let stripe = PaymentOrigins {
            script: Some("https://js.stripe.com".to_owned()),
            all: vec!["https://js.stripe.com".to_owned(), "https://api.stripe.com".to_owned()],
        };
        let policy = page_policy("n", false, &stripe);
        assert!(
            policy.contains("script-src 'self' 'nonce-n' 'wasm-unsafe-eval' https://js.stripe.com;"),
            "{policy}"
        );
        assert!(
            !policy.split("script-src").nth(1).unwrap().split(';').next().unwrap().contains("api.stripe.com")
        );
        assert!(policy.contains("connect-src 'self' https://js.stripe.com https://api.stripe.com;"));
        assert!(policy.contains("frame-src https://js.stripe.com https://api.stripe.com;"));
        assert!(!policy.contains("unsafe-inline"));
    }
}
