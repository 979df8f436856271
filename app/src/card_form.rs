//! The billing page's bridge to `public/billing.js`, which runs the billing provider's card form:
//! card numbers go from the browser to the provider, never through our code. In the browser
//! each call awaits the script's promise; on the server (which never renders a live card form)
//! they answer that the form needs the browser.

/// Shows the provider's card field (script `src`, browser key `key`) in `selector`.
///
/// # Errors
/// The provider's script could not be loaded.
pub async fn mount(src: &str, key: &str, selector: &str) -> Result<(), String> {
    imp::call("mount", &[src, key, selector]).await.map(|_| ())
}

/// Saves the typed card with the card setup's `client_secret`; the payment method's id.
///
/// # Errors
/// The provider refused the card (its message).
pub async fn save_card(client_secret: &str) -> Result<String, String> {
    imp::call("saveCard", &[client_secret]).await
}

/// Completes a payment the bank wants confirmed here (3-D Secure).
///
/// # Errors
/// The confirmation failed (the provider's message).
pub async fn confirm_payment(client_secret: &str) -> Result<(), String> {
    imp::call("confirmPayment", &[client_secret]).await.map(|_| ())
}

#[cfg(feature = "hydrate")]
mod imp {
    use js_sys::{Array, Function, Promise, Reflect};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    fn text_of(value: &JsValue) -> String {
        value
            .as_string()
            .or_else(|| Reflect::get(value, &"message".into()).ok().and_then(|m| m.as_string()))
            .unwrap_or_else(|| "The payment form failed; please reload the page.".to_owned())
    }

    pub async fn call(method: &str, args: &[&str]) -> Result<String, String> {
        let unavailable = || "The payment form is not available; please reload the page.".to_owned();
        let window = web_sys::window().ok_or_else(unavailable)?;
        let api = Reflect::get(&window, &"pingvasCard".into()).map_err(|_| unavailable())?;
        let function: Function = Reflect::get(&api, &method.into())
            .map_err(|_| unavailable())?
            .dyn_into()
            .map_err(|_| unavailable())?;
        let args: Array = args.iter().map(|a| JsValue::from_str(a)).collect();
        let promise: Promise =
            function.apply(&api, &args).map_err(|e| text_of(&e))?.dyn_into().map_err(|_| unavailable())?;
        let value = JsFuture::from(promise).await.map_err(|e| text_of(&e))?;
        Ok(value.as_string().unwrap_or_default())
    }
}

#[cfg(not(feature = "hydrate"))]
mod imp {
    #[allow(clippy::unused_async)]
    pub async fn call(_method: &str, _args: &[&str]) -> Result<String, String> {
        Err("The payment form runs in the browser.".to_owned())
    }
}
