//! Findings moved from the path a blob was scanned under to another path holding the same
//! bytes. History and range scans read each distinct blob once however many paths hold
//! it; what the scan of one path says about another depends on everything in the scan that
//! looks at the path: path allowlists, rules limited to some paths, generated files and
//! lockfile checksum fields.

use crate::finding::{fingerprint, Finding};
use crate::scanner::{ScanInput, Scanner};
use crate::{generated, lockfile};

/// Everything a scan's outcome depends on besides the bytes and the commit: two paths with
/// the same context give the same findings for the same bytes.
#[derive(Debug, PartialEq, Eq)]
struct PathContext {
    allowed: bool,
    generated: bool,
    lockfile: bool,
    /// Per rule with a path pattern or path allowlists, and per global allowlist with
    /// paths: whether the path matches.
    path_patterns: Vec<bool>,
}

impl Scanner {
    fn path_context(&self, path: &str, bytes: &[u8]) -> PathContext {
        let rules = self.rules();
        let mut path_patterns = Vec::new();
        for rule in &rules.rules {
            if rule.path.is_some() {
                path_patterns.push(rule.applies_to_path(Some(path)));
            }
            for a in rule.allowlists.iter().filter(|a| !a.paths.is_empty()) {
                path_patterns.push(a.matches_path(path));
            }
        }
        for a in rules
            .global_allowlists
            .iter()
            .filter(|a| !a.paths.is_empty())
        {
            path_patterns.push(a.matches_path(path));
        }
        PathContext {
            allowed: rules.is_path_allowed(path),
            generated: generated::is_generated(path, bytes),
            lockfile: lockfile::is_lockfile(path),
            path_patterns,
        }
    }

    /// `found`, the findings of the bytes of `to` scanned under path `from`, as they stand
    /// at `to.path`. When nothing path-dependent differs between the two paths, the
    /// findings move over (new path, new fingerprint); otherwise `to` is scanned afresh
    /// (with its own commit), so a blob first seen as `app.min.js` or `Cargo.lock` still
    /// reports its secrets as `app.js` or `notes.toml`, and the other way round.
    pub fn relocate(&self, found: &[Finding], from: &str, to: ScanInput<'_>) -> Vec<Finding> {
        if from == to.path {
            return found.to_vec();
        }
        if self.path_context(from, to.bytes) != self.path_context(to.path, to.bytes) {
            return self.scan(to);
        }
        let to = to.path;
        found
            .iter()
            .map(|f| {
                let mut moved = f.clone();
                moved.path = to.to_owned();
                moved.fingerprint = fingerprint(&moved.rule_id, to, moved.secret.as_bytes());
                moved
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sg_rules::RuleSet;
    use std::path::Path;

    const RULES: &str = r#"
[[rules]]
id = "demo-token"
description = "Demo token"
regex = '''\b(dtk_[A-Za-z0-9]{20})\b'''
keywords = ["dtk_"]

[[rules]]
id = "generic-assign"
description = "Generic assignment"
regex = '''gtk\s*=\s*"([A-Za-z0-9]{16,})"'''
secretGroup = 1
keywords = ["gtk"]
tags = ["generic"]

[[rules]]
id = "conf-only"
description = "Token in a .conf file"
regex = '''\b(ctk_[A-Za-z0-9]{20})\b'''
keywords = ["ctk_"]
path = '''\.conf$'''

[allowlist]
paths = ['''(?:^|/)fixtures/''']
"#;

    fn scanner() -> Scanner {
        Scanner::new(RuleSet::from_config_text(RULES, Path::new("t.toml")).expect("config"))
    }

    fn relocated(s: &Scanner, bytes: &[u8], from: &str, to: &str) -> Vec<(String, usize)> {
        let input = ScanInput {
            path: from,
            bytes,
            commit: None,
        };
        let found = s.scan(input);
        s.relocate(&found, from, ScanInput { path: to, ..input })
            .into_iter()
            .map(|f| {
                assert_eq!(f.path, to);
                assert!(f.fingerprint.starts_with(&format!("{}:{to}:", f.rule_id)));
                (f.rule_id, f.line)
            })
            .collect()
    }

    #[test]
    fn same_context_moves_findings_and_a_checksum_field_only_counts_in_a_lockfile() {
        let s = scanner();
        let text = b"checksum = \"dtk_Ab3De6Gh9Jk2Mn5Pq8St\"\n";
        assert_eq!(
            relocated(&s, text, "a/one.toml", "b/two.toml"),
            vec![("demo-token".to_owned(), 1)]
        );
        assert!(relocated(&s, text, "notes.toml", "Cargo.lock").is_empty());
        assert_eq!(
            relocated(&s, text, "Cargo.lock", "notes.toml"),
            vec![("demo-token".to_owned(), 1)]
        );
    }

    #[test]
    fn generated_content_and_allowlisted_paths() {
        let s = scanner();
        // A short file is not generated whatever its name: moved as it is.
        let text = b"var t = \"dtk_Ab3De6Gh9Jk2Mn5Pq8St\";\n";
        assert_eq!(
            relocated(&s, text, "src/app.js", "dist/app.min.js").len(),
            1
        );
        assert!(relocated(&s, text, "src/app.js", "fixtures/app.js").is_empty());
        assert_eq!(
            relocated(&s, text, "fixtures/app.js", "src/app.js").len(),
            1
        );
        // One long line: minified as a script (generic rules stay out), plain text elsewhere.
        let long = format!(
            "var t = \"dtk_Ab3De6Gh9Jk2Mn5Pq8St\"; gtk = \"Zq8vLm3Rt6Yp1Wk4\";{}\n",
            " ".repeat(2000)
        );
        let ids = |v: Vec<(String, usize)>| v.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
        assert_eq!(
            ids(relocated(&s, long.as_bytes(), "bundle.txt", "bundle.js")),
            vec!["demo-token"]
        );
        assert_eq!(
            ids(relocated(&s, long.as_bytes(), "bundle.js", "bundle.txt")),
            vec!["demo-token", "generic-assign"]
        );
    }

    #[test]
    fn rules_limited_to_some_paths_follow_the_new_path() {
        let s = scanner();
        let text = b"token ctk_Ab3De6Gh9Jk2Mn5Pq8St\n";
        assert_eq!(
            relocated(&s, text, "app.conf", "other.conf"),
            vec![("conf-only".to_owned(), 1)]
        );
        assert!(relocated(&s, text, "app.conf", "app.txt").is_empty());
        assert_eq!(relocated(&s, text, "app.txt", "app.conf").len(), 1);
    }
}
