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

/// An image the starter model made, shown with what makes it again: the `/generate` page's
/// defaults (the default model, Euler a, 25 steps, CFG 7.5, 64×64) with this prompt and seed.
/// `server/tests/integration/showcase.rs` regenerates each one through the worker's own request and
/// compares the pixels, so the pictures are the model's output, not drawings of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShowcaseExample {
    /// The prompt.
    pub prompt: &'static str,
    /// The seed.
    pub seed: i64,
    /// The picture, under `public/`.
    pub image: &'static str,
}

/// The home page's examples, in order.
pub const SHOWCASE: [ShowcaseExample; 6] = [
    ShowcaseExample { prompt: "a red apple", seed: 1, image: "/showcase/red-apple.png" },
    ShowcaseExample { prompt: "grinning face", seed: 1, image: "/showcase/grinning-face.png" },
    ShowcaseExample { prompt: "red heart", seed: 1, image: "/showcase/red-heart.png" },
    ShowcaseExample {
        prompt: "smiling face with sunglasses",
        seed: 1,
        image: "/showcase/smiling-face-with-sunglasses.png",
    },
    ShowcaseExample { prompt: "star", seed: 1, image: "/showcase/star.png" },
    ShowcaseExample { prompt: "blue circle", seed: 1, image: "/showcase/blue-circle.png" },
];

/// An edit the starter model made: from one of the [`SHOWCASE`] pictures, with the canvas's
/// defaults (Euler a, 25 steps, CFG 7.5, 64×64) and this prompt, seed and strength, through a mask
/// when there is one (white: repainted, no blur). `showcase.rs` remakes these too, through the
/// worker's own edit preparation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditExample {
    /// What it shows, for people.
    pub title: &'static str,
    /// The picture it starts from, under `public/`.
    pub source: &'static str,
    /// The mask, under `public/`, for inpainting.
    pub mask: Option<&'static str>,
    /// The prompt.
    pub prompt: &'static str,
    /// The seed.
    pub seed: i64,
    /// Strength, in hundredths.
    pub strength_percent: u8,
    /// The result, under `public/`.
    pub image: &'static str,
}

/// The home page's edit examples: image to image and inpainting.
pub const EDIT_SHOWCASE: [EditExample; 2] = [
    EditExample {
        title: "Image to image",
        source: "/showcase/red-apple.png",
        mask: None,
        prompt: "star",
        seed: 2,
        strength_percent: 60,
        image: "/showcase/edit-image-to-image.png",
    },
    EditExample {
        title: "Inpainting",
        source: "/showcase/grinning-face.png",
        mask: Some("/showcase/edit-mask.png"),
        prompt: "smiling face with sunglasses",
        seed: 3,
        strength_percent: 100,
        image: "/showcase/edit-inpainting.png",
    },
];

/// `/generate` with `example`'s prompt and seed filled in.
#[must_use]
pub fn try_link(example: &ShowcaseExample) -> String {
    format!("/generate?prompt={}&seed={}", query_encode(example.prompt), example.seed)
}

/// Percent-encodes `text` for a query value: unreserved characters stay, the rest as UTF-8 bytes.
fn query_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The prompt idea at `index`, cycling through the list.
fn prompt_idea(index: usize) -> &'static str {
    PROMPT_IDEAS[index % PROMPT_IDEAS.len()]
}

/// Landing page: what the product is, where to sign in, and a taste of prompting.
#[component]
pub fn HomePage() -> impl IntoView {
    let idea = RwSignal::new(0_usize);
    // Where deleting an account lands (the account page sends `?deleted=1`).
    let query = leptos_router::hooks::use_query_map();
    let deleted = move || query.read().get("deleted").is_some();

    view! {
        <Title text="Create images with Stable Diffusion"/>
        <Show when=deleted>
            <p class="success" role="status" data-testid="account-deleted">
                "Your account, its images and every file of it are deleted."
            </p>
        </Show>
        <section class="hero">
            <h1 data-testid="product-name">{PRODUCT_NAME}</h1>
            <p class="tagline">
                "Generate images with Stable Diffusion models on fast GPUs, "
                "and keep them in your own private gallery."
            </p>
            <a class="button primary" href="/login" data-testid="sign-in-link">"Sign in"</a>
        </section>
        <section class="showcase" aria-labelledby="showcase-title">
            <h2 id="showcase-title">"Made on a CPU by the starter model"</h2>
            <p>
                "A fresh install comes with a small model of our own that draws rough 64-pixel "
                "likenesses of the Twemoji emoji from their names, in under a second on a CPU, "
                "without a GPU or a download. Add Stable Diffusion weights for real pictures."
            </p>
            <ul class="showcase-grid">
                {SHOWCASE
                    .iter()
                    .map(|example| {
                        view! {
                            <li data-testid="showcase-example">
                                <img src=example.image alt=example.prompt width="128" height="128"/>
                                <span class="showcase-prompt">{example.prompt}</span>
                                <a href=try_link(example) data-testid="showcase-try">"Try it"</a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
        <section class="showcase" aria-labelledby="edits-title">
            <h2 id="edits-title">"Edit what you have"</h2>
            <p>
                "On the canvas a picture can be redrawn from a prompt, repainted where you brush a "
                "mask, or extended past its edges. The starter model did these:"
            </p>
            <ul class="edit-showcase">
                {EDIT_SHOWCASE
                    .iter()
                    .map(|example| {
                        let how = match example.mask {
                            None => format!("“{}”, strength {:.2}", example.prompt, f64::from(example.strength_percent) / 100.0),
                            Some(_) => format!("“{}” where masked", example.prompt),
                        };
                        view! {
                            <li data-testid="edit-example">
                                <strong>{example.title}</strong>
                                <div class="edit-steps">
                                    <img src=example.source alt="The picture it starts from" width="96" height="96"/>
                                    {example.mask.map(|mask| view! { <img src=mask alt="The mask: white is repainted" width="96" height="96"/> })}
                                    <span aria-hidden="true">"→"</span>
                                    <img src=example.image alt=example.prompt width="96" height="96"/>
                                </div>
                                <span class="showcase-prompt">{how}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
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
    fn try_links_carry_the_prompt_and_seed_percent_encoded() {
        let example = ShowcaseExample { prompt: "a red apple, ça & co", seed: 7, image: "/x.png" };
        assert_eq!(try_link(&example), "/generate?prompt=a%20red%20apple%2C%20%C3%A7a%20%26%20co&seed=7");
        for example in &SHOWCASE {
            assert!(example.image.starts_with("/showcase/") && example.image.ends_with(".png"));
        }
        for example in &EDIT_SHOWCASE {
            for file in [example.source, example.image].into_iter().chain(example.mask) {
                assert!(file.starts_with("/showcase/") && file.ends_with(".png"), "{file}");
            }
            assert!(example.strength_percent <= 100);
        }
    }

    #[test]
    fn prompt_ideas_cycle_and_differ_from_one_step_to_the_next() {
        assert_eq!(prompt_idea(0), PROMPT_IDEAS[0]);
        assert_eq!(prompt_idea(PROMPT_IDEAS.len()), PROMPT_IDEAS[0]);
        for i in 0..PROMPT_IDEAS.len() {
            assert_ne!(prompt_idea(i), prompt_idea(i + 1));
        }
    }
}
