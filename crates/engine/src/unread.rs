//! What a scan did not read, by name: inputs it skipped on purpose (over the size limit,
//! binary, generated, past an archive limit) and inputs it could not read at all. A
//! security gate must never pass what it did not read, so the second kind makes the scan
//! fail (exit 2) unless the user asks to skip unreadable inputs.

use serde::Serialize;

/// Why an input was skipped on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipKind {
    /// Over `--max-file-size`.
    Large,
    /// Holds NUL bytes and is not UTF-16 text.
    Binary,
    /// A minified bundle or a source map: only format-specific rules ran on it.
    Generated,
    /// An archive limit (depth, member count, expanded size) was hit.
    Limit,
}

/// An input skipped on purpose, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Skipped {
    pub path: String,
    /// The path's raw bytes, when they are not UTF-8 (`path` is then lossy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<Vec<u8>>,
    pub kind: SkipKind,
    pub reason: String,
    /// A blob skipped by a git history or range scan: the commit that put it at `path`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// A blob skipped by a git history or range scan: its object id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
}

impl Skipped {
    pub fn new(path: impl Into<String>, kind: SkipKind, reason: impl Into<String>) -> Skipped {
        Skipped {
            path: path.into(),
            path_bytes: None,
            kind,
            reason: reason.into(),
            commit: None,
            blob: None,
        }
    }

    /// A blob a git scan skipped: at `path` in `commit`, object `blob`.
    pub fn blob(
        path: impl Into<String>,
        commit: impl Into<String>,
        blob: impl Into<String>,
        kind: SkipKind,
        reason: impl Into<String>,
    ) -> Skipped {
        Skipped {
            commit: Some(commit.into()),
            blob: Some(blob.into()),
            ..Skipped::new(path, kind, reason)
        }
    }

    /// What was skipped, as one name: the path, and for a git blob its commit and id
    /// (`src/a.bin (commit 1a2b…, blob 3c4d…)`). Control characters are kept: see Display.
    pub fn name(&self) -> String {
        match (&self.commit, &self.blob) {
            (Some(commit), Some(blob)) => format!("{} (commit {commit}, blob {blob})", self.path),
            (Some(commit), None) => format!("{} (commit {commit})", self.path),
            (None, Some(blob)) => format!("{} (blob {blob})", self.path),
            (None, None) => self.path.clone(),
        }
    }
}

/// An input that could not be read (permissions, a dangling link, a loop, a special file,
/// a file that vanished, an unreadable git object).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Unreadable {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<Vec<u8>>,
    pub reason: String,
}

impl Unreadable {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Unreadable {
        Unreadable {
            path: path.into(),
            path_bytes: None,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", escape_controls(&self.path), self.reason)
    }
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", escape_controls(&self.name()), self.reason)
    }
}

/// A path for a terminal: control characters (newlines, ANSI escapes, DEL, C1 controls)
/// become `\n`, `\x1b`, `\u{9b}` escapes, so a file name cannot rewrite the screen or fake
/// a line of output. A backslash is doubled only when it could be mistaken for one of
/// those escapes.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The raw bytes of a path when they are not UTF-8 (for `path_bytes`), else `None`.
pub fn non_utf8_bytes(raw: &[u8]) -> Option<Vec<u8>> {
    std::str::from_utf8(raw).is_err().then(|| raw.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(escape_controls("a b\\c/é.txt"), "a b\\c/é.txt");
        assert_eq!(
            escape_controls("evil\n\u{1b}[31mred\u{7f}\u{9b}"),
            "evil\\n\\x1b[31mred\\x7f\\u{9b}"
        );
    }

    #[test]
    fn json_shapes() {
        let s = Skipped::new("a.bin", SkipKind::Binary, "binary");
        assert_eq!(
            serde_json::to_value(&s).expect("json"),
            serde_json::json!({"path": "a.bin", "kind": "binary", "reason": "binary"})
        );
        let b = Skipped::blob("a\nb.png", "c0ffee", "b10b", SkipKind::Binary, "binary");
        assert_eq!(
            serde_json::to_value(&b).expect("json"),
            serde_json::json!({"path": "a\nb.png", "kind": "binary", "reason": "binary",
                "commit": "c0ffee", "blob": "b10b"})
        );
        assert_eq!(
            b.to_string(),
            "a\\nb.png (commit c0ffee, blob b10b): binary"
        );
        let mut u = Unreadable::new("x", "permission denied");
        u.path_bytes = non_utf8_bytes(b"x\xff");
        assert_eq!(
            serde_json::to_value(&u).expect("json")["path_bytes"],
            serde_json::json!([120, 255])
        );
    }
}
