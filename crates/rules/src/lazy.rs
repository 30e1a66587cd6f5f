//! Rule patterns compiled on first use.
//!
//! A scan touches few rules: the keyword prefilter rules most of them out for most inputs,
//! and a pre-commit hook reads a handful of files. Compiling all of the default rules'
//! regexes up front took about 150 ms, most of a short scan, so a pattern's syntax is
//! checked when the rules load (errors still name the rule) and the regex is built the first
//! time a rule actually runs.

use regex::bytes::{Regex, RegexBuilder};
use std::fmt;
use std::sync::OnceLock;

/// The compiled-size limit of a user's pattern. A pattern such as `(x{1000}){1000}`
/// compiles to a million NFA states, which then crawl through every input: refused at load
/// time, naming this limit. The default rules' largest pattern is far below it.
pub const USER_REGEX_SIZE_LIMIT: usize = 1 << 20;
/// The limit for the embedded default rules, which the test suite compiles in full.
const TRUSTED_REGEX_SIZE_LIMIT: usize = 64 << 20;

/// A checked pattern and, once needed, its compiled regex.
#[derive(Clone)]
pub struct LazyRegex {
    /// The pattern as compiled (after Go RE2 syntax is rewritten).
    pattern: String,
    /// `None` until the pattern is compiled, for trusted patterns (parsing decides it).
    unicode: Option<bool>,
    /// Known from the syntax check; trusted patterns learn it when compiled.
    captures_len: Option<usize>,
    /// The compiled-size limit: [`USER_REGEX_SIZE_LIMIT`] for checked patterns.
    size_limit: usize,
    compiled: OnceLock<Result<Regex, String>>,
}

impl LazyRegex {
    /// Checks `pattern`'s syntax without compiling it.
    pub(crate) fn parse(pattern: &str) -> Result<LazyRegex, String> {
        let translated = crate::goregex::translate(pattern);
        // Without Unicode, `.` and `[^x]` can match bytes that are not UTF-8, which is what
        // a scanner of arbitrary files wants (and Go's `\w`/`\b` are ASCII too); patterns
        // with non-ASCII literals need Unicode mode.
        let parse = |unicode: bool| {
            regex_syntax::ParserBuilder::new()
                .unicode(unicode)
                .utf8(false)
                .build()
                .parse(&translated)
                .map_err(Box::new)
        };
        let (hir, unicode) = match parse(false) {
            Ok(hir) => (hir, false),
            Err(ascii_err) => match parse(true) {
                Ok(hir) => (hir, true),
                Err(_) => {
                    let message = ascii_err.to_string();
                    return Err(match crate::goregex::unsupported_hint(pattern) {
                        Some(hint) => format!("{message}\n{hint}"),
                        None => message,
                    });
                }
            },
        };
        Ok(LazyRegex {
            captures_len: Some(hir.properties().explicit_captures_len() + 1),
            pattern: translated,
            unicode: Some(unicode),
            size_limit: USER_REGEX_SIZE_LIMIT,
            compiled: OnceLock::new(),
        })
    }

    /// Takes a pattern without checking its syntax: for the embedded default rules, which
    /// `rules check` and the test suite compile in full. Even parsing every default pattern
    /// costs a short scan more than the scan itself.
    pub(crate) fn trusted(pattern: &str) -> LazyRegex {
        LazyRegex {
            pattern: crate::goregex::translate(pattern),
            unicode: None,
            captures_len: None,
            size_limit: TRUSTED_REGEX_SIZE_LIMIT,
            compiled: OnceLock::new(),
        }
    }

    /// Parses and compiles now, so that size-limit errors surface at load time.
    pub(crate) fn parse_and_compile(pattern: &str) -> Result<LazyRegex, String> {
        let lazy = LazyRegex::parse(pattern)?;
        lazy.compile()?;
        Ok(lazy)
    }

    fn compile(&self) -> Result<&Regex, String> {
        self.compiled
            .get_or_init(|| {
                let build = |unicode: bool| {
                    RegexBuilder::new(&self.pattern)
                        .unicode(unicode)
                        .size_limit(self.size_limit)
                        .dfa_size_limit(TRUSTED_REGEX_SIZE_LIMIT)
                        .build()
                };
                match self.unicode {
                    Some(unicode) => build(unicode),
                    None => build(false).or_else(|_| build(true)),
                }
                .map_err(|e| match e {
                    regex::Error::CompiledTooBig(limit) => format!(
                        "the compiled regex exceeds the size limit of {limit} bytes ({} KiB); \
                         simplify the pattern (nested counted repetitions such as \
                         `(x{{1000}}){{1000}}` multiply their sizes)",
                        limit / 1024
                    ),
                    other => other.to_string(),
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The compiled regex. `None` only if the pattern exceeds the compiled-size limit, which
    /// [`LazyRegex::parse_and_compile`] reports at load time for user rules and the test
    /// suite rules out for the default rules.
    pub fn get(&self) -> Option<&Regex> {
        self.compile().ok()
    }

    /// Compiles the pattern if it is not compiled yet, reporting a size-limit error.
    pub fn ensure_compiled(&self) -> Result<(), String> {
        self.compile().map(|_| ())
    }

    pub fn is_match(&self, haystack: &[u8]) -> bool {
        self.get().is_some_and(|re| re.is_match(haystack))
    }

    /// The pattern (after Go syntax translation).
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Number of capture groups, the whole match included. Known without compiling for
    /// checked patterns; a trusted pattern compiles to tell (0 if it does not compile).
    pub fn captures_len(&self) -> usize {
        self.captures_len
            .or_else(|| self.get().map(Regex::captures_len))
            .unwrap_or(0)
    }

    /// The number of capture groups if known without compiling.
    pub fn known_captures_len(&self) -> Option<usize> {
        self.captures_len
    }
}

impl From<Regex> for LazyRegex {
    fn from(regex: Regex) -> LazyRegex {
        let compiled = OnceLock::new();
        let captures_len = regex.captures_len();
        let pattern = regex.as_str().to_owned();
        let _ = compiled.set(Ok(regex));
        LazyRegex {
            pattern,
            unicode: Some(true),
            captures_len: Some(captures_len),
            size_limit: TRUSTED_REGEX_SIZE_LIMIT,
            compiled,
        }
    }
}

impl fmt::Debug for LazyRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LazyRegex").field(&self.pattern).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_surface_at_parse_and_groups_are_counted() {
        assert!(LazyRegex::parse("(unclosed").is_err());
        let re = LazyRegex::parse(r"key=([a-z]+)(?:x)(\d)?").expect("valid");
        assert_eq!(re.captures_len(), 3);
        assert!(re.is_match(b"key=abcx1"));
        assert!(!re.is_match(b"nothing"));
    }

    #[test]
    fn ascii_by_default_unicode_when_needed() {
        // ASCII mode: `.` matches a byte that is not UTF-8.
        assert!(LazyRegex::parse("a.b").expect("valid").is_match(b"a\xffb"));
        // A non-ASCII literal needs Unicode mode and still works.
        assert!(LazyRegex::parse("clé=[0-9]+")
            .expect("valid")
            .is_match("clé=42".as_bytes()));
    }

    #[test]
    fn trusted_patterns_compile_on_first_use() {
        let re = LazyRegex::trusted(r"tok_([0-9]+)");
        assert_eq!(re.known_captures_len(), None);
        assert!(re.is_match(b"tok_42"));
        assert_eq!(re.captures_len(), 2);
        assert!(LazyRegex::trusted("(broken").get().is_none());
    }

    #[test]
    fn size_limit_errors_surface_when_compiled_eagerly() {
        assert!(LazyRegex::parse_and_compile(r"\w{1000}{1000}").is_err());
        let err = LazyRegex::parse_and_compile("(x{1000}){1000}").expect_err("too big");
        assert!(
            err.contains(&format!("size limit of {USER_REGEX_SIZE_LIMIT} bytes")),
            "{err}"
        );
        assert!(LazyRegex::parse_and_compile(r"(x{10}){10}").is_ok());
    }
}
