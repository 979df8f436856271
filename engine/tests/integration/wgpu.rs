//! The wgpu path: the tiny SD1-style pipeline on the default wgpu adapter (on a machine without
//! a GPU, Vulkan on the CPU through lavapipe, which `scripts/test` installs), against diffusers'
//! image with a looser tolerance (1e-3) than the CPU parity tests (GPU kernels sum in other orders).

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{Reference, Replay, assert_close, fixtures, request};
use engine::StableDiffusion;
use engine::device::DeviceChoice;
use engine::pipeline::RunOptions;

/// Whether a Vulkan driver is installed where the loader looks for one.
fn vulkan_driver_installed() -> bool {
    ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d"]
        .iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .any(|entry| entry.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json")))
}

#[test]
fn the_tiny_pipeline_on_wgpu_matches_diffusers_within_1e_3() {
    assert!(
        vulkan_driver_installed() || std::env::var_os("PINGVAS_NO_VULKAN").is_some(),
        "no Vulkan driver: install one (Debian: apt-get install mesa-vulkan-drivers libvulkan1, as scripts/test does)"
    );
    if !vulkan_driver_installed() {
        return; // explicitly waived with PINGVAS_NO_VULKAN
    }
    let device = DeviceChoice::Wgpu.device().unwrap();
    let model = StableDiffusion::load(&fixtures().join("tiny-sd1"), &device).unwrap();
    let reference = Reference::load("sd1");
    let mut replay = Replay { reference: &reference, scheduler: "ddim" };
    let generation =
        model.generate_with_noise(&request(&reference, "ddim"), RunOptions::default(), &mut replay).unwrap();
    assert_close(&generation.images[0].pixels, reference.values("ddim.image"), 1e-3, "wgpu ddim image");
}
