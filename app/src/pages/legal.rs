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
            <h2>"Credits"</h2>
            <p data-testid="starter-credits">
                "The starter model was trained on Twemoji graphics, © 2019 Twitter, Inc and other contributors, "
                "licensed under CC-BY 4.0 (https://creativecommons.org/licenses/by/4.0/); its images are "
                "adaptations of them. Emoji data from emoji-datasource (MIT, © 2013 Cal Henderson) and "
                "emojilib (MIT, © 2014 Mu-An Chiou)."
            </p>
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
