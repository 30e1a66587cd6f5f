//! Why an environment could not be loaded. Every message names the file (and the line and
//! column where there is one) and the problem, and never the value.

use std::path::PathBuf;

/// A load or configuration error. Callers map every variant to exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}:{line}:{column}: `{key}` is not a valid variable name (letters, digits and `_`, not starting with a digit)")]
    InvalidKey {
        file: PathBuf,
        line: usize,
        column: usize,
        key: String,
    },
    #[error("{file}:{line}:{column}: `${{{name}}}` is not defined in environment `{environment}` (give a default with `${{{name}:-…}}`, or use --no-expand for a literal `$`)")]
    UndefinedReference {
        file: PathBuf,
        line: usize,
        column: usize,
        name: String,
        environment: String,
    },
    #[error("{file}:{line}:{column}: expansion cycle in environment `{environment}`: {chain}")]
    Cycle {
        file: PathBuf,
        line: usize,
        column: usize,
        chain: String,
        environment: String,
    },
    #[error("{file}: cannot read: {source}")]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: line {line} is not valid UTF-8")]
    NotUtf8 { file: PathBuf, line: usize },
    #[error("{file}: missing: environment `{environment}` declares it (create it, even empty, or change `[env]` in .secrets-guard.toml)")]
    MissingFile { file: PathBuf, environment: String },
    #[error("{file}: refusing a symlink that points outside the project ({target})")]
    SymlinkOutside { file: PathBuf, target: PathBuf },
    #[error("{file}: invalid `[env]` table: {message}")]
    Config { file: PathBuf, message: String },
    #[error("unknown environment `{name}` (known: {known})")]
    UnknownEnvironment { name: String, known: String },
    #[error("{dir}: no environment files: expected .env.dev, .env.qa or .env.prod, or environments declared in `[env]` of .secrets-guard.toml")]
    NoEnvironments { dir: PathBuf },
    #[error("rules: {0}")]
    Rules(#[from] sg_rules::RuleError),
    #[error("{dir}: cannot read the git repository: {message}")]
    Git { dir: PathBuf, message: String },
}
