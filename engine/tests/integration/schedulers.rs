//! Schedulers against diffusers (`tests/fixtures/scheduler_golden.json`, made by
//! `parity/make_fixtures.py`): for five model configurations and every scheduler kind, the same
//! timesteps, initial noise scale and input scaling, and the same sample after every step for
//! fixed samples, model outputs and (Euler ancestral) noise, within 1e-4 relative (to the
//! largest magnitude of each reference vector).

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used)]

use engine::schedulers::{Scheduler, SchedulerConfig, SchedulerError, SchedulerKind};
use serde_json::Value;

fn golden() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scheduler_golden.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(value: &Value) -> Vec<f64> {
    serde_json::from_value(value.clone()).unwrap()
}

/// Within 1e-4 of the reference's largest magnitude (diffusers steps DPM-Solver in f32, so
/// elements near zero carry its rounding, not ours).
fn assert_close(actual: &[f64], expected: &[f64], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}");
    let scale = expected.iter().fold(0.0_f64, |m, e| m.max(e.abs())).max(1e-12);
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() <= 1e-4 * scale, "{what}: {a} vs diffusers {e}");
    }
}

#[test]
fn every_scheduler_matches_diffusers_step_by_step_for_every_configuration() {
    let golden = golden();
    let steps = usize::try_from(golden["steps"].as_u64().unwrap()).unwrap();
    let cases = golden["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 5 * SchedulerKind::ALL.len(), "five configurations for each kind");
    for case in cases {
        let name =
            format!("{} / {}", case["config_name"].as_str().unwrap(), case["scheduler"].as_str().unwrap());
        let kind: SchedulerKind = case["scheduler"].as_str().unwrap().parse().unwrap();
        let config = SchedulerConfig::from_json(&case["config"].to_string()).unwrap();
        let mut scheduler = Scheduler::new(kind, &config, steps).unwrap();
        assert_eq!(scheduler.timesteps(), floats(&case["timesteps"]), "{name} timesteps");
        assert_close(&[scheduler.init_noise_sigma()], &[case["init_noise_sigma"].as_f64().unwrap()], &name);
        assert_eq!(scheduler.needs_noise(), kind == SchedulerKind::EulerAncestral);
        let mut sample: Vec<f64> =
            floats(&golden["sample"]).iter().map(|x| x * scheduler.init_noise_sigma()).collect();
        for i in 0..steps {
            let scale = case["input_scales"][i].as_f64().unwrap();
            assert_close(&[scheduler.input_scale(i)], &[scale], &format!("{name} input scale {i}"));
            let noise = case["noises"].as_array().map(|n| floats(&n[i]));
            sample = scheduler.step(i, &floats(&golden["model_outputs"][i]), &sample, noise.as_deref());
            assert_close(&sample, &floats(&case["trajectory"][i]), &format!("{name} step {i}"));
        }
    }
}

#[test]
fn scheduler_names_round_trip_and_unknown_names_are_refused_with_the_known_ones() {
    for kind in SchedulerKind::ALL {
        assert_eq!(kind.name().parse::<SchedulerKind>().unwrap(), kind);
    }
    let err = "heun".parse::<SchedulerKind>().unwrap_err();
    assert!(err.to_string().contains("dpmpp_2m_karras"), "{err}");
}

#[test]
fn unsupported_configurations_and_step_counts_are_refused_with_a_reason() {
    let err = SchedulerConfig::from_json(r#"{"clip_sample": true}"#).unwrap_err();
    assert!(err.to_string().contains("clip_sample"), "{err}");
    assert!(SchedulerConfig::from_json(r#"{"beta_schedule": "squaredcos_cap_v2"}"#).is_err());
    let config = SchedulerConfig::from_json("{}").unwrap();
    assert_eq!(config.timesteps(0).unwrap_err(), SchedulerError::Steps { steps: 0, train: 1000 });
    assert!(config.timesteps(1001).is_err());
    for kind in SchedulerKind::ALL {
        assert!(Scheduler::new(kind, &config, 0).is_err(), "{kind}");
    }
}
