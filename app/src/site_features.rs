//! What this server offers that the page must know before it asks for anything: decided once on
//! the server from its configuration and carried into the page, so the browser's hydration sees
//! the same answer without a request of its own.

use leptos::prelude::*;

/// The optional parts of the product this server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteFeatures {
    /// Paid plans can be bought here (the header links to the billing page).
    pub billing: bool,
}

impl SiteFeatures {
    /// Reads the server's configuration (in the browser: the value the server wrote into the page)
    /// and shares it with every component below. Call it before anything else in the root
    /// component: the server and the browser must number their shared values in the same order.
    pub fn provide() -> Self {
        let billing = SharedValue::new_str(billing_configured).into_inner();
        let features = Self { billing };
        provide_context(features);
        features
    }

    /// The features shared by the root component (none, outside of it).
    #[must_use]
    pub fn get() -> Self {
        use_context().unwrap_or(Self { billing: false })
    }
}

#[cfg(feature = "ssr")]
fn billing_configured() -> bool {
    use_context::<pingvas_core::Core>().is_some_and(|core| core.config.billing.is_some())
}

/// Only reached in the browser outside hydration, where no page was rendered to read from.
#[cfg(not(feature = "ssr"))]
fn billing_configured() -> bool {
    false
}
