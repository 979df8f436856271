//! `MODEL_CATALOG`: the models people may choose, with the cheapest plan for each and the
//! diffusers folder a worker loads. A JSON array of `{"name", "title", "min_plan", "path",
//! "default_side"?}` objects; the first entry is the default model. Unset means the committed
//! starter model alone (`engine/starter/`), so a fresh install draws what it is asked for out of
//! the box; the random-weight tiny models stay test fixtures.

use std::path::{Path, PathBuf};

use contract::{generation::ModelInfo, plans::Plan};
use serde::Deserialize;

/// The name of the committed starter model, a fresh install's default.
pub const STARTER_MODEL: &str = "starter-emoji";

/// Where the starter model lives in the repository.
const STARTER_MODEL_DIR: &str = "engine/starter/model";

/// A catalog entry: what people see, and the folder workers load.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CatalogEntry {
    /// Name, title, plan and default size.
    #[serde(flatten)]
    pub info: ModelInfo,
    /// The diffusers folder (`model_index.json` and the component folders).
    pub path: PathBuf,
}

/// The starter model's folder: relative to the working directory when run from the repository
/// root, else where this build's sources are (tests run from the crate's folder).
#[must_use]
pub fn starter_model_dir() -> PathBuf {
    let relative = Path::new(STARTER_MODEL_DIR);
    if relative.join("model_index.json").is_file() {
        return relative.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(STARTER_MODEL_DIR)
}

/// The catalog when `MODEL_CATALOG` is unset: the starter model.
#[must_use]
pub fn default_catalog() -> Vec<CatalogEntry> {
    vec![CatalogEntry {
        info: ModelInfo {
            name: STARTER_MODEL.into(),
            title: "Starter model: emoji, 64 px".to_owned(),
            min_plan: Plan::Free,
            // Trained on 64-pixel images only.
            default_side: 64,
        },
        path: starter_model_dir(),
    }]
}

/// Parses `MODEL_CATALOG`: a non-empty array, names of 1–64 characters from `[a-z0-9._-]`, unique.
///
/// # Errors
/// Why the text is not such a catalog.
pub fn parse_catalog(raw: &str) -> Result<Vec<CatalogEntry>, String> {
    let models: Vec<CatalogEntry> = serde_json::from_str(raw).map_err(|e| e.to_string())?;
    if models.is_empty() {
        return Err("the catalog is empty".into());
    }
    for (i, model) in models.iter().enumerate() {
        let name = model.info.name.as_str();
        let valid = (1..=64).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-_".contains(&b));
        if !valid {
            return Err(format!("model name {name:?} is not 1-64 characters of a-z, 0-9, '.', '-', '_'"));
        }
        if models[..i].iter().any(|other| other.info.name.as_str() == name) {
            return Err(format!("model name {name:?} appears twice"));
        }
        if model.info.default_side < 64 || model.info.default_side % 8 != 0 {
            return Err(format!("default_side of {name:?} must be a multiple of 8, at least 64"));
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
            r#"[{"name":"tiny-sd","title":"Tiny","min_plan":"free","path":"m/tiny"},
                {"name":"sd-1.5","title":"SD 1.5","min_plan":"pro","path":"/models/sd15","default_side":512}]"#,
        )
        .unwrap();
        assert_eq!(models[1].info.min_plan, Plan::Pro);
        assert_eq!(models[1].path, PathBuf::from("/models/sd15"));
        assert_eq!(models[0].info.default_side, 512);
        assert!(
            parse_catalog(r#"[{"name":"a","title":"x","min_plan":"free"}]"#).unwrap_err().contains("path")
        );
        assert!(
            parse_catalog(r#"[{"name":"a","title":"x","min_plan":"free","path":"p","default_side":60}]"#)
                .unwrap_err()
                .contains("default_side")
        );
        assert!(parse_catalog("[]").unwrap_err().contains("empty"));
        assert!(
            parse_catalog(r#"[{"name":"A b","title":"x","min_plan":"free","path":"p"}]"#)
                .unwrap_err()
                .contains("A b")
        );
        assert!(parse_catalog(r#"[{"name":"a","title":"x","min_plan":"gold","path":"p"}]"#).is_err());
        let twice = r#"[{"name":"a","title":"x","min_plan":"free","path":"p"},{"name":"a","title":"y","min_plan":"pro","path":"q"}]"#;
        assert!(parse_catalog(twice).unwrap_err().contains("twice"));
    }
}
