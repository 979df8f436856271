//! Loading a component's safetensors file into its burn module through burn-store: PyTorch
//! layouts adapted (linear weights transposed, norm parameters renamed), float16 files cast to
//! float32, the few names burn cannot mirror remapped, and every missing or unused tensor an error.

use std::path::{Path, PathBuf};

use burn::store::{
    FloatCastAdapter, KeyRemapper, ModuleAdapter, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore,
};
use burn::tensor::DType;

use crate::error::EngineError;

/// Checkpoint names rewritten to the modules' names: diffusers' feed-forward is a list of mixed
/// layers (`ff.net.0.proj`, `ff.net.2`), and old VAE checkpoints name their attention
/// `query/key/value/proj_attn`.
const RENAMES: &[(&str, &str)] = &[
    (r"\.ff\.net\.0\.proj\.", ".ff.proj."),
    (r"\.ff\.net\.2\.", ".ff.out."),
    (r"(attentions\.0)\.query\.", "$1.to_q."),
    (r"(attentions\.0)\.key\.", "$1.to_k."),
    (r"(attentions\.0)\.value\.", "$1.to_v."),
    (r"(attentions\.0)\.proj_attn\.", "$1.to_out.0."),
];

/// Tensors checkpoints carry that are not parameters (transformers' saved position ids).
const IGNORED: &[&str] = &["text_model.embeddings.position_ids"];

/// The weights file of a component folder: the plain name, or diffusers' fp16 variant.
///
/// # Errors
/// Neither file exists.
pub fn weights_file(folder: &Path, stem: &str) -> Result<PathBuf, EngineError> {
    [format!("{stem}.safetensors"), format!("{stem}.fp16.safetensors")]
        .into_iter()
        .map(|name| folder.join(name))
        .find(|path| path.is_file())
        .ok_or_else(|| EngineError::Missing(folder.join(format!("{stem}.safetensors"))))
}

/// Loads `file` into `module` with its floats as `dtype` (whatever the file stores); the module
/// must take every tensor in the file and find every one it needs.
///
/// # Errors
/// An unreadable or corrupt file, a shape mismatch, or missing or unused tensors, listed.
pub fn load_into<M: ModuleSnapshot>(module: &mut M, file: &Path, dtype: DType) -> Result<(), EngineError> {
    let invalid = |reason: String| EngineError::Invalid { path: file.to_path_buf(), reason };
    let remapper = KeyRemapper::from_patterns(RENAMES.to_vec()).map_err(|e| invalid(e.to_string()))?;
    let mut store = SafetensorsStore::from_file(file)
        .with_from_adapter(PyTorchToBurnAdapter.chain(FloatCastAdapter::to(dtype)))
        .remap(remapper)
        .skip_enum_variants(true)
        .allow_partial(true)
        .validate(false);
    let result =
        module.load_from(&mut store).map_err(|e| invalid(format!("cannot read the tensors: {e}")))?;
    if let Some(error) = result.errors.first() {
        return Err(invalid(format!(
            "{} tensor(s) do not fit the model, first: {error}",
            result.errors.len()
        )));
    }
    if !result.missing.is_empty() {
        let names: Vec<&str> = result.missing.iter().take(5).map(|(path, _)| path.as_str()).collect();
        return Err(invalid(format!(
            "{} tensor(s) missing, e.g. {}",
            result.missing.len(),
            names.join(", ")
        )));
    }
    let unused: Vec<&str> =
        result.unused.iter().map(String::as_str).filter(|name| !IGNORED.contains(name)).collect();
    if !unused.is_empty() {
        let names: Vec<&str> = unused.iter().take(5).copied().collect();
        return Err(invalid(format!(
            "{} tensor(s) the model has no place for (a different architecture?), e.g. {}",
            unused.len(),
            names.join(", ")
        )));
    }
    Ok(())
}
