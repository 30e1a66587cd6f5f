//! The two-stage scan of one input: keyword prefilter, then rule regexes over windows.

use crate::finding::{fingerprint, Finding};
use crate::memo::{self, ContentMemo};
use crate::{decode, generated, lockfile};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use sg_rules::{Rule, RuleSet};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// How far past a keyword hit a multi-line rule's regex may reach, before extending to the
/// line end. Large enough for a PEM private key body after its `-----BEGIN` keyword.
const WINDOW_AFTER_MULTILINE: usize = 8 * 1024;
/// How far past a keyword hit a single-line rule's regex may reach, before extending to the
/// line end: the rest of the hit's line always, and the next lines only for the odd
/// `key =\n  value` that a `\s*` lets a pattern span.
const WINDOW_AFTER: usize = 256;
/// How far before a keyword hit a multi-line rule's regex may start, before extending to the
/// line start. Single-line rules start at the hit's line start, which already covers
/// patterns whose keyword sits after the secret (`"AKIA…" # aws`).
const WINDOW_BEFORE: usize = 256;

/// How far from a hit the scanner looks for the start or end of its line. Line-aligned
/// windows keep single-line rules cheap on ordinary text, but on a 10 MB one-line JSON
/// export every hit would otherwise search the whole line, in both directions: quadratic.
/// Past this, a window starts or ends mid-line, so a match must lie within this distance of
/// its keyword on very long lines (the default rules' matches are far shorter).
const LINE_REACH: usize = 4 * 1024;

/// After this many bytes scanned, the keyword DFA is built: about 2 ms of build time,
/// which the DFA's faster search repays within a few MB.
const DFA_AFTER: u64 = 4 << 20;

/// The case-insensitive keyword automaton. The overlapping search this scanner needs
/// cannot use a prefilter, so the automaton's own speed is the speed.
fn keyword_automaton(patterns: &[String], kind: AhoCorasickKind) -> AhoCorasick {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(Some(kind))
        .build(patterns)
        // Keywords are plain strings; the builder only fails past its size limits,
        // which thousands of short keywords do not reach.
        .unwrap_or_else(|_| {
            AhoCorasick::new(Vec::<String>::new()).expect("an empty automaton builds")
        })
}

/// The tag of rules that find credentials by their surroundings, not by their format.
const GENERIC_TAG: &str = "generic";

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
    /// The keyword automaton as a contiguous NFA: builds in a third of the DFA's time,
    /// which is most of what a one-file scan (a pre-commit hook) pays for it.
    keywords: AhoCorasick,
    /// The same automaton as a full DFA (one table lookup per byte), built once the
    /// scanner has read enough for its build time to pay off.
    keywords_dfa: OnceLock<AhoCorasick>,
    keyword_patterns: Vec<String>,
    /// Bytes scanned so far, which decides when to build `keywords_dfa`.
    scanned: AtomicU64,
    /// For each automaton pattern, the rules that list it as a keyword.
    rules_by_keyword: Vec<Vec<usize>>,
    /// Rules with no keywords: they run over every input.
    keywordless: Vec<usize>,
    /// No keyword holds a line end, so a [`ContentMemo`] may remember hits per chunk.
    chunkable_keywords: bool,
    /// Rules with a path pattern and no regex: they report the file itself.
    path_only: Vec<usize>,
    /// Per rule: how far around a keyword hit its regex must look. Worked out the first
    /// time the rule has a hit: it parses the pattern, which for every default rule would
    /// cost a short scan more than the scan itself.
    reach: Vec<OnceLock<Reach>>,
    /// Per rule: tagged `generic`, so it yields to a provider rule finding the same secret.
    generic: Vec<bool>,
    /// What the scans so far have cost, for tests that bound the work on hostile input.
    work: WorkCounters,
}

/// The work a scanner has done: how often rule regexes ran and over how many bytes, and
/// how many bytes were searched for line boundaries and allow markers. Tests bound these
/// instead of timing, so a quadratic path shows up on any machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    pub regex_runs: u64,
    pub regex_bytes: u64,
    pub line_bytes: u64,
}

#[derive(Debug, Default)]
struct WorkCounters {
    regex_runs: AtomicU64,
    regex_bytes: AtomicU64,
    line_bytes: AtomicU64,
}

impl Scanner {
    pub fn new(rules: RuleSet) -> Scanner {
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut rules_by_keyword: Vec<Vec<usize>> = Vec::new();
        let mut keywordless = Vec::new();
        let mut path_only = Vec::new();
        let reach = rules.rules.iter().map(|_| OnceLock::new()).collect();
        let generic = rules
            .rules
            .iter()
            .map(|r| r.tags.iter().any(|t| t == GENERIC_TAG))
            .collect();
        for (rule_index, rule) in rules.rules.iter().enumerate() {
            if rule.skip_report {
                continue;
            }
            if rule.is_path_only() {
                path_only.push(rule_index);
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
        let keywords = keyword_automaton(&patterns, AhoCorasickKind::ContiguousNFA);
        let chunkable_keywords = patterns.iter().all(|p| !p.contains('\n'));
        Scanner {
            rules,
            keywords,
            keywords_dfa: OnceLock::new(),
            keyword_patterns: patterns,
            scanned: AtomicU64::new(0),
            rules_by_keyword,
            keywordless,
            chunkable_keywords,
            path_only,
            reach,
            generic,
            work: WorkCounters::default(),
        }
    }

    /// The work done by every scan so far.
    pub fn work(&self) -> Work {
        Work {
            regex_runs: self.work.regex_runs.load(Ordering::Relaxed),
            regex_bytes: self.work.regex_bytes.load(Ordering::Relaxed),
            line_bytes: self.work.line_bytes.load(Ordering::Relaxed),
        }
    }

    /// The automaton for an input of `len` bytes: the DFA once the scanner has read
    /// [`DFA_AFTER`] bytes in all, the NFA before.
    fn automaton(&self, len: usize) -> &AhoCorasick {
        if let Some(dfa) = self.keywords_dfa.get() {
            return dfa;
        }
        let before = self.scanned.fetch_add(len as u64, Ordering::Relaxed);
        if before + len as u64 >= DFA_AFTER {
            return self
                .keywords_dfa
                .get_or_init(|| keyword_automaton(&self.keyword_patterns, AhoCorasickKind::DFA));
        }
        &self.keywords
    }

    fn reach(&self, rule_index: usize) -> Reach {
        *self.reach[rule_index].get_or_init(|| {
            self.rules.rules[rule_index]
                .regex
                .as_ref()
                .map_or(Reach::default(), |re| Reach::of(re.as_str()))
        })
    }

    /// Findings of the rules that match on the file name alone (`*.p12`, key stores):
    /// they hold whatever the content is, so callers that skip a file's content (binary,
    /// too large) still report them.
    pub fn path_findings(&self, path: &str) -> Vec<Finding> {
        if self.rules.is_path_allowed(path) {
            return Vec::new();
        }
        let mut lines = LineIndex::default();
        self.path_only
            .iter()
            .map(|&i| &self.rules.rules[i])
            .filter(|rule| rule.applies_to_path(Some(path)))
            .map(|rule| self.finding(rule, path, &[], &mut lines, 0..0, None))
            .collect()
    }

    /// Every distinct keyword the prefilter looks for, lower-cased, in rule order.
    pub fn keywords(&self) -> Vec<&str> {
        let mut seen = std::collections::HashSet::new();
        self.rules
            .rules
            .iter()
            .filter(|r| !r.skip_report)
            .flat_map(|r| r.keywords.iter().map(String::as_str))
            .filter(|k| seen.insert(*k))
            .collect()
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Scans one input. Findings come sorted by position, then rule id. Generated files
    /// (source maps, minified bundles, judged by content) are scanned by the rules that
    /// know a credential's format only, and matches inside lockfile checksum fields are
    /// dropped.
    pub fn scan(&self, input: ScanInput<'_>) -> Vec<Finding> {
        self.scan_with(input, None)
    }

    /// [`Scanner::scan`], remembering in `memo` what the bytes alone decide, for the other
    /// inputs of the same scan (the versions of a file across a history share most of
    /// their lines). The findings are the same as without it.
    pub fn scan_with(&self, input: ScanInput<'_>, memo: Option<&ContentMemo>) -> Vec<Finding> {
        if self.rules.is_path_allowed(input.path) {
            return Vec::new();
        }
        let generated = generated::is_generated(input.path, input.bytes);
        let mut encoded = None;
        let mut findings = self.scan_text(input, generated, true, memo, &mut encoded);
        let decoded = self.decoded_findings(input, generated, 1, encoded.as_deref());
        if !decoded.is_empty() {
            findings.extend(decoded);
            sort_findings(&mut findings);
        }
        findings
    }

    /// Findings inside the encoded segments of `input` (see [`crate::decode`]), at the
    /// segments' places in `input`.
    fn decoded_findings(
        &self,
        input: ScanInput<'_>,
        generated: bool,
        depth: usize,
        within: Option<&[Range<usize>]>,
    ) -> Vec<Finding> {
        if generated {
            // Bundles and source maps are base64 and escapes through and through.
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut lines = LineIndex::default();
        let segments = match within {
            Some(ranges) => decode::segments_within(input.bytes, ranges),
            None => decode::segments(input.bytes),
        };
        for segment in segments {
            let inner = ScanInput {
                bytes: &segment.text,
                ..input
            };
            let mut found = self.scan_text(inner, false, false, None, &mut None);
            if depth < decode::MAX_DEPTH {
                found.extend(self.decoded_findings(inner, false, depth + 1, None));
            }
            if found.is_empty() {
                continue;
            }
            let (line, column) = lines.position(input.bytes, segment.span.start);
            let (end_line, end_column) = lines.position(input.bytes, segment.span.end);
            for mut f in found {
                f.line = line;
                f.column = column;
                f.end_line = end_line;
                f.end_column = end_column;
                f.decoded.insert(0, segment.encoding.name().to_owned());
                out.push(f);
            }
        }
        out
    }

    /// The two-stage scan of plain text. `with_path_findings`: also report the rules that
    /// match on the file name (once per input, not again for its decoded segments).
    fn scan_text(
        &self,
        input: ScanInput<'_>,
        generated: bool,
        with_path_findings: bool,
        memo: Option<&ContentMemo>,
        encoded: &mut Option<Vec<Range<usize>>>,
    ) -> Vec<Finding> {
        let bytes = input.bytes;
        let mut lines = LineIndex::default();
        // Path-only findings have an empty secret span: they never overlap another finding.
        let mut findings: Vec<(Range<usize>, bool, Finding)> = if with_path_findings {
            self.path_findings(input.path)
                .into_iter()
                .map(|f| (0..0, false, f))
                .collect()
        } else {
            Vec::new()
        };
        // Stage 1: which rules have keyword hits, and the merged windows around them.
        // Windows grow as hits arrive, so a hit inside the current window costs one
        // comparison: dense keywords (`token`, `://`) never pile up offsets to sort.
        let mut slot_of: Vec<u32> = Vec::new();
        let mut candidates: Vec<(usize, Vec<Range<usize>>)> = Vec::new();
        // (start, keyword index), in the order of the automaton's overlapping search:
        // straight from the automaton, or collected chunk by chunk through the memo.
        let mut remembered = Vec::new();
        let direct = match memo.filter(|_| self.chunkable_keywords) {
            Some(memo) => {
                self.memoized_keyword_hits(bytes, memo, &mut remembered, encoded);
                None
            }
            None => Some(
                self.automaton(bytes.len())
                    .find_overlapping_iter(bytes)
                    .map(|m| (m.start(), m.pattern().as_usize())),
            ),
        };
        for (hit, pattern) in direct.into_iter().flatten().chain(remembered) {
            for &rule_index in &self.rules_by_keyword[pattern] {
                if slot_of.is_empty() {
                    slot_of = vec![u32::MAX; self.rules.rules.len()];
                }
                let slot = match slot_of[rule_index] {
                    u32::MAX => {
                        slot_of[rule_index] = candidates.len() as u32;
                        candidates.push((rule_index, Vec::new()));
                        candidates.len() - 1
                    }
                    s => s as usize,
                };
                let reach = self.reach(rule_index);
                let rule_windows = &mut candidates[slot].1;
                if let Some(last) = rule_windows.last() {
                    if hit >= last.start && hit + reach.after <= last.end {
                        continue;
                    }
                }
                add_window(rule_windows, window(bytes, hit, reach, &mut lines));
            }
        }
        if candidates.is_empty() && self.keywordless.is_empty() {
            self.count_lines(lines.examined);
            return findings.into_iter().map(|(_, _, f)| f).collect();
        }
        candidates.extend(
            self.keywordless
                .iter()
                .map(|&i| (i, std::iter::once(0..bytes.len()).collect())),
        );
        candidates.sort_by_key(|(i, _)| *i);

        let is_lockfile = lockfile::is_lockfile(input.path);
        for (rule_index, rule_windows) in candidates {
            let rule = &self.rules.rules[rule_index];
            if generated && self.generic[rule_index] {
                continue;
            }
            if !rule.applies_to_path(Some(input.path)) {
                continue;
            }
            for window in rule_windows {
                let text = &bytes[window.clone()];
                let remembered = memo.map(|memo| (memo, memo.window_key(rule_index, text)));
                if let Some((memo, key)) = remembered {
                    if memo.known_empty_window(key) {
                        continue;
                    }
                }
                self.work.regex_runs.fetch_add(1, Ordering::Relaxed);
                self.work
                    .regex_bytes
                    .fetch_add(text.len() as u64, Ordering::Relaxed);
                let (matches, regex_matched) =
                    rule.find_matches_checked(text, Some(input.path), input.commit);
                if !regex_matched {
                    if let Some((memo, key)) = remembered {
                        memo.remember_empty_window(key);
                    }
                }
                for m in matches {
                    let span = window.start + m.span.start..window.start + m.span.end;
                    let secret = window.start + m.secret.start..window.start + m.secret.end;
                    let line = lines.start_near(bytes, span.start)..lines.end_near(bytes, span.end);
                    if has_allow_marker(&bytes[line.clone()]) {
                        continue;
                    }
                    if is_lockfile
                        && lockfile::in_checksum_field(
                            &bytes[line.clone()],
                            span.start - line.start,
                        )
                    {
                        continue;
                    }
                    let finding =
                        self.finding(rule, input.path, bytes, &mut lines, secret.clone(), Some(m));
                    findings.push((secret, self.generic[rule_index], finding));
                }
            }
        }
        self.count_lines(lines.examined);
        let mut findings = Self::drop_generic_duplicates(findings);
        sort_findings(&mut findings);
        findings
    }

    /// Every keyword occurrence in `bytes` as (start, keyword index), in the order of the
    /// automaton's overlapping search, chunk by chunk, each chunk's hits read from the memo
    /// when its bytes were seen before. `encoded` is set to the chunks that hold encoded
    /// segments, so that only those are decoded.
    fn memoized_keyword_hits(
        &self,
        bytes: &[u8],
        memo: &ContentMemo,
        hits: &mut Vec<(usize, usize)>,
        encoded: &mut Option<Vec<Range<usize>>>,
    ) {
        let encoded = encoded.get_or_insert_with(Vec::new);
        for chunk in memo::chunks(bytes) {
            let text = &bytes[chunk.clone()];
            let key = memo.chunk_key(text);
            let at = chunk.start;
            let mut holds_encoded = false;
            if memo.with_chunk(key, |known| {
                hits.extend(
                    known
                        .hits
                        .iter()
                        .map(|&(offset, pattern)| (at + offset as usize, pattern as usize)),
                );
                holds_encoded = known.encoded;
            }) {
                if holds_encoded {
                    encoded.push(chunk);
                }
                continue;
            }
            let first = hits.len();
            hits.extend(
                self.automaton(text.len())
                    .find_overlapping_iter(text)
                    .map(|m| (at + m.start(), m.pattern().as_usize())),
            );
            let holds_encoded = !decode::segments(text).is_empty();
            if u32::try_from(text.len()).is_ok() {
                memo.remember_chunk(
                    key,
                    hits[first..]
                        .iter()
                        .map(|&(start, pattern)| ((start - at) as u32, pattern as u32)),
                    holds_encoded,
                );
            }
            if holds_encoded {
                encoded.push(chunk);
            }
        }
    }

    fn count_lines(&self, bytes: u64) {
        self.work.line_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// One finding per secret: a generic rule's finding whose secret overlaps a provider
    /// rule's is dropped, since the provider rule says more (which service, validation).
    /// Two provider rules on the same secret both stay: neither is a fallback for the other.
    /// Each finding comes with its secret's byte span and whether its rule is generic.
    fn drop_generic_duplicates(findings: Vec<(Range<usize>, bool, Finding)>) -> Vec<Finding> {
        let mut specific: Vec<Range<usize>> = findings
            .iter()
            .filter(|(span, generic, _)| !span.is_empty() && !generic)
            .map(|(span, _, _)| span.clone())
            .collect();
        if specific.is_empty() || specific.len() == findings.len() {
            return findings.into_iter().map(|(_, _, f)| f).collect();
        }
        specific.sort_by_key(|r| (r.start, r.end));
        // Merged and sorted, so one binary search answers "does anything overlap?".
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(specific.len());
        for r in specific {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        let overlaps_specific = |span: &Range<usize>| {
            let i = merged.partition_point(|m| m.end <= span.start);
            merged.get(i).is_some_and(|m| m.start < span.end)
        };
        findings
            .into_iter()
            .filter(|(span, generic, _)| span.is_empty() || !generic || !overlaps_specific(span))
            .map(|(_, _, f)| f)
            .collect()
    }

    fn finding(
        &self,
        rule: &Rule,
        path: &str,
        bytes: &[u8],
        lines: &mut LineIndex,
        secret: Range<usize>,
        m: Option<sg_rules::RuleMatch>,
    ) -> Finding {
        // A path-only rule's finding is the file itself: no secret, no position inside it.
        let (entropy, validated, environment) = match m {
            Some(m) => (m.entropy, m.validated, m.environment),
            None => (0.0, false, None),
        };
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
            entropy,
            validated,
            environment,
            commit: None,
            access: None,
            decoded: Vec::new(),
            path_bytes: None,
        }
    }
}

/// Sorted by position, then rule id; the same secret found twice at one place by one rule
/// once.
fn sort_findings(findings: &mut Vec<Finding>) {
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
        a.rule_id == b.rule_id && a.line == b.line && a.column == b.column && a.secret == b.secret
    });
}

/// Whether a regex is written to match across lines (a PEM body, `(?s)` dot-all, an
/// explicit newline). Other rules get narrow windows, which keeps dense keywords such as
/// `key` or `token` from making every rule re-read whole files.
fn spans_lines(pattern: &str) -> bool {
    ["[\\s\\S", "[\\S\\s", "(?s", "\\n", "\\r", "-----"]
        .iter()
        .any(|marker| pattern.contains(marker))
}

/// How far around a keyword hit a rule's regex must look. A match holds its keyword, so it
/// starts on the hit's line (or, for a pattern that spans lines, at most `before` bytes
/// earlier) and ends at most `after` bytes past the hit; windows are then widened to whole
/// lines, which also covers rules whose keyword sits elsewhere on the secret's line.
/// A single-line rule's window also stops at the end of the line after the hit's: its
/// pattern can cross a newline only through a `\s`, as in a YAML `password:` with the value
/// on the next line. That keeps dense generic keywords (`token`, `secret`) from dragging
/// every rule over the eight lines around each hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reach {
    before: usize,
    after: usize,
    multiline: bool,
}

impl Default for Reach {
    fn default() -> Reach {
        Reach {
            before: 0,
            after: WINDOW_AFTER,
            multiline: false,
        }
    }
}

impl Reach {
    fn of(pattern: &str) -> Reach {
        let multiline = spans_lines(pattern);
        let longest = max_match_len(pattern);
        let fallback = if multiline {
            WINDOW_AFTER_MULTILINE
        } else {
            WINDOW_AFTER
        };
        let after = longest.unwrap_or(fallback).min(WINDOW_AFTER_MULTILINE);
        let before = if multiline {
            longest.unwrap_or(WINDOW_BEFORE).min(WINDOW_BEFORE)
        } else {
            0
        };
        Reach {
            before,
            after,
            multiline,
        }
    }
}

/// The longest match `pattern` can make, in bytes, if bounded.
fn max_match_len(pattern: &str) -> Option<usize> {
    let parse = |unicode: bool| {
        regex_syntax::ParserBuilder::new()
            .unicode(unicode)
            .utf8(false)
            .build()
            .parse(pattern)
            .ok()
    };
    let hir = parse(false).or_else(|| parse(true))?;
    hir.properties().maximum_len()
}

/// How far a line boundary is first looked for byte by byte; past this, the newline index
/// (built once per input) answers instead, so a long line is never searched again per hit.
const LOCAL_SEARCH: usize = 256;

/// The line-aligned window around one hit; on a line longer than [`LINE_REACH`] either
/// side of the hit, the window stops at that distance instead.
fn window(bytes: &[u8], hit: usize, reach: Reach, lines: &mut LineIndex) -> Range<usize> {
    let start = lines.start_near(bytes, hit.saturating_sub(reach.before));
    let far = hit.saturating_add(reach.after).min(bytes.len());
    let mut end = lines.end_near(bytes, far);
    if !reach.multiline {
        let hit_line_end = lines.end_near(bytes, hit.min(bytes.len()));
        if hit_line_end < end {
            end = lines.end_near(bytes, (hit_line_end + 1).min(bytes.len()));
        }
    }
    start..end
}

/// Adds `w` to windows kept merged. Hits arrive nearly in order (an overlapping search
/// reports them by end), so only the last window needs merging with.
fn add_window(windows: &mut Vec<Range<usize>>, w: Range<usize>) {
    match windows.last_mut() {
        Some(last) if w.start <= last.end && w.end >= last.start => {
            last.start = last.start.min(w.start);
            last.end = last.end.max(w.end);
        }
        _ => windows.push(w),
    }
}

/// Merged, line-aligned windows around each keyword hit.
#[cfg(test)]
fn windows(bytes: &[u8], offsets: impl Iterator<Item = usize>, after: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for hit in offsets {
        let reach = Reach {
            before: 0,
            after,
            multiline: false,
        };
        add_window(
            &mut out,
            window(bytes, hit, reach, &mut LineIndex::default()),
        );
    }
    out
}

fn has_allow_marker(line: &[u8]) -> bool {
    ALLOW_MARKERS
        .iter()
        .any(|m| memchr::memmem::find(line, m).is_some())
}

/// Newline offsets, built on first use: most inputs have no findings, and most line
/// boundaries are found within a few bytes without it. Columns are counted on from the
/// last position asked for when it is on the same line and not further on, so many
/// findings on one long line cost one pass over it, not one pass each.
#[derive(Default)]
struct LineIndex {
    newlines: Option<Vec<usize>>,
    /// The last line end found by a search: no newline in `from..end`, one at `end`. The
    /// windows of several rules around one keyword hit ask for the same line.
    last_end: Option<(usize, usize)>,
    /// The last line start found by a search: a newline (or the input's start) just
    /// before `start`, none in `start..upto`.
    last_start: Option<(usize, usize)>,
    /// The last position worked out: byte offset, line index, 1-based column.
    last: Option<(usize, usize, usize)>,
    /// Bytes searched for line boundaries and counted over for columns, for [`Work`].
    examined: u64,
}

impl LineIndex {
    fn newlines(&mut self, bytes: &[u8]) -> &[usize] {
        if self.newlines.is_none() {
            self.examined += bytes.len() as u64;
        }
        self.newlines
            .get_or_insert_with(|| memchr::memchr_iter(b'\n', bytes).collect())
    }

    /// The start of the line holding `at`, or `at - LINE_REACH` if that is nearer.
    fn start_near(&mut self, bytes: &[u8], at: usize) -> usize {
        let floor = at.saturating_sub(LINE_REACH);
        if let Some((start, upto)) = self.last_start {
            if start <= at && at <= upto {
                return start.max(floor);
            }
        }
        let near = at.saturating_sub(LOCAL_SEARCH).max(floor);
        if let Some(i) = memchr::memrchr(b'\n', &bytes[near..at]) {
            self.examined += (at - near - i) as u64;
            self.last_start = Some((near + i + 1, at));
            return near + i + 1;
        }
        self.examined += (at - near) as u64;
        if near == floor {
            return floor;
        }
        let newlines = self.newlines(bytes);
        let i = newlines.partition_point(|&nl| nl < at);
        match i.checked_sub(1).map(|j| newlines[j]) {
            Some(nl) => (nl + 1).max(floor),
            None => floor,
        }
    }

    /// The end of the line holding `at`, or `at + LINE_REACH` if that is nearer.
    fn end_near(&mut self, bytes: &[u8], at: usize) -> usize {
        let ceiling = at.saturating_add(LINE_REACH).min(bytes.len());
        if let Some((from, end)) = self.last_end {
            if from <= at && at <= end {
                return end.min(ceiling);
            }
        }
        let near = at.saturating_add(LOCAL_SEARCH).min(ceiling);
        if let Some(i) = memchr::memchr(b'\n', &bytes[at..near]) {
            self.examined += i as u64;
            self.last_end = Some((at, at + i));
            return at + i;
        }
        self.examined += (near - at) as u64;
        if near == ceiling {
            return ceiling;
        }
        let newlines = self.newlines(bytes);
        let i = newlines.partition_point(|&nl| nl < at);
        newlines.get(i).map_or(ceiling, |&nl| nl.min(ceiling))
    }

    /// 1-based line and 1-based character column of byte `offset`.
    fn position(&mut self, bytes: &[u8], offset: usize) -> (usize, usize) {
        let (line_index, start) = {
            let newlines = self.newlines(bytes);
            let line_index = newlines.partition_point(|&nl| nl < offset);
            let start = match line_index {
                0 => 0,
                i => newlines[i - 1] + 1,
            };
            (line_index, start)
        };
        let (from, base) = match self.last {
            Some((at, line, column)) if line == line_index && at <= offset => (at, column - 1),
            _ => (start, 0),
        };
        self.examined += (offset - from) as u64;
        let column = bytes[from..offset]
            .iter()
            .filter(|&&b| b & 0xC0 != 0x80)
            .count()
            + base
            + 1;
        self.last = Some((offset, line_index, column));
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

    #[test]
    fn remembered_line_bounds_answer_as_a_fresh_search_does() {
        // Lines of every length around LOCAL_SEARCH and LINE_REACH, queried in the orders
        // windows ask (the same line for several rules, forwards, backwards, far apart).
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..200 {
            let mut bytes = Vec::new();
            while bytes.len() < 6000 {
                let len = match next(4) {
                    0 => next(8),
                    1 => next(LOCAL_SEARCH * 2),
                    2 => next(LINE_REACH * 2),
                    _ => next(200),
                };
                bytes.extend(std::iter::repeat_n(b'x', len));
                bytes.push(b'\n');
            }
            let mut remembered = LineIndex::default();
            let mut at = next(bytes.len());
            for _ in 0..300 {
                at = match next(3) {
                    0 => at,
                    1 => (at + next(300)).min(bytes.len()),
                    _ => at.saturating_sub(next(300)),
                };
                assert_eq!(
                    remembered.start_near(&bytes, at),
                    LineIndex::default().start_near(&bytes, at),
                    "start_near({at})"
                );
                assert_eq!(
                    remembered.end_near(&bytes, at),
                    LineIndex::default().end_near(&bytes, at),
                    "end_near({at})"
                );
            }
        }
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
        // Both hits share a window: from the hit's line start to the line end past `after`.
        let w = windows(text, [8, 9].into_iter(), WINDOW_AFTER);
        assert_eq!(w, vec![4..text.len() - 1]);
        // At most the line after the hit's line, however far `after` reaches.
        let text = b"aaa\nbbb key ccc\nddd\neee\nfff\n";
        let w = windows(text, [8].into_iter(), WINDOW_AFTER);
        assert_eq!(&text[w[0].clone()], b"bbb key ccc\nddd");
        let w = windows(text, [8, 9].into_iter(), 1);
        assert_eq!(w, vec![4..15]);
    }

    #[test]
    fn path_only_rules_report_the_file_and_lockfile_checksums_do_not_fire() {
        let s = scanner(
            r#"
[[rules]]
id = "keystore"
description = "Java keystore"
path = '''\.jks$'''

[[rules]]
id = "demo-token"
description = "Demo token"
regex = '''\b(dtk_[A-Za-z0-9]{20})\b'''
keywords = ["dtk_"]
"#,
        );
        let found = s.scan(ScanInput {
            path: "conf/app.jks",
            bytes: b"anything",
            commit: None,
        });
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule_id, "keystore");
        assert_eq!((found[0].line, found[0].column), (1, 1));
        assert_eq!(found[0].secret, "");

        let lock =
            b"checksum = \"dtk_Ab3De6Gh9Jk2Mn5Pq8St\"\nnote = \"dtk_Zb3De6Gh9Jk2Mn5Pq8Sx\"\n";
        let found = s.scan(ScanInput {
            path: "Cargo.lock",
            bytes: lock,
            commit: None,
        });
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, 2);
        // The same text outside a lockfile reports both.
        let found = s.scan(ScanInput {
            path: "notes.toml",
            bytes: lock,
            commit: None,
        });
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn multiline_rules_get_wide_windows_and_others_narrow_ones() {
        let s = scanner(
            r#"
[[rules]]
id = "pem"
description = "PEM key"
regex = '''-----BEGIN PRIVATE KEY-----[\s\S]{64,}?-----END PRIVATE KEY-----'''
keywords = ["-----begin"]

[[rules]]
id = "demo-token"
description = "Demo token"
regex = '''\b(dtk_[A-Za-z0-9]{20})\b'''
keywords = ["dtk_"]
"#,
        );
        assert!(
            s.reach.iter().all(|r| r.get().is_none()),
            "reach is worked out on first use"
        );
        assert_eq!(s.reach(0).before, WINDOW_BEFORE);
        assert_eq!(s.reach(0).after, WINDOW_AFTER_MULTILINE);
        // `\b(dtk_[A-Za-z0-9]{20})\b` is at most 24 bytes long.
        assert_eq!(
            s.reach(1),
            Reach {
                before: 0,
                after: 24,
                multiline: false
            }
        );
        assert!(s.reach(0).multiline);
        let body = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkw\n".repeat(40);
        let text = format!("x\n-----BEGIN PRIVATE KEY-----\n{body}-----END PRIVATE KEY-----\n");
        let found = s.scan(ScanInput {
            path: "key.pem",
            bytes: text.as_bytes(),
            commit: None,
        });
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].line, found[0].end_line), (2, 43));
        let w = windows(text.as_bytes(), [2].into_iter(), WINDOW_AFTER);
        assert!(
            w[0].end < text.len() / 2,
            "single-line rules read only nearby lines"
        );
    }

    #[test]
    fn a_value_on_the_line_after_its_key_is_found() {
        let s = scanner(
            r#"
[[rules]]
id = "demo-password"
description = "Demo password"
regex = '''password:[ \t]*\s[ \t]*"([^"\n]{8,})"'''
secretGroup = 1
keywords = ["password"]
"#,
        );
        let text = "a: 1\npassword:\n  \"Tr0ub4dor&3horse\"\nb: 2\nc: 3\n";
        let found = s.scan(ScanInput {
            path: "values.yaml",
            bytes: text.as_bytes(),
            commit: None,
        });
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].line, found[0].column), (3, 4));
    }

    const OVERLAPPING: &str = r#"
[[rules]]
id = "demo-token"
description = "Demo token"
regex = '''\b(dtk_[A-Za-z0-9]{20})\b'''
keywords = ["dtk_"]

[[rules]]
id = "demo-token-v2"
description = "Demo token, second provider rule"
regex = '''\b(dtk_[A-Za-z0-9]{20})\b'''
keywords = ["dtk_"]

[[rules]]
id = "catch-all"
description = "Generic assignment"
regex = '''(?i)token\s*=\s*"([^"]{8,})"'''
secretGroup = 1
keywords = ["token"]
tags = ["generic"]
"#;

    fn rule_ids(found: &[Finding]) -> Vec<(&str, usize)> {
        found.iter().map(|f| (f.rule_id.as_str(), f.line)).collect()
    }

    #[test]
    fn a_generic_rule_yields_to_a_provider_rule_on_the_same_secret() {
        let s = scanner(OVERLAPPING);
        let text = "token = \"dtk_Ab3De6Gh9Jk2Mn5Pq8St\"\ntoken = \"Zq8vLm3Rt6Yp1Wk4\"\n";
        let found = s.scan(ScanInput {
            path: "app.conf",
            bytes: text.as_bytes(),
            commit: None,
        });
        // Line 1: both provider rules stay, the generic one goes; line 2: only generic.
        assert_eq!(
            rule_ids(&found),
            vec![("demo-token", 1), ("demo-token-v2", 1), ("catch-all", 2)]
        );
    }

    #[test]
    fn partial_overlap_also_drops_the_generic_finding_and_order_does_not_matter() {
        // The generic secret holds the provider secret and more: still one secret.
        let s = scanner(OVERLAPPING);
        let text = "token = \"xx dtk_Ab3De6Gh9Jk2Mn5Pq8St\"\n";
        let found = s.scan(ScanInput {
            path: "a",
            bytes: text.as_bytes(),
            commit: None,
        });
        assert_eq!(
            rule_ids(&found),
            vec![("demo-token", 1), ("demo-token-v2", 1)]
        );
        let f = |start: usize, end: usize, generic: bool, id: &str| {
            let mut finding = found[0].clone();
            finding.rule_id = id.to_owned();
            (start..end, generic, finding)
        };
        let forward = Scanner::drop_generic_duplicates(vec![
            f(0, 10, true, "g1"),
            f(5, 8, false, "p"),
            f(10, 20, true, "g2"),
        ]);
        let backward = Scanner::drop_generic_duplicates(vec![
            f(10, 20, true, "g2"),
            f(5, 8, false, "p"),
            f(0, 10, true, "g1"),
        ]);
        let ids = |v: &[Finding]| {
            let mut ids: Vec<String> = v.iter().map(|f| f.rule_id.clone()).collect();
            ids.sort();
            ids
        };
        // `g2` starts past `p`'s span end: touching is not overlapping.
        assert_eq!(ids(&forward), vec!["g2", "p"]);
        assert_eq!(ids(&forward), ids(&backward));
    }

    #[test]
    fn the_keyword_dfa_is_built_only_after_enough_input_and_finds_the_same() {
        let s = scanner(OVERLAPPING);
        let text = "token = \"dtk_Ab3De6Gh9Jk2Mn5Pq8St\"\ntoken = \"Zq8vLm3Rt6Yp1Wk4\"\n";
        let input = ScanInput {
            path: "a.conf",
            bytes: text.as_bytes(),
            commit: None,
        };
        let with_nfa = s.scan(input);
        assert!(s.keywords_dfa.get().is_none(), "a small scan builds no DFA");
        let big = "x".repeat(DFA_AFTER as usize);
        assert!(s
            .scan(ScanInput {
                path: "big.txt",
                bytes: big.as_bytes(),
                commit: None,
            })
            .is_empty());
        assert!(s.keywords_dfa.get().is_some());
        assert_eq!(s.scan(input), with_nfa);
        assert_eq!(with_nfa.len(), 3);
    }

    #[test]
    fn encoded_secrets_are_found_at_the_outer_position_to_depth_two() {
        use base64::Engine;
        let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
        let s = scanner(RULES);
        let inner = "export TOKEN=dtk_Ab3De6Gh9Jk2Mn5Pq8St";
        let once = b64(inner);
        let twice = b64(&once);
        let thrice = b64(&twice);
        let hex: String = inner.bytes().map(|b| format!("{b:02x}")).collect();
        let text = format!("a: 1\nb: {once}\nc: \"{twice}\"\nd: {thrice}\ne: {hex}\n");
        let found = s.scan(ScanInput {
            path: "secret.yaml",
            bytes: text.as_bytes(),
            commit: None,
        });
        let got: Vec<(usize, usize, Vec<String>)> = found
            .iter()
            .map(|f| (f.line, f.column, f.decoded.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, 4, vec!["base64".to_owned()]),
                (3, 5, vec!["base64".to_owned(), "base64".to_owned()]),
                (5, 4, vec!["hex".to_owned()]),
            ]
        );
        assert!(found.iter().all(|f| f.secret == "dtk_Ab3De6Gh9Jk2Mn5Pq8St"));
        assert_eq!(found[0].end_column, 4 + once.len());
    }

    #[test]
    fn path_findings_hold_for_any_content() {
        let s = scanner(
            r#"
[[rules]]
id = "keystore"
description = "Java keystore"
path = '''\.jks$'''
"#,
        );
        let found = s.path_findings("conf/app.jks");
        assert_eq!(rule_ids(&found), vec![("keystore", 1)]);
        assert!(s.path_findings("conf/app.txt").is_empty());
    }
}
