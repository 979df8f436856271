//! The committed full-size configs build exactly the published architectures (parameter counts
//! as diffusers and transformers count them for SD 1.5, SD 2.1 and SD-Turbo), and a model built
//! with seeded random weights is a function of its seed: the same seed makes the same image.

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::Device;
use engine::StableDiffusion;
use engine::clip::{ClipTextConfig, ClipTextModel};
use engine::model::Precision;
use engine::pipeline::{GenerateRequest, RunOptions};
use engine::schedulers::SchedulerKind;
use engine::unet::{UNet2DConditionModel, UNetConfig};
use engine::vae::{AutoencoderKL, VaeConfig};

use crate::common;

fn configs(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs").join(name)
}

fn read<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_committed_configs_build_the_published_architectures() {
    // (text encoder, UNet, VAE) parameters, as diffusers/transformers report them for the
    // published checkpoints (counted here without allocating: parameters are lazy).
    for (name, expected) in [
        ("sd-1.5", [123_060_480, 859_520_964, 83_653_863]),
        ("sd-2.1", [340_387_840, 865_910_724, 83_653_863]),
        ("sd-turbo", [340_387_840, 865_910_724, 83_653_863]),
    ] {
        let dir = configs(name);
        let device = Device::flex();
        let clip: ClipTextConfig = read(&dir.join("text_encoder/config.json"));
        let unet: UNetConfig = read(&dir.join("unet/config.json"));
        let vae: VaeConfig = read(&dir.join("vae/config.json"));
        let counts = [
            ClipTextModel::new(&clip, &device).unwrap().num_params(),
            UNet2DConditionModel::new(&unet, &device).unwrap().num_params(),
            AutoencoderKL::new(&vae, &device).unwrap().num_params(),
        ];
        assert_eq!(counts, expected, "{name}: text encoder, UNet, VAE parameters");
    }
}

fn generate(model: &StableDiffusion) -> Vec<f64> {
    let request = GenerateRequest {
        prompt: "a penguin".into(),
        steps: 2,
        scheduler: SchedulerKind::DpmPp2m,
        width: 32,
        height: 32,
        seed: 3,
        ..GenerateRequest::default()
    };
    model.generate(&request, RunOptions::default()).unwrap().latents
}

#[test]
fn random_weights_are_a_function_of_the_seed() {
    // The tiny fixture's configs and tokenizer; its weights files are not read.
    let dir = common::fixtures().join("tiny-sd1");
    let device = Device::flex();
    let build = |seed| StableDiffusion::random(&dir, &device, Precision::F32, seed).unwrap();
    let (a, again, other) = (generate(&build(1)), generate(&build(1)), generate(&build(2)));
    assert_eq!(a, again, "the same seed makes the same model");
    assert_ne!(a, other, "another seed makes another model");
    assert!(a.iter().all(|v| v.is_finite()), "random weights keep the latents finite");
    let loaded = generate(&StableDiffusion::load(&dir, &device).unwrap());
    assert_ne!(a, loaded, "the weights files were not used");
}

#[test]
fn random_weights_need_no_weights_files() {
    // A config folder with no safetensors at all, as engine/configs/* are.
    let dir = std::env::temp_dir().join(format!("pingvas-random-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let source = common::fixtures().join("tiny-sd2");
    for entry in walk(&source) {
        let relative = entry.strip_prefix(&source).unwrap();
        if entry.extension().is_some_and(|e| e == "safetensors") {
            continue;
        }
        std::fs::create_dir_all(dir.join(relative).parent().unwrap()).unwrap();
        std::fs::copy(&entry, dir.join(relative)).unwrap();
    }
    let device = Device::flex();
    assert!(StableDiffusion::load(&dir, &device).is_err(), "loading needs the weights files");
    let model = StableDiffusion::random(&dir, &device, Precision::F32, 5).unwrap();
    assert!(generate(&model).iter().all(|v| v.is_finite()));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}
