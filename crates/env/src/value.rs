//! A value that keeps itself out of logs.

use std::fmt;

/// A variable's value. `Debug` and `Display` redact it; [`SecretValue::expose`] gives the
/// text to whoever really needs it (a child process, `env get`).
///
/// ```
/// let v = sg_env::SecretValue::new("sk_live_0123456789abcdefghij");
/// assert_eq!(format!("{v}"), "sk_l…(28 chars)");
/// assert!(!format!("{v:?}").contains("0123456789"));
/// assert_eq!(v.expose(), "sk_live_0123456789abcdefghij");
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: impl Into<String>) -> SecretValue {
        SecretValue(value.into())
    }

    /// The value itself. Handle with care.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The redacted form used everywhere a value is shown: at most the first four
    /// characters (none for short values, where four would be most of it) and the length.
    pub fn redacted(&self) -> String {
        let chars = self.0.chars().count();
        if chars == 0 {
            "(empty)".to_owned()
        } else if chars == 1 {
            "****(1 char)".to_owned()
        } else if chars < 12 {
            format!("****({chars} chars)")
        } else {
            let head: String = self.0.chars().take(4).collect();
            format!("{head}…({chars} chars)")
        }
    }

    /// SHA-256 of the value, for comparing values across environments without keeping them.
    pub fn digest(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        Sha256::digest(self.0.as_bytes()).into()
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretValue({})", self.redacted())
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_never_shows_the_whole_value() {
        for v in [
            "",
            "info",
            "8080",
            "hunter2hunter2",
            "sgk_prod_Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7yEe2zI7BX",
        ] {
            let s = SecretValue::new(v);
            let shown = format!("{s} {s:?}");
            if v.len() > 4 {
                assert!(!shown.contains(v), "{shown}");
            }
        }
        assert_eq!(SecretValue::new("info").redacted(), "****(4 chars)");
        assert_eq!(SecretValue::new("").redacted(), "(empty)");
    }
}
