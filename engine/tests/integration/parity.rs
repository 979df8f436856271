//! The engine against diffusers on the committed tiny SD1- and SD2-style models
//! (`tests/fixtures/tiny-sd{1,2}`, reference tensors in `parity-sd{1,2}.safetensors`, both made by
//! `parity/make_fixtures.py`), on the CPU in f32: the text encoder, one UNet call and the VAE
//! (decoder and encoder) within 1e-4 relative, and whole pipelines with every scheduler (diffusers'
//! own noise replayed) within 1e-4 on the final latents and 1e-3 on the image, guided and not.
//! "Relative" is to the reference's largest magnitude: max |ours − theirs| / max |theirs|.

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use burn::tensor::{Device, Tensor};
use common::{Reference, Replay, assert_close, fixtures, request, values};
use engine::StableDiffusion;
use engine::pipeline::RunOptions;

fn check_components(variant: &str) {
    let device = Device::flex();
    let model = StableDiffusion::load(&fixtures().join(format!("tiny-{variant}")), &device).unwrap();
    let reference = Reference::load(variant);

    let ids: Vec<Vec<u32>> =
        reference.values("token_ids").chunks(77).map(|row| row.iter().map(|&x| x as u32).collect()).collect();
    let prompts = [&reference.meta["negative_prompt"], &reference.meta["prompt"]];
    for (row, prompt) in ids.iter().zip(prompts) {
        assert_eq!(&model.tokenizer.encode(prompt.as_str().unwrap()), row, "{variant} token ids");
    }
    let embeddings = values(model.text_encoder.forward(&ids, &device));
    assert_close(&embeddings, reference.values("text_embeddings"), 1e-4, &format!("{variant} text encoder"));

    let t = f64::from(reference.values("unet.timestep")[0]);
    let context: Tensor<3> = reference.tensor("unet.encoder_hidden_states", &device);
    let out = values(model.unet.forward(reference.tensor("unet.sample", &device), t, &context));
    assert_close(&out, reference.values("unet.out"), 1e-4, &format!("{variant} UNet"));

    let decoded = values(model.vae.decode(reference.tensor("vae.latents", &device)));
    assert_close(&decoded, reference.values("vae.decoded"), 1e-4, &format!("{variant} VAE decoder"));
    let posterior = model.vae.encode(reference.tensor("vae.image", &device));
    assert_close(
        &values(posterior.mean),
        reference.values("vae.mean"),
        1e-4,
        &format!("{variant} VAE encoder mean"),
    );
    assert_close(
        &values(posterior.logvar),
        reference.values("vae.logvar"),
        1e-4,
        &format!("{variant} VAE encoder logvar"),
    );
}

fn check_pipelines(variant: &str) {
    let device = Device::flex();
    let model = StableDiffusion::load(&fixtures().join(format!("tiny-{variant}")), &device).unwrap();
    let reference = Reference::load(variant);
    let size = reference.meta["size"].as_u64().unwrap() as usize;
    let schedulers = reference.meta["schedulers"].as_array().unwrap();
    assert!(!schedulers.is_empty());
    for name in schedulers {
        let name = name.as_str().unwrap();
        let request = request(&reference, name);
        let mut steps_seen = Vec::new();
        let mut on_progress =
            |p: &engine::pipeline::Progress| steps_seen.push((p.step, p.total, p.preview.is_some()));
        let options = RunOptions { on_progress: Some(&mut on_progress), previews: true, cancel: None };
        let mut replay = Replay { reference: &reference, scheduler: name };
        let generation = model.generate_with_noise(&request, options, &mut replay).unwrap();
        let last = request.steps - 1;
        let latents: Vec<f32> = generation.latents.iter().map(|&x| x as f32).collect();
        assert_close(
            &latents,
            reference.values(&format!("{name}.latents.{last}")),
            1e-4,
            &format!("{variant} {name} final latents"),
        );
        let image = &generation.images[0];
        assert_eq!((image.width, image.height), (size, size));
        assert_close(
            &image.pixels,
            reference.values(&format!("{name}.image")),
            1e-3,
            &format!("{variant} {name} image"),
        );
        assert_eq!(steps_seen, (1..=request.steps).map(|s| (s, request.steps, true)).collect::<Vec<_>>());
    }
}

/// At guidance 1 diffusers runs the prompt alone (no negative prompt, no unconditional pass).
fn check_unguided(variant: &str) {
    let device = Device::flex();
    let model = StableDiffusion::load(&fixtures().join(format!("tiny-{variant}")), &device).unwrap();
    let reference = Reference::load(variant);
    let request = engine::GenerateRequest {
        guidance_scale: 1.0,
        negative_prompt: String::new(),
        ..request(&reference, "ddim")
    };
    let mut replay = Replay { reference: &reference, scheduler: "ddim" };
    let generation = model.generate_with_noise(&request, RunOptions::default(), &mut replay).unwrap();
    assert_close(
        &generation.images[0].pixels,
        reference.values("unguided.ddim.image"),
        1e-3,
        &format!("{variant} unguided image"),
    );
}

#[test]
fn without_guidance_the_unconditional_pass_is_skipped_as_in_diffusers() {
    check_unguided("sd1");
    check_unguided("sd2");
}

#[test]
fn sd1_components_match_diffusers() {
    check_components("sd1");
}

#[test]
fn sd2_components_with_float16_weights_match_diffusers() {
    check_components("sd2");
}

#[test]
fn sd1_pipelines_match_diffusers_for_every_scheduler() {
    check_pipelines("sd1");
}

#[test]
fn sd2_v_prediction_pipelines_match_diffusers() {
    check_pipelines("sd2");
}
