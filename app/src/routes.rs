//! The pages as the router loads them: each in its own part of the wasm bundle (Leptos' lazy
//! routes, split out by `cargo leptos build --split`), so the download every visitor waits for
//! holds only the shell — header, banners, sign-in state and the router — and a page's code
//! arrives when the page is opened. On a first visit the server preloads the parts of the page it
//! rendered, and the browser fetches them beside the main bundle before hydrating that page.

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use crate::{generation, pages};

/// For each `Route => page component`, a lazily loaded route showing that page.
macro_rules! lazy_pages {
    ($($route:ident => $page:path;)*) => {$(
        #[doc = concat!("The route that shows `", stringify!($page), "`, loaded when opened.")]
        #[derive(Debug)]
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                $page().into_any()
            }
        }
    )*};
}

lazy_pages! {
    Home => pages::HomePage;
    Login => pages::LoginPage;
    Register => pages::RegisterPage;
    VerifyEmail => pages::VerifyEmailPage;
    ForgotPassword => pages::ForgotPasswordPage;
    ResetPassword => pages::ResetPasswordPage;
    AuthComplete => pages::AuthCompletePage;
    Account => pages::AccountPage;
    Terms => pages::TermsPage;
    Privacy => pages::PrivacyPage;
    Upgrade => pages::UpgradePage;
    Billing => pages::BillingPage;
    Workflows => pages::WorkflowsPage;
    Models => pages::ModelsPage;
    Admin => pages::AdminPage;
    Generate => generation::GeneratePage;
    Gallery => pages::GalleryPage;
    ImageDetail => pages::ImageDetailPage;
}
