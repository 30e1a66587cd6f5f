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
    /// `key` is shown as [`shown_name`] gives it: redacted when it looks like a token.
    #[error("{file}:{line}:{column}: `{key}` is not a valid variable name (letters, digits and `_`, not starting with a digit)")]
    InvalidKey {
        file: PathBuf,
        line: usize,
        column: usize,
        key: String,
    },
    /// `name` is redacted when the reference may be part of a value (`pa$Sw0rd`).
    #[error("{file}:{line}:{column}: in `{key}`: `${{{name}}}` is not defined in environment `{environment}` (give a default with `${{{name}:-…}}`; a `$` that is part of the value needs single quotes or `\\$`, or use --no-expand)")]
    UndefinedReference {
        file: PathBuf,
        line: usize,
        column: usize,
        key: String,
        name: String,
        environment: String,
    },
    #[error("{file}:{line}:{column}: in `{key}`: expanding references makes the value longer than {limit} bytes in environment `{environment}` (a value that references another several times, line after line, doubles each time); use --no-expand if the `$` are literal")]
    ExpansionTooLarge {
        file: PathBuf,
        line: usize,
        column: usize,
        key: String,
        limit: usize,
        environment: String,
    },
    #[error("{file}:{line}:{column}: in `{key}`: references lead through more than {limit} definitions in environment `{environment}` (each `${{NAME}}` that refers to another); use --no-expand if the `$` are literal")]
    ExpansionTooDeep {
        file: PathBuf,
        line: usize,
        column: usize,
        key: String,
        limit: usize,
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
    #[error("{dir}: no environment files: expected .env.<name> files (.env.dev, .env.development, …), or environments declared in `[env]` of .secrets-guard.toml")]
    NoEnvironments { dir: PathBuf },
    #[error("{dir}: no environment files here or in a parent directory up to {stop} (looked for .env, .env.<name> and .secrets-guard.toml; give the project with --dir)")]
    NoProject { dir: PathBuf, stop: PathBuf },
    #[error("rules: {0}")]
    Rules(#[from] sg_rules::RuleError),
    #[error("{dir}: cannot read the git repository: {message}")]
    Git { dir: PathBuf, message: String },
}

/// The first four characters of `text` and an ellipsis: what an error may show of a stray
/// line or a token used as a name.
pub fn redact_token(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(4).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// `name` in full when it reads as a variable name (`DATABASE_URL`, `log_level`), else
/// redacted: letters of one case, at most three digits, words of at most 12 characters.
/// A token (`sk_live_51H…`, `AKIAIOSFODNN7EXAMPLE`, 40 hex digits) fails one of these.
pub fn shown_name(name: &str) -> String {
    if looks_like_name(name) {
        name.to_owned()
    } else {
        redact_token(name)
    }
}

pub(crate) fn looks_like_name(name: &str) -> bool {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    let upper = name.chars().any(|c| c.is_ascii_uppercase());
    let lower = name.chars().any(|c| c.is_ascii_lowercase());
    let digits = name.chars().filter(char::is_ascii_digit).count();
    let short_words = name.split(['_', '-', '.']).all(|w| w.len() <= 12);
    ok_chars && name.len() <= 64 && !(upper && lower) && digits <= 3 && short_words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shown_and_tokens_redacted() {
        for name in [
            "DATABASE_URL",
            "log_level",
            "MY-KEY",
            "A.B",
            "NEXT_PUBLIC_API_URL",
        ] {
            assert_eq!(shown_name(name), name);
        }
        for token in [
            "sk_live_51Dm7w4suUssSCQtHkFVRsbQh",
            "AKIAIOSFODNN7EXAMPLE",
            "a9cd710e884a743006f6649a88eb79fc511ce52f",
            "Horse3Battery",
        ] {
            let shown = shown_name(token);
            assert_eq!(shown.chars().count(), 5, "{shown}");
            assert!(token.starts_with(shown.trim_end_matches('…')), "{shown}");
        }
        assert_eq!(redact_token("abc"), "abc");
        assert_eq!(redact_token("hunter2"), "hunt…");
    }
}
