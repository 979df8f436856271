//! The public landing page.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::PRODUCT_NAME;

/// Example prompts shown by the "Inspire me" button, in order.
const PROMPT_IDEAS: [&str; 5] = [
    "a lighthouse on a basalt cliff at dusk, volumetric fog, 35mm photo",
    "an emperor penguin in a tiny knitted scarf, studio portrait, soft light",
    "isometric cutaway of a cosy library inside a hollow tree, watercolour",
    "retro-futurist tram crossing a desert canyon, gouache poster",
    "macro shot of frost crystals on a maple leaf, morning backlight",
];

/// The prompt idea at `index`, cycling through the list.
fn prompt_idea(index: usize) -> &'static str {
    PROMPT_IDEAS[index % PROMPT_IDEAS.len()]
}

/// Landing page: what the product is, where to sign in, and a taste of prompting.
#[component]
pub fn HomePage() -> impl IntoView {
    let idea = RwSignal::new(0_usize);

    view! {
        <Title text="Create images with Stable Diffusion"/>
        <section class="hero">
            <h1 data-testid="product-name">{PRODUCT_NAME}</h1>
            <p class="tagline">
                "Generate images with Stable Diffusion models on fast GPUs, "
                "and keep them in your own private gallery."
            </p>
            <a class="button primary" href="/login" data-testid="sign-in-link">"Sign in"</a>
        </section>
        <section class="inspiration" aria-labelledby="inspiration-title">
            <h2 id="inspiration-title">"Need a prompt?"</h2>
            <p class="prompt-idea" data-testid="prompt-idea" aria-live="polite">
                {move || prompt_idea(idea.get())}
            </p>
            // A plain button does nothing before hydration: it only responds once the app is live.
            <button
                type="button"
                class="button"
                data-testid="inspire-button"
                on:click=move |_| idea.update(|i| *i += 1)
            >
                "Inspire me"
            </button>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_ideas_cycle_and_differ_from_one_step_to_the_next() {
        assert_eq!(prompt_idea(0), PROMPT_IDEAS[0]);
        assert_eq!(prompt_idea(PROMPT_IDEAS.len()), PROMPT_IDEAS[0]);
        for i in 0..PROMPT_IDEAS.len() {
            assert_ne!(prompt_idea(i), prompt_idea(i + 1));
        }
    }
}
