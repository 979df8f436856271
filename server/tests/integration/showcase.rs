//! The home page's examples are the starter model's own output: each one, made again from its
//! prompt and seed through the same request a user's job makes (the `/generate` page's defaults,
//! `check_request`, the worker's `engine_request`), gives the committed picture's pixels.
//!
//! After the starter model changes, `PINGVAS_BLESS_SHOWCASE=1 cargo test --release -p server
//! --test integration showcase` writes the pictures again.

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use app::pages::{EDIT_SHOWCASE, SHOWCASE};
use contract::{
    generation::{GenerateRequest, check_request},
    ids::ImageId,
    plans::Plan,
};
use engine::{StableDiffusion, device::DeviceChoice, pipeline::RunOptions, png::encode_png};
use pingvas_core::{
    config::default_catalog,
    generation::{edit, worker::engine_request},
};

/// The largest difference of one 8-bit value allowed, and of their mean: the CPU kernels pick
/// their SIMD width at run time, so another processor may round a few pixels the other way.
const MAX_LEVELS: u8 = 3;
const MAX_MEAN_LEVELS: f64 = 0.1;

#[test]
fn each_home_page_example_is_what_the_starter_model_makes_from_its_prompt_and_seed() {
    let (model, models) = starter();
    let public = Path::new(env!("CARGO_MANIFEST_DIR")).join("../public");
    for example in &SHOWCASE {
        let request = GenerateRequest {
            prompt: example.prompt.into(),
            seed: Some(example.seed),
            ..GenerateRequest::default()
        };
        let params = check_request(&request, Plan::Free, &models, || 0).unwrap();
        let mut made = model.generate(&engine_request(&params, 0).unwrap(), RunOptions::default()).unwrap();
        let image = made.images.remove(0);
        check_or_bless(&public.join(example.image.trim_start_matches('/')), &image, &params, example.prompt);
    }
}

fn starter() -> (StableDiffusion, Vec<contract::generation::ModelInfo>) {
    let catalog = default_catalog();
    let models: Vec<_> = catalog.iter().map(|entry| entry.info.clone()).collect();
    let choice = DeviceChoice::Cpu;
    let device = choice.device().unwrap();
    (StableDiffusion::load_with(&catalog[0].path, &device, choice.precision(&device)).unwrap(), models)
}

/// Writes `image` to `path` when blessing, else checks that `path` holds its pixels.
fn check_or_bless(
    path: &Path,
    image: &engine::pipeline::GeneratedImage,
    params: &contract::generation::GenerationParams,
    what: &str,
) {
    if std::env::var_os("PINGVAS_BLESS_SHOWCASE").is_some() {
        let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        let parameters = serde_json::to_string(params).unwrap();
        encode_png(file, image.width, image.height, &image.rgb, &[("parameters", &parameters)]).unwrap();
        return;
    }
    let stored = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e} (PINGVAS_BLESS_SHOWCASE=1 writes it)", path.display()))
        .to_rgb8();
    assert_eq!((stored.width() as usize, stored.height() as usize), (image.width, image.height), "{what}");
    let differences: Vec<u8> = stored.as_raw().iter().zip(&image.rgb).map(|(a, b)| a.abs_diff(*b)).collect();
    let worst = differences.iter().copied().max().unwrap_or(0);
    #[allow(clippy::cast_precision_loss)]
    let mean = differences.iter().map(|&d| f64::from(d)).sum::<f64>() / differences.len() as f64;
    assert!(
        worst <= MAX_LEVELS && mean <= MAX_MEAN_LEVELS,
        "{what} no longer gives {}: worst difference {worst} levels, mean {mean:.3}",
        path.display()
    );
}

#[test]
fn each_home_page_edit_is_what_the_starter_model_makes_of_its_picture() {
    let (model, models) = starter();
    let public = Path::new(env!("CARGO_MANIFEST_DIR")).join("../public");
    let file = |url: &str| public.join(url.trim_start_matches('/'));
    let placeholder = Some(ImageId(uuid::Uuid::nil()));
    for example in &EDIT_SHOWCASE {
        let request = GenerateRequest {
            prompt: example.prompt.into(),
            seed: Some(example.seed),
            init_image_id: placeholder,
            mask_image_id: example.mask.and(placeholder),
            strength: Some(f64::from(example.strength_percent) / 100.0),
            mask_blur: Some(0),
            ..GenerateRequest::default()
        };
        let params = check_request(&request, Plan::Free, &models, || 0).unwrap();
        let read = |url: &str| std::fs::read(file(url)).unwrap_or_else(|e| panic!("{url}: {e}"));
        let mask = example.mask.map(read);
        let size = (params.width as usize, params.height as usize);
        let prepared =
            edit::prepare_files(params.edit.as_ref().unwrap(), &read(example.source), mask.as_deref(), size)
                .unwrap();
        let mut made =
            model.run(&engine_request(&params, 0).unwrap(), &prepared.mode, RunOptions::default()).unwrap();
        let mut image = made.images.remove(0);
        prepared.finish(&mut image);
        check_or_bless(&file(example.image), &image, &params, example.title);
    }
}
