//! Writing an environment out as a `.env` file, a JSON object or shell `export` lines.

use crate::load::{Environment, Variable};

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
        ExportFormat::Dotenv | ExportFormat::Shell => {
            let mut out = String::with_capacity(output_size(env, 11));
            for v in &env.variables {
                push_line(&mut out, v, format);
            }
            out
        }
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

/// What [`export`] gives, written to `out` a variable at a time (a `.env` or shell
/// output is never held whole in memory).
pub fn write_export(
    env: &Environment,
    format: ExportFormat,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    if format == ExportFormat::Json {
        return out.write_all(export(env, format).as_bytes());
    }
    let mut line = String::new();
    for v in &env.variables {
        line.clear();
        push_line(&mut line, v, format);
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// One variable's line of a `.env` or shell output.
fn push_line(out: &mut String, v: &Variable, format: ExportFormat) {
    if format == ExportFormat::Shell {
        out.push_str("export ");
    }
    out.push_str(&v.key);
    out.push('=');
    if format == ExportFormat::Shell {
        push_shell_quoted(out, v.value.expose());
    } else {
        push_dotenv_quoted(out, v.value.expose());
    }
    out.push('\n');
}

/// The size of the output before escapes: `extra` bytes per variable for `=`, quotes,
/// the newline and any `export `.
fn output_size(env: &Environment, extra: usize) -> usize {
    env.variables
        .iter()
        .map(|v| v.key.len() + v.value.expose().len() + extra)
        .sum()
}

/// A double-quoted dotenv value: every character that means something inside double
/// quotes is escaped, so the value reads back unchanged with or without expansion.
pub fn dotenv_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    push_dotenv_quoted(&mut out, value);
    out
}

/// The bytes [`dotenv_quote`] escapes.
const ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    table[b'\\' as usize] = true;
    table[b'"' as usize] = true;
    table[b'$' as usize] = true;
    table[b'\n' as usize] = true;
    table[b'\r' as usize] = true;
    table[b'\t' as usize] = true;
    table
};

fn push_dotenv_quoted(out: &mut String, value: &str) {
    out.push('"');
    let mut rest = value;
    // Runs of plain text are copied whole.
    while let Some(i) = rest.bytes().position(|b| ESCAPED[usize::from(b)]) {
        out.push_str(rest.get(..i).unwrap_or_default());
        out.push_str(match rest.as_bytes().get(i) {
            Some(b'\\') => "\\\\",
            Some(b'"') => "\\\"",
            Some(b'$') => "\\$",
            Some(b'\n') => "\\n",
            Some(b'\r') => "\\r",
            _ => "\\t",
        });
        rest = rest.get(i + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    out.push('"');
}

/// A single-quoted POSIX shell word: nothing inside single quotes is special except the
/// quote itself, written as `'\''`.
pub fn shell_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    push_shell_quoted(&mut out, value);
    out
}

fn push_shell_quoted(out: &mut String, value: &str) {
    out.push('\'');
    let mut pieces = value.split('\'');
    if let Some(first) = pieces.next() {
        out.push_str(first);
    }
    for piece in pieces {
        out.push_str(r"'\''");
        out.push_str(piece);
    }
    out.push('\'');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_and_returned_exports_agree() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join(".env.dev"),
            "A=1\nB=\"it's \\$x\\n\"\nC='q'\n",
        )
        .expect("write");
        let env = crate::Project::open(dir.path())
            .and_then(|p| p.load("dev", &crate::LoadOptions::files_only()))
            .expect("loads");
        for format in [
            ExportFormat::Dotenv,
            ExportFormat::Shell,
            ExportFormat::Json,
        ] {
            let mut written = Vec::new();
            write_export(&env, format, &mut written).expect("writes");
            assert_eq!(String::from_utf8(written).ok(), Some(export(&env, format)));
        }
        assert_eq!(
            export(&env, ExportFormat::Dotenv),
            "A=\"1\"\nB=\"it's \\$x\\n\"\nC=\"q\"\n"
        );
        assert_eq!(
            export(&env, ExportFormat::Shell),
            "export A='1'\nexport B='it'\\''s $x\n'\nexport C='q'\n"
        );
    }

    #[test]
    fn quoting_escapes_what_is_special_and_copies_the_rest() {
        assert_eq!(dotenv_quote(""), "\"\"");
        assert_eq!(dotenv_quote("plain"), "\"plain\"");
        assert_eq!(
            dotenv_quote("a\\b\"c$d\ne\rf\tg ünï"),
            "\"a\\\\b\\\"c\\$d\\ne\\rf\\tg ünï\""
        );
        assert_eq!(dotenv_quote("$$"), "\"\\$\\$\"");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("''"), r"''\'''\'''");
        assert_eq!(shell_quote("a b $c"), "'a b $c'");
    }
}
