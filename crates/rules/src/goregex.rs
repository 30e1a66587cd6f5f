//! Go RE2 syntax that Rust's `regex` reads differently, rewritten so a gitleaks config
//! compiles as gitleaks means it.
//!
//! - `\Q…\E` quotes a literal in Go; Rust has no such escape.
//! - A `{` that does not start a valid repetition (`{x}`, `a{,3}`, a lone `{`) is a literal
//!   in Go and an error in Rust.
//! - Inside a class, Go reads `[` (other than `[:name:]`) and `&&`/`~~`/`--` as literal
//!   characters; Rust reads them as a nested class and set operations.
//! - A `]` right after `[` or `[^` is a literal in Go; Rust agrees, but it is escaped here
//!   so the class scanner stays in step.
//!
//! Lookaround and backreferences are refused by both engines; [`unsupported_hint`]
//! explains them.

/// Rewrites Go-only syntax of `pattern` into the equivalent Rust syntax.
pub(crate) fn translate(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            match chars.get(i + 1) {
                Some('Q') if !in_class => {
                    let start = i + 2;
                    let mut end = start;
                    while end < chars.len()
                        && !(chars[end] == '\\' && chars.get(end + 1) == Some(&'E'))
                    {
                        end += 1;
                    }
                    let literal: String = chars[start..end].iter().collect();
                    out.push_str(&regex::escape(&literal));
                    // An unterminated `\Q` quotes the rest of the pattern, as in Go.
                    i = (end + 2).min(chars.len());
                }
                Some(&next) => {
                    out.push('\\');
                    out.push(next);
                    i += 2;
                }
                None => {
                    out.push('\\');
                    i += 1;
                }
            }
            continue;
        }
        if in_class {
            match c {
                ']' => {
                    in_class = false;
                    out.push(']');
                }
                '[' if chars.get(i + 1) == Some(&':') => {
                    // `[:alpha:]`: copy through the closing `:]`.
                    let close = (i + 2..chars.len().saturating_sub(1))
                        .find(|&j| chars[j] == ':' && chars[j + 1] == ']');
                    match close {
                        Some(j) => {
                            out.extend(&chars[i..j + 2]);
                            i = j + 2;
                            continue;
                        }
                        None => out.push_str("\\["),
                    }
                }
                '[' => out.push_str("\\["),
                '&' | '~' | '-' if chars.get(i + 1) == Some(&c) => {
                    out.push(c);
                    out.push('\\');
                    out.push(c);
                    i += 2;
                    continue;
                }
                _ => out.push(c),
            }
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
                continue;
            }
            '{' => {
                let len = repetition_len(&chars[i..]);
                let follows_atom = i > 0 && !matches!(chars[i - 1], '(' | '|');
                match len {
                    Some(n) if follows_atom => {
                        out.extend(&chars[i..i + n]);
                        i += n;
                        continue;
                    }
                    _ => out.push_str("\\{"),
                }
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// Length of a valid `{n}`, `{n,}` or `{n,m}` at the start of `s`.
fn repetition_len(s: &[char]) -> Option<usize> {
    let mut i = 1;
    let digits_from = |i: usize| s[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    let n = digits_from(i);
    if n == 0 {
        return None;
    }
    i += n;
    if s.get(i) == Some(&',') {
        i += 1;
        i += digits_from(i);
    }
    (s.get(i) == Some(&'}')).then_some(i + 1)
}

/// A plain-words explanation for syntax neither engine supports, to add to the error.
pub(crate) fn unsupported_hint(pattern: &str) -> Option<&'static str> {
    if ["(?=", "(?!", "(?<=", "(?<!"]
        .iter()
        .any(|p| pattern.contains(p))
    {
        return Some("lookaround is not supported (gitleaks' Go RE2 refuses it too); match the context with a group and use `secretGroup`");
    }
    let bytes = pattern.as_bytes();
    let backref = bytes
        .windows(2)
        .enumerate()
        .any(|(i, w)| w[0] == b'\\' && w[1].is_ascii_digit() && (i == 0 || bytes[i - 1] != b'\\'));
    if backref {
        return Some("backreferences are not supported (gitleaks' Go RE2 refuses them too)");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::bytes::Regex;

    fn compiles_and_matches(go: &str, hay: &str) -> bool {
        let rust = translate(go);
        Regex::new(&rust)
            .unwrap_or_else(|e| panic!("{go} -> {rust}: {e}"))
            .is_match(hay.as_bytes())
    }

    #[test]
    fn quoted_literals() {
        assert_eq!(translate(r"\Qa.b*\E+"), r"a\.b\*+");
        assert!(compiles_and_matches(r"key=\Q${x}\E", "key=${x}"));
        assert!(!compiles_and_matches(r"\Qa.b\E", "axb"));
        assert_eq!(translate(r"\Qopen"), "open");
    }

    #[test]
    fn literal_braces() {
        assert_eq!(translate(r"a{"), r"a\{");
        assert_eq!(translate(r"{x}"), r"\{x}");
        assert_eq!(translate(r"a{,3}"), r"a\{,3}");
        assert_eq!(translate(r"a{2,}b{1,3}c{4}"), r"a{2,}b{1,3}c{4}");
        assert!(compiles_and_matches(r"\${[A-Z_]+}", "${API_KEY}"));
        assert!(compiles_and_matches(r"{{\s*secret\s*}}", "{{ secret }}"));
    }

    #[test]
    fn classes_read_as_go_reads_them() {
        assert_eq!(translate(r"[[]"), r"[\[]");
        assert_eq!(translate(r"[]a]"), r"[\]a]");
        assert_eq!(translate(r"[^]a]"), r"[^\]a]");
        assert_eq!(translate(r"[[:alnum:]_]"), r"[[:alnum:]_]");
        assert!(compiles_and_matches(r"^[a&&b]+$", "a&b"));
        assert!(compiles_and_matches(r"^[a~~]+$", "~a"));
        assert!(compiles_and_matches(r"^[[:alnum:]]{4}$", "aZ09"));
        assert!(compiles_and_matches(r"[\]]", "]"));
        // Escapes keep their meaning and do not end the class.
        assert_eq!(translate(r"[\]{]{2}"), r"[\]{]{2}");
    }

    #[test]
    fn hints_for_unsupported_syntax() {
        assert!(unsupported_hint(r"(?=abc)").is_some());
        assert!(unsupported_hint(r"(a)\1").is_some());
        assert!(unsupported_hint(r"\\1").is_none());
        assert!(unsupported_hint(r"a{2}").is_none());
    }
}
