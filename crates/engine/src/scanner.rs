//! The two-stage scan of one input: keyword prefilter, then rule regexes over windows.

use crate::finding::{fingerprint, Finding};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use sg_rules::{Rule, RuleSet};
use std::collections::HashMap;
use std::ops::Range;

/// How far past a keyword hit a rule's regex may reach, before extending to the line end.
/// Large enough for a PEM private key body after its `-----BEGIN` keyword.
const WINDOW_AFTER: usize = 8 * 1024;
/// How far before a keyword hit a rule's regex may start, before extending to the line start.
/// Covers patterns whose keyword sits after the secret (`"AKIA…" # aws`).
const WINDOW_BEFORE: usize = 256;

/// Inline markers that suppress a finding on their line.
const ALLOW_MARKERS: &[&[u8]] = &[
    b"secrets-guard:allow",
    b"gitleaks:allow",
    b"pragma: allowlist secret",
];

/// One input to scan.
#[derive(Debug, Clone, Copy)]
pub struct ScanInput<'a> {
    /// `/`-separated, as it should appear in findings.
    pub path: &'a str,
    pub bytes: &'a [u8],
    /// The commit the input comes from, for commit allowlists.
    pub commit: Option<&'a str>,
}

/// A compiled scanner: rules plus the keyword automaton. Cheap to share across threads.
#[derive(Debug)]
pub struct Scanner {
    rules: RuleSet,
    keywords: AhoCorasick,
    /// For each automaton pattern, the rules that list it as a keyword.
    rules_by_keyword: Vec<Vec<usize>>,
    /// Rules with no keywords: they run over every input.
    keywordless: Vec<usize>,
}

impl Scanner {
    pub fn new(rules: RuleSet) -> Scanner {
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut rules_by_keyword: Vec<Vec<usize>> = Vec::new();
        let mut keywordless = Vec::new();
        for (rule_index, rule) in rules.rules.iter().enumerate() {
            if rule.skip_report {
                continue;
            }
            if rule.keywords.is_empty() {
                keywordless.push(rule_index);
                continue;
            }
            for kw in &rule.keywords {
                let slot = *index.entry(kw.clone()).or_insert_with(|| {
                    patterns.push(kw.clone());
                    rules_by_keyword.push(Vec::new());
                    patterns.len() - 1
                });
                if !rules_by_keyword[slot].contains(&rule_index) {
                    rules_by_keyword[slot].push(rule_index);
                }
            }
        }
        let keywords = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            // Keywords are plain strings; the builder only fails past its size limits,
            // which thousands of short keywords do not reach.
            .unwrap_or_else(|_| {
                AhoCorasick::new(Vec::<String>::new()).expect("an empty automaton builds")
            });
        Scanner {
            rules,
            keywords,
            rules_by_keyword,
            keywordless,
        }
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Scans one input. Findings come sorted by position, then rule id.
    pub fn scan(&self, input: ScanInput<'_>) -> Vec<Finding> {
        if self.rules.is_path_allowed(input.path) {
            return Vec::new();
        }
        let bytes = input.bytes;
        // Stage 1: which rules have keyword hits, and where.
        let mut hits: HashMap<usize, Vec<usize>> = HashMap::new();
        for m in self.keywords.find_overlapping_iter(bytes) {
            for &rule_index in &self.rules_by_keyword[m.pattern().as_usize()] {
                hits.entry(rule_index).or_default().push(m.start());
            }
        }
        // Stage 2: each candidate rule's regex over the merged windows around its hits.
        let mut candidates: Vec<(usize, Vec<Range<usize>>)> = hits
            .into_iter()
            .map(|(rule_index, offsets)| (rule_index, windows(bytes, &offsets)))
            .collect();
        candidates.extend(self.keywordless.iter().map(|&i| (i, vec![0..bytes.len()])));
        candidates.sort_by_key(|(i, _)| *i);

        let mut lines = LineIndex::new(bytes);
        let mut findings = Vec::new();
        for (rule_index, rule_windows) in candidates {
            let rule = &self.rules.rules[rule_index];
            if !rule.applies_to_path(Some(input.path)) {
                continue;
            }
            for window in rule_windows {
                let text = &bytes[window.clone()];
                for m in rule.find_matches(text, Some(input.path), input.commit) {
                    let span = window.start + m.span.start..window.start + m.span.end;
                    let secret = window.start + m.secret.start..window.start + m.secret.end;
                    if has_allow_marker(bytes, &span) {
                        continue;
                    }
                    findings.push(self.finding(rule, input.path, bytes, &mut lines, secret, m));
                }
            }
        }
        findings.sort_by(|a, b| {
            (a.line, a.column, &a.rule_id, a.end_line, a.end_column).cmp(&(
                b.line,
                b.column,
                &b.rule_id,
                b.end_line,
                b.end_column,
            ))
        });
        findings.dedup_by(|a, b| {
            a.rule_id == b.rule_id
                && a.line == b.line
                && a.column == b.column
                && a.secret == b.secret
        });
        findings
    }

    fn finding(
        &self,
        rule: &Rule,
        path: &str,
        bytes: &[u8],
        lines: &mut LineIndex,
        secret: Range<usize>,
        m: sg_rules::RuleMatch,
    ) -> Finding {
        let (line, column) = lines.position(bytes, secret.start);
        let (end_line, end_column) = lines.position(bytes, secret.end);
        let secret_bytes = &bytes[secret];
        Finding {
            rule_id: rule.id.clone(),
            description: rule.description.clone(),
            path: path.to_owned(),
            line,
            column,
            end_line,
            end_column,
            secret: String::from_utf8_lossy(secret_bytes).into_owned(),
            fingerprint: fingerprint(&rule.id, path, secret_bytes),
            entropy: m.entropy,
            validated: m.validated,
            environment: m.environment,
            commit: None,
            access: None,
        }
    }
}

/// Merged, line-aligned windows around each keyword hit.
fn windows(bytes: &[u8], offsets: &[usize]) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for &hit in offsets {
        let start = line_start(bytes, hit.saturating_sub(WINDOW_BEFORE));
        let end = line_end(bytes, (hit + WINDOW_AFTER).min(bytes.len()));
        match out.last_mut() {
            Some(last) if start <= last.end => last.end = last.end.max(end),
            _ => out.push(start..end),
        }
    }
    out
}

fn line_start(bytes: &[u8], at: usize) -> usize {
    memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |i| i + 1)
}

fn line_end(bytes: &[u8], at: usize) -> usize {
    memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i)
}

fn has_allow_marker(bytes: &[u8], span: &Range<usize>) -> bool {
    let line = &bytes[line_start(bytes, span.start)..line_end(bytes, span.end)];
    ALLOW_MARKERS
        .iter()
        .any(|m| memchr::memmem::find(line, m).is_some())
}

/// Newline offsets, built on first use: most inputs have no findings.
struct LineIndex {
    newlines: Option<Vec<usize>>,
}

impl LineIndex {
    fn new(_bytes: &[u8]) -> LineIndex {
        LineIndex { newlines: None }
    }

    /// 1-based line and 1-based character column of byte `offset`.
    fn position(&mut self, bytes: &[u8], offset: usize) -> (usize, usize) {
        let newlines = self
            .newlines
            .get_or_insert_with(|| memchr::memchr_iter(b'\n', bytes).collect());
        let line_index = newlines.partition_point(|&nl| nl < offset);
        let start = if line_index == 0 {
            0
        } else {
            newlines[line_index - 1] + 1
        };
        let column = bytes[start..offset]
            .iter()
            .filter(|&&b| b & 0xC0 != 0x80)
            .count()
            + 1;
        (line_index + 1, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scanner(config: &str) -> Scanner {
        Scanner::new(RuleSet::from_config_text(config, Path::new("t.toml")).expect("config"))
    }

    const RULES: &str = r#"
[[rules]]
id = "demo-token"
description = "Demo token"
regex = '''\b(dtk_[A-Za-z0-9]{20})\b'''
keywords = ["dtk_"]
"#;

    #[test]
    fn finds_positions_and_respects_allow_markers() {
        let s = scanner(RULES);
        let text = "first line\n  é x = dtk_Ab3De6Gh9Jk2Mn5Pq8St\ny = dtk_Zb3De6Gh9Jk2Mn5Pq8Sx # secrets-guard:allow\n";
        let found = s.scan(ScanInput {
            path: "a.txt",
            bytes: text.as_bytes(),
            commit: None,
        });
        assert_eq!(found.len(), 1, "{found:?}");
        let f = &found[0];
        assert_eq!((f.line, f.column), (2, 9));
        assert_eq!((f.end_line, f.end_column), (2, 33));
        assert_eq!(f.secret, "dtk_Ab3De6Gh9Jk2Mn5Pq8St");
        assert!(f.fingerprint.starts_with("demo-token:a.txt:"));
    }

    #[test]
    fn keyword_prefilter_is_case_insensitive_and_rules_need_hits() {
        let s = scanner(RULES);
        // The regex is case-sensitive; the keyword match is not, so the rule runs and finds nothing.
        assert!(s
            .scan(ScanInput {
                path: "a",
                bytes: b"DTK_Ab3De6Gh9Jk2Mn5Pq8St",
                commit: None
            })
            .is_empty());
        assert_eq!(
            s.scan(ScanInput {
                path: "a",
                bytes: b"x dtk_Ab3De6Gh9Jk2Mn5Pq8St",
                commit: None
            })
            .len(),
            1
        );
    }

    #[test]
    fn windows_merge_and_align_to_lines() {
        let text = b"aaa\nbbb key ccc\nddd\n";
        let w = windows(text, &[8, 9]);
        assert_eq!(w, vec![0..text.len()]);
    }
}
