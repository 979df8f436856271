//! `MODEL_CATALOG`: the models people may choose, with the cheapest plan for each. A JSON array
//! of `{"name", "title", "min_plan"}` objects; the first entry is the default model. Unset means
//! the committed tiny model alone, so a fresh install can generate out of the box.

use app::{api::generation::ModelInfo, plans::Plan};

/// The name of the committed tiny test model.
pub const TINY_MODEL: &str = "tiny-sd";

/// The catalog when `MODEL_CATALOG` is unset.
#[must_use]
pub fn default_catalog() -> Vec<ModelInfo> {
    vec![ModelInfo {
        name: TINY_MODEL.to_owned(),
        title: "Tiny SD (test model)".to_owned(),
        min_plan: Plan::Free,
    }]
}

/// Parses `MODEL_CATALOG`: a non-empty array, names of 1–64 characters from `[a-z0-9._-]`, unique.
///
/// # Errors
/// Why the text is not such a catalog.
pub fn parse_catalog(raw: &str) -> Result<Vec<ModelInfo>, String> {
    let models: Vec<ModelInfo> = serde_json::from_str(raw).map_err(|e| e.to_string())?;
    if models.is_empty() {
        return Err("the catalog is empty".into());
    }
    for (i, model) in models.iter().enumerate() {
        let valid = (1..=64).contains(&model.name.len())
            && model
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-_".contains(&b));
        if !valid {
            return Err(format!(
                "model name {:?} is not 1-64 characters of a-z, 0-9, '.', '-', '_'",
                model.name
            ));
        }
        if models[..i].iter().any(|other| other.name == model.name) {
            return Err(format!("model name {:?} appears twice", model.name));
        }
    }
    Ok(models)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogs_parse_with_plans_and_bad_ones_say_why() {
        let models = parse_catalog(
            r#"[{"name":"tiny-sd","title":"Tiny","min_plan":"free"},{"name":"sd-1.5","title":"SD 1.5","min_plan":"pro"}]"#,
        )
        .unwrap();
        assert_eq!(models[1].min_plan, Plan::Pro);
        assert!(parse_catalog("[]").unwrap_err().contains("empty"));
        assert!(
            parse_catalog(r#"[{"name":"A b","title":"x","min_plan":"free"}]"#).unwrap_err().contains("A b")
        );
        assert!(parse_catalog(r#"[{"name":"a","title":"x","min_plan":"gold"}]"#).is_err());
        let twice =
            r#"[{"name":"a","title":"x","min_plan":"free"},{"name":"a","title":"y","min_plan":"pro"}]"#;
        assert!(parse_catalog(twice).unwrap_err().contains("twice"));
    }
}
