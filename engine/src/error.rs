//! The engine's one error type: what went wrong, in words a user or operator can act on.

use std::path::PathBuf;

/// Anything the engine refuses or fails at. Never a panic for bad input.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A file the model directory must have is not there.
    #[error("model file missing: {}", .0.display())]
    Missing(PathBuf),
    /// A file is there but unreadable, corrupt, or describes something unsupported.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The generation request is out of range.
    #[error("invalid request: {0}")]
    Request(String),
    /// The device could not be set up or failed while running.
    #[error("device error: {0}")]
    Device(String),
    /// The caller cancelled the generation.
    #[error("generation cancelled")]
    Cancelled,
}

impl EngineError {
    /// An [`EngineError::Invalid`] for `path`.
    pub fn invalid(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::Invalid { path: path.into(), reason: reason.into() }
    }
}
