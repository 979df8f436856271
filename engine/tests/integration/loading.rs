//! A missing, wrong or corrupt model directory is a clear error naming the file and what is
//! wrong, never a panic. Each case copies the committed tiny model and breaks one thing.

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use engine::StableDiffusion;

use crate::common;

fn tiny_model() -> PathBuf {
    common::fixtures().join("tiny-sd1")
}

/// A copy of the tiny model in a fresh folder under the target directory.
fn copy_of_tiny_model(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pingvas-loading-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&tiny_model(), &dir);
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn load_error(dir: &Path) -> String {
    let err = StableDiffusion::load(dir, &Device::flex()).expect_err("the broken model loaded");
    let _ = std::fs::remove_dir_all(dir);
    err.to_string()
}

/// Rewrites a safetensors file through `edit`, which gets (name, dtype, shape, bytes) rows.
fn rewrite_weights(
    file: &Path,
    edit: impl FnOnce(&mut Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)>),
) {
    let bytes = std::fs::read(file).unwrap();
    let parsed = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut rows: Vec<_> = parsed
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.dtype(), view.shape().to_vec(), view.data().to_vec()))
        .collect();
    edit(&mut rows);
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = rows
        .iter()
        .map(|(name, dtype, shape, data)| {
            (name.clone(), safetensors::tensor::TensorView::new(*dtype, shape.clone(), data).unwrap())
        })
        .collect();
    safetensors::serialize_to_file(views, None, file).unwrap();
}

#[test]
fn the_committed_tiny_model_loads() {
    let model = StableDiffusion::load(&tiny_model(), &Device::flex()).unwrap();
    assert_eq!(model.vae_config.scale_factor(), 2);
    assert_eq!(model.unet_config.cross_attention_dim, 32);
}

#[test]
fn a_missing_directory_or_component_names_the_missing_path() {
    let err = load_error(Path::new("/nonexistent/model"));
    assert_eq!(err, "model file missing: /nonexistent/model");

    let dir = copy_of_tiny_model("no-unet-weights");
    std::fs::remove_file(dir.join("unet/diffusion_pytorch_model.safetensors")).unwrap();
    assert!(load_error(&dir).ends_with("unet/diffusion_pytorch_model.safetensors"));

    let dir = copy_of_tiny_model("no-index");
    std::fs::remove_file(dir.join("model_index.json")).unwrap();
    assert!(load_error(&dir).ends_with("model_index.json"));

    let dir = copy_of_tiny_model("no-vocab");
    std::fs::remove_file(dir.join("tokenizer/vocab.json")).unwrap();
    assert!(load_error(&dir).contains("vocab.json"));
}

#[test]
fn another_pipeline_kind_or_an_unsupported_unet_is_refused_by_name() {
    let dir = copy_of_tiny_model("sdxl");
    let index = std::fs::read_to_string(dir.join("model_index.json")).unwrap();
    std::fs::write(
        dir.join("model_index.json"),
        index.replace("\"StableDiffusionPipeline\"", "\"StableDiffusionXLPipeline\""),
    )
    .unwrap();
    let err = load_error(&dir);
    assert!(
        err.contains("\"StableDiffusionXLPipeline\" is not a Stable Diffusion 1.x/2.x pipeline"),
        "{err}"
    );

    let dir = copy_of_tiny_model("added-embeddings");
    let config = std::fs::read_to_string(dir.join("unet/config.json")).unwrap();
    std::fs::write(
        dir.join("unet/config.json"),
        config.replace("\"addition_embed_type\": null", "\"addition_embed_type\": \"text_time\""),
    )
    .unwrap();
    let err = load_error(&dir);
    assert!(err.contains("unet/config.json") && err.contains("addition_embed_type"), "{err}");

    let dir = copy_of_tiny_model("bad-json");
    std::fs::write(dir.join("vae/config.json"), "{ not json").unwrap();
    let err = load_error(&dir);
    assert!(err.contains("vae/config.json: not a valid config"), "{err}");
}

#[test]
fn corrupt_weights_missing_tensors_and_extra_tensors_are_errors() {
    let dir = copy_of_tiny_model("truncated");
    let file = dir.join("vae/diffusion_pytorch_model.safetensors");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_error(&dir);
    assert!(err.contains("diffusion_pytorch_model.safetensors: cannot read the tensors"), "{err}");

    let dir = copy_of_tiny_model("missing-tensor");
    rewrite_weights(&dir.join("unet/diffusion_pytorch_model.safetensors"), |rows| {
        rows.retain(|row| row.0 != "conv_in.weight")
    });
    let err = load_error(&dir);
    assert!(err.contains("1 tensor(s) missing, e.g. conv_in.weight"), "{err}");

    let dir = copy_of_tiny_model("extra-tensor");
    rewrite_weights(&dir.join("unet/diffusion_pytorch_model.safetensors"), |rows| {
        let copy = rows[0].clone();
        rows.push(("add_embedding.linear_1.weight".into(), copy.1, copy.2, copy.3));
    });
    let err = load_error(&dir);
    assert!(
        err.contains("1 tensor(s) the model has no place for")
            && err.contains("add_embedding.linear_1.weight"),
        "{err}"
    );

    let dir = copy_of_tiny_model("wrong-shape");
    rewrite_weights(&dir.join("text_encoder/model.safetensors"), |rows| {
        let row = rows.iter_mut().find(|row| row.0 == "text_model.final_layer_norm.weight").unwrap();
        row.2 = vec![row.2[0] / 2];
        row.3.truncate(row.3.len() / 2);
    });
    let err = load_error(&dir);
    assert!(err.contains("do not fit the model") && err.contains("final_layer_norm"), "{err}");
}

#[test]
fn unet_channels_must_be_the_latents_or_an_inpainting_unets() {
    // Seeded random weights: only the configs matter here.
    let random = |dir: &Path| StableDiffusion::random(dir, &Device::flex(), engine::model::Precision::F32, 0);
    let with_channels = |name: &str, channels_in: usize, channels_out: usize| {
        let dir = copy_of_tiny_model(name);
        let config = std::fs::read_to_string(dir.join("unet/config.json")).unwrap();
        std::fs::write(
            dir.join("unet/config.json"),
            config
                .replace("\"in_channels\": 4", &format!("\"in_channels\": {channels_in}"))
                .replace("\"out_channels\": 4", &format!("\"out_channels\": {channels_out}")),
        )
        .unwrap();
        dir
    };
    let dir = with_channels("inpainting", 9, 4);
    assert_eq!(random(&dir).unwrap().unet_config.in_channels, 9);
    let _ = std::fs::remove_dir_all(&dir);
    for (name, channels_in, channels_out) in [("five-in", 5, 4), ("nine-out", 9, 9), ("eight-out", 4, 8)] {
        let dir = with_channels(name, channels_in, channels_out);
        let err = random(&dir).expect_err("a UNet that does not fit the VAE loaded").to_string();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(err.contains("unet/config.json") && err.contains("9 in for inpainting"), "{name}: {err}");
    }
}
