//! `/terms` and `/privacy`: the short versions, linked from every sign-in form.

use leptos::prelude::*;
use leptos_meta::Title;

/// Terms of service.
#[component]
pub fn TermsPage() -> impl IntoView {
    view! {
        <Title text="Terms of Service"/>
        <article class="legal-page">
            <h1>"Terms of Service"</h1>
            <p>"You may use PingvasAI to generate images for lawful purposes within your plan's monthly allowance."</p>
            <p>"You own the images you generate. Do not generate content that is illegal or that infringes others' rights."</p>
            <p>"We may suspend accounts that abuse the service. Plans renew monthly and can be cancelled at any time."</p>
        </article>
    }
}

/// Privacy policy.
#[component]
pub fn PrivacyPage() -> impl IntoView {
    view! {
        <Title text="Privacy Policy"/>
        <article class="legal-page">
            <h1>"Privacy Policy"</h1>
            <p>"We store your email, your profile, your images and the settings used to make them, only to run the service for you."</p>
            <p>"Passwords are stored as argon2id hashes; sign-in providers' tokens are stored encrypted. Your images are private to you."</p>
            <p>"We keep a record of your active sessions (device, address, times) so you can review and end them on your account page."</p>
        </article>
    }
}
