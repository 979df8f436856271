//! Shared by the parity tests: the committed fixtures, diffusers' reference tensors, replayed
//! noise, and the relative-error check.

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use engine::noise::NoiseSource;
use engine::pipeline::GenerateRequest;
use engine::schedulers::SchedulerKind;
use serde_json::Value;

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The reference tensors of one variant: name → (shape, values).
pub struct Reference {
    pub tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
    pub meta: Value,
}

impl Reference {
    pub fn load(variant: &str) -> Self {
        let bytes = std::fs::read(fixtures().join(format!("parity-{variant}.safetensors"))).unwrap();
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let tensors = file
            .tensors()
            .into_iter()
            .map(|(name, view)| {
                let values = view
                    .data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                (name, (view.shape().to_vec(), values))
            })
            .collect();
        let meta = serde_json::from_str(
            &std::fs::read_to_string(fixtures().join(format!("parity-{variant}.json"))).unwrap(),
        )
        .unwrap();
        Self { tensors, meta }
    }

    pub fn values(&self, name: &str) -> &[f32] {
        &self.tensors.get(name).unwrap_or_else(|| panic!("no reference tensor {name}")).1
    }

    pub fn tensor<const D: usize>(&self, name: &str, device: &Device) -> Tensor<D> {
        let (shape, values) = &self.tensors[name];
        Tensor::from_data(TensorData::new(values.clone(), shape.clone()), device)
    }
}

pub fn relative_error(ours: &[f32], theirs: &[f32]) -> f64 {
    assert_eq!(ours.len(), theirs.len(), "sizes differ");
    let scale = theirs.iter().fold(0.0_f64, |m, &x| m.max(f64::from(x).abs()));
    let worst =
        ours.iter().zip(theirs).fold(0.0_f64, |m, (&a, &b)| m.max((f64::from(a) - f64::from(b)).abs()));
    worst / scale.max(1e-12)
}

pub fn assert_close(ours: &[f32], theirs: &[f32], tolerance: f64, what: &str) {
    let error = relative_error(ours, theirs);
    eprintln!("{what}: relative error {error:.2e} (tolerance {tolerance:.0e})");
    assert!(error <= tolerance, "{what}: relative error {error:e} > {tolerance:e}");
}

pub fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.try_into_vec_as::<f32>().unwrap()
}

/// diffusers' noise, replayed: the starting latents and Euler ancestral's per-step noise.
pub struct Replay<'a> {
    pub reference: &'a Reference,
    pub scheduler: &'a str,
}

impl NoiseSource for Replay<'_> {
    fn encoded(&mut self, _image: usize, _which: engine::noise::Encoded, _len: usize) -> Vec<f64> {
        unreachable!("text-to-image encodes no image")
    }

    fn initial(&mut self, _image: usize, len: usize) -> Vec<f64> {
        let init = self.reference.values("latents.init");
        assert_eq!(init.len(), len);
        init.iter().map(|&x| f64::from(x)).collect()
    }

    fn step(&mut self, _image: usize, step: usize, _len: usize) -> Vec<f64> {
        self.reference
            .values(&format!("{}.noise.{step}", self.scheduler))
            .iter()
            .map(|&x| f64::from(x))
            .collect()
    }
}

/// The request diffusers ran for `scheduler` on this reference's model.
pub fn request(reference: &Reference, scheduler: &str) -> GenerateRequest {
    let meta = &reference.meta;
    let size = meta["size"].as_u64().unwrap() as usize;
    GenerateRequest {
        prompt: meta["prompt"].as_str().unwrap().into(),
        negative_prompt: meta["negative_prompt"].as_str().unwrap().into(),
        steps: meta["steps"].as_u64().unwrap() as usize,
        guidance_scale: meta["guidance"].as_f64().unwrap(),
        scheduler: scheduler.parse::<SchedulerKind>().unwrap(),
        width: size,
        height: size,
        ..GenerateRequest::default()
    }
}
