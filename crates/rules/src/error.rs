use std::path::PathBuf;

/// Why a rule file could not be loaded or compiled. Every variant names its source.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    // Not a `#[source]`: the binary prints the chain, which would repeat the I/O error.
    #[error("{path}: cannot read: {reason}")]
    Read {
        path: PathBuf,
        reason: std::io::Error,
    },
    #[error("{path}:{line}:{column}: invalid rule file: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: rule `{rule_id}`: {field} does not compile: {message}")]
    BadRegex {
        path: PathBuf,
        rule_id: String,
        field: &'static str,
        message: String,
    },
    #[error(
        "{path}: rule `{rule_id}`: unknown validator `{validator}` (known: {})",
        crate::Validator::NAMES.join(", ")
    )]
    UnknownValidator {
        path: PathBuf,
        rule_id: String,
        validator: String,
    },
    #[error("{path}: rule `{rule_id}`: {message}")]
    Invalid {
        path: PathBuf,
        rule_id: String,
        message: String,
    },
    #[error(
        "{path}: disabledRules names `{rule_id}`, which no rule has (a typo, or a rule that \
         was renamed or removed)"
    )]
    UnknownDisabledRule { path: PathBuf, rule_id: String },
    #[error("{path}: rule id `{rule_id}` is defined twice")]
    DuplicateId { path: PathBuf, rule_id: String },
}
