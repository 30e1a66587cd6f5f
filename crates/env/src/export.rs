//! Writing an environment out as a `.env` file, a JSON object or shell `export` lines.

use crate::load::Environment;

/// An output format for `env export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// `KEY="value"`, readable by this loader and dotenvy.
    Dotenv,
    /// One JSON object, keys sorted.
    Json,
    /// `export KEY='value'` lines for `eval` in a POSIX shell.
    Shell,
}

/// The whole environment in `format`. This prints values: only for users who ask.
pub fn export(env: &Environment, format: ExportFormat) -> String {
    match format {
        ExportFormat::Dotenv => env
            .variables
            .iter()
            .map(|v| format!("{}={}\n", v.key, dotenv_quote(v.value.expose())))
            .collect(),
        ExportFormat::Shell => env
            .variables
            .iter()
            .map(|v| format!("export {}={}\n", v.key, shell_quote(v.value.expose())))
            .collect(),
        ExportFormat::Json => {
            let map: serde_json::Map<String, serde_json::Value> = env
                .variables
                .iter()
                .map(|v| (v.key.clone(), serde_json::Value::from(v.value.expose())))
                .collect();
            let mut text = serde_json::to_string_pretty(&serde_json::Value::Object(map))
                .unwrap_or_else(|_| "{}".to_owned());
            text.push('\n');
            text
        }
    }
}

/// A double-quoted dotenv value: every character that means something inside double
/// quotes is escaped, so the value reads back unchanged with or without expansion.
pub fn dotenv_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A single-quoted POSIX shell word: nothing inside single quotes is special except the
/// quote itself, written as `'\''`.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}
