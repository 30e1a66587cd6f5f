//! Why a scan, a baseline or a report could not be done. Every variant names its file.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{path}: no such file or directory")]
    NotFound { path: PathBuf },
    // The I/O error is in the message and deliberately not a `#[source]`: `{:#}` would
    // print it twice ("No such file…: No such file…").
    #[error("{path}: cannot read: {reason}")]
    Read {
        path: PathBuf,
        reason: std::io::Error,
    },
    #[error("{path}:{line}:{column}: not a secrets-guard baseline: {message}")]
    BadBaseline {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: cannot write: {reason}")]
    Write {
        path: PathBuf,
        reason: std::io::Error,
    },
    #[error("cannot encode the report: {0}")]
    Encode(#[from] serde_json::Error),
}
