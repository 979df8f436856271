//! Schedulers against diffusers (`tests/fixtures/scheduler_golden.json`, made by
//! `parity/make_fixtures.py`): the same timesteps, and the same sample after every step for fixed
//! samples and model outputs, within 1e-4 relative.

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used)]

use engine::schedulers::{DdimScheduler, SchedulerConfig, SchedulerError};
use serde_json::Value;

fn golden() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scheduler_golden.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(value: &Value) -> Vec<f64> {
    serde_json::from_value(value.clone()).unwrap()
}

fn assert_close(actual: &[f64], expected: &[f64], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}");
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() <= 1e-4 * e.abs().max(1e-2), "{what}: {a} vs diffusers {e}");
    }
}

#[test]
fn ddim_matches_diffusers_for_leading_trailing_and_linspace_spacing_epsilon_and_v_prediction() {
    let golden = golden();
    let steps = usize::try_from(golden["steps"].as_u64().unwrap()).unwrap();
    let cases = golden["ddim"].as_object().unwrap();
    assert_eq!(cases.len(), 4);
    for (name, case) in cases {
        let config = SchedulerConfig::from_json(&case["config"].to_string()).unwrap();
        let scheduler = DdimScheduler::new(config, steps).unwrap();
        let timesteps: Vec<usize> = serde_json::from_value(case["timesteps"].clone()).unwrap();
        assert_eq!(scheduler.timesteps(), timesteps, "{name} timesteps");
        let mut sample = floats(&golden["sample"]);
        for (i, &t) in scheduler.timesteps().iter().enumerate() {
            sample = scheduler.step(&floats(&golden["model_outputs"][i]), t, &sample);
            assert_close(&sample, &floats(&case["trajectory"][i]), &format!("{name} step {i} (t = {t})"));
        }
    }
}

#[test]
fn unsupported_configurations_and_step_counts_are_refused_with_a_reason() {
    let err = SchedulerConfig::from_json(r#"{"clip_sample": true}"#).unwrap_err();
    assert!(err.to_string().contains("clip_sample"), "{err}");
    assert!(SchedulerConfig::from_json(r#"{"beta_schedule": "squaredcos_cap_v2"}"#).is_err());
    let config = SchedulerConfig::from_json("{}").unwrap();
    assert_eq!(config.timesteps(0).unwrap_err(), SchedulerError::Steps { steps: 0, train: 1000 });
    assert!(config.timesteps(1001).is_err());
}
