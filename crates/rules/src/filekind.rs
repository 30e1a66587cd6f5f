//! File kinds: what a literal value looks like in each kind of file, read from the rule
//! files' `[[filekinds]]` tables (`rules/filekinds.toml`).
//!
//! The generic rules find a credential-like name followed by a value, and a regex cannot
//! tell `token = "q3Vn0bZk8Yh2"` from `token = tokenSource.Token` or `Creds: clientCreds`.
//! A rule with `literalValue = true` keeps a match only when its value is a literal of the
//! file's kind: quoted with one of the kind's quotes, or, where the kind allows it (the
//! right-hand side of a YAML, `.env`, INI or shell assignment), unquoted. Which files are
//! which kind, and which quotes they use, is data, so a new language is a table, not code.

use crate::lazy::LazyRegex;
use crate::schema::RawFileKind;
use crate::RuleError;
use std::ops::Range;
use std::path::Path;

/// One compiled `[[filekinds]]` table.
#[derive(Debug, Clone)]
pub struct FileKind {
    pub name: String,
    /// Paths of this kind (any match).
    pub paths: Vec<LazyRegex>,
    /// The bytes that open and close a string literal.
    pub quotes: Vec<u8>,
    /// Whether an unquoted value is a literal (config right-hand sides) or code.
    pub unquoted: bool,
    /// Text that, found right before the name, puts the whole match inside an expansion
    /// or a reference (`${`, `$(`, `{{`), so it is no assignment.
    pub not_after: Vec<String>,
}

impl FileKind {
    pub(crate) fn compile(
        raw: &RawFileKind,
        file: &Path,
        eager: bool,
    ) -> Result<FileKind, RuleError> {
        let mut paths = Vec::with_capacity(raw.paths.len());
        for p in &raw.paths {
            paths.push(crate::compile::build_regex(p, eager).map_err(|message| {
                RuleError::BadRegex {
                    path: file.to_path_buf(),
                    rule_id: format!("filekind {}", raw.name),
                    field: "paths",
                    message,
                }
            })?);
        }
        let mut quotes = Vec::new();
        for q in &raw.quotes {
            match q.as_bytes() {
                [b] => quotes.push(*b),
                _ => {
                    return Err(RuleError::Invalid {
                        path: file.to_path_buf(),
                        rule_id: format!("filekind {}", raw.name),
                        message: format!("quote `{q}` is not one ASCII character"),
                    })
                }
            }
        }
        Ok(FileKind {
            name: raw.name.clone(),
            paths,
            quotes,
            unquoted: raw.unquoted,
            not_after: raw.not_after.clone(),
        })
    }

    pub fn matches_path(&self, path: &str) -> bool {
        self.paths.iter().any(|p| p.is_match(path.as_bytes()))
    }

    /// Whether the value at `secret` in `window` (a match of a name/value rule spanning
    /// `whole`) is a literal of this kind: inside a string literal opened earlier on its
    /// line (`token = "…"`, `"Authorization": "Bearer …"`), or unquoted where the kind
    /// takes unquoted values.
    pub fn is_literal(&self, window: &[u8], whole: &Range<usize>, secret: &Range<usize>) -> bool {
        let before = window.get(..whole.start).unwrap_or_default();
        if self
            .not_after
            .iter()
            .any(|n| before.ends_with(n.as_bytes()))
        {
            return false;
        }
        let prefix = window.get(..secret.start).unwrap_or_default();
        let line_start = prefix
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        self.unquoted || self.inside_string(&prefix[line_start..])
    }

    /// Whether a string literal opened in `line` is still open at its end (a backslash
    /// escapes the next byte inside a literal).
    fn inside_string(&self, line: &[u8]) -> bool {
        let mut open: Option<u8> = None;
        let mut bytes = line.iter();
        while let Some(&b) = bytes.next() {
            match open {
                Some(_) if b == b'\\' => {
                    bytes.next();
                }
                Some(q) if b == q => open = None,
                Some(_) => {}
                None if self.quotes.contains(&b) => open = Some(b),
                None => {}
            }
        }
        open.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(quotes: &[&str], unquoted: bool) -> FileKind {
        let raw = RawFileKind {
            name: "test".into(),
            paths: vec![r"\.test$".into()],
            quotes: quotes.iter().map(|q| (*q).to_owned()).collect(),
            unquoted,
            not_after: vec!["${".into()],
        };
        FileKind::compile(&raw, Path::new("kinds.toml"), true).expect("valid kind")
    }

    /// `is_literal` for the value `V…` of `text`, the whole match starting at `name`.
    fn literal(k: &FileKind, text: &str, name: &str) -> bool {
        let start = text.find(name).expect("name in text");
        let secret = text.find("Vq8").expect("value in text");
        k.is_literal(
            text.as_bytes(),
            &(start..text.len()),
            &(secret..secret + 10),
        )
    }

    #[test]
    fn a_value_counts_in_code_only_inside_a_string_opened_on_its_line() {
        let go = kind(&["\"", "`"], false);
        assert!(literal(&go, "token := \"Vq8Lr2Vx9Kp\"", "token"));
        assert!(literal(&go, "token := `Vq8Lr2Vx9Kp`", "token"));
        assert!(literal(
            &go,
            "h.Set(\"Authorization\", \"Bearer Vq8Lr2Vx9Kp\")",
            "Authorization"
        ));
        assert!(!literal(&go, "token := Vq8Lr2Vx9Kp", "token"));
        // The string before the value is closed: `"x"` then a bare value.
        assert!(!literal(&go, "m[\"token\"] = Vq8Lr2Vx9Kp", "token"));
        // An escaped quote does not close the string.
        assert!(literal(&go, "s := \"a \\\" token=Vq8Lr2Vx9Kp\"", "token"));
        // A quote of another kind of file opens nothing here.
        assert!(!literal(&go, "token := 'Vq8Lr2Vx9Kp'", "token"));
        // Only the value's own line counts.
        assert!(!literal(&go, "x := \"\n  token: Vq8Lr2Vx9Kp", "token"));
    }

    #[test]
    fn config_kinds_take_bare_values_but_never_inside_an_expansion() {
        let env = kind(&["\"", "'"], true);
        assert!(literal(&env, "TOKEN=Vq8Lr2Vx9Kp", "TOKEN"));
        assert!(!literal(
            &env,
            ": \"${TOKEN:?Vq8Lr2Vx9Kp must be set}\"",
            "TOKEN"
        ));
        assert!(env.matches_path("deploy/app.test"));
        assert!(!env.matches_path("deploy/app.test.bak"));
    }

    #[test]
    fn a_quote_must_be_one_character() {
        let raw = RawFileKind {
            name: "bad".into(),
            paths: vec![r"\.x$".into()],
            quotes: vec!["\"\"\"".into()],
            ..RawFileKind::default()
        };
        let err = FileKind::compile(&raw, Path::new("kinds.toml"), true).expect_err("refused");
        assert!(err.to_string().contains("kinds.toml"), "{err}");
    }
}
