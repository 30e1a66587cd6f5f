//! Compiling rule files into a [`RuleSet`], and matching one rule against text.

use crate::allowlist::{Allowlist, Candidate};
use crate::entropy::shannon_entropy;
use crate::filekind::FileKind;
use crate::lazy::LazyRegex;
use crate::placeholder::looks_like_placeholder;
use crate::schema::{ConfigFile, Example, Negative, RawAllowlist, RawRule};
use crate::validators::{Validation, Validator};
use crate::{RuleError, DEFAULT_RULE_FILES};
use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Checks a rule pattern the way every rule pattern is checked: Go RE2 syntax rewritten
/// (gitleaks configs are written for Go), bytes API, ASCII classes where the pattern allows.
/// `eager` compiles it now (user rules: every error at load time); otherwise it is taken as
/// is and compiles on first use (the embedded defaults, which the test suite compiles in full).
pub(crate) fn build_regex(pattern: &str, eager: bool) -> Result<LazyRegex, String> {
    if eager {
        LazyRegex::parse_and_compile(pattern)
    } else {
        Ok(LazyRegex::trusted(pattern))
    }
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub description: String,
    /// Lower-cased; the rule runs only on text containing one of them (or always, if empty).
    pub keywords: Vec<String>,
    pub tags: Vec<String>,
    pub entropy: Option<f64>,
    pub secret_group: Option<usize>,
    pub regex: Option<LazyRegex>,
    pub path: Option<LazyRegex>,
    pub allowlists: Vec<Allowlist>,
    pub validator: Option<Validator>,
    pub examples: Vec<Example>,
    pub negatives: Vec<Negative>,
    pub references: Vec<String>,
    pub impact: Option<String>,
    pub skip_report: bool,
    /// `literalValue`: keep a match only when its value is a literal of the file's kind.
    pub literal_value: bool,
    /// The rule set's file kinds, shared, for a `literal_value` rule (empty otherwise).
    pub file_kinds: Arc<[FileKind]>,
    /// The file the rule was defined in (for messages).
    pub source: PathBuf,
}

/// One match of a rule in a window of text. Offsets are relative to the window.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleMatch {
    /// The whole regex match.
    pub span: Range<usize>,
    /// The secret inside it.
    pub secret: Range<usize>,
    pub entropy: f64,
    /// A checksum or the structure proved the format.
    pub validated: bool,
    /// What the format says about the environment it belongs to (`prod`, `live`, `test`, …).
    pub environment: Option<String>,
}

impl Rule {
    /// Whether the rule applies to a file at `path` (`/`-separated, relative to the scan root).
    /// A rule with a `path` pattern applies only to matching paths; `None` (no path known)
    /// applies to rules without a path pattern only.
    pub fn applies_to_path(&self, path: Option<&str>) -> bool {
        match (&self.path, path) {
            (None, _) => true,
            (Some(re), Some(p)) => re.is_match(p.as_bytes()),
            (Some(_), None) => false,
        }
    }

    /// A rule with a path pattern and no regex reports the file itself.
    pub fn is_path_only(&self) -> bool {
        self.regex.is_none() && self.path.is_some()
    }

    /// All matches of this rule in `window`, after the secret group, entropy gate,
    /// placeholder check, validator and allowlists. `window` should hold whole lines.
    pub fn find_matches(
        &self,
        window: &[u8],
        path: Option<&str>,
        commit: Option<&str>,
    ) -> Vec<RuleMatch> {
        self.find_matches_checked(window, path, commit).0
    }

    /// [`Rule::find_matches`], and whether the regex matched at all in `window` (before
    /// entropy, validators and allowlists, which may depend on the path and commit): when
    /// it did not, the window reports nothing under any path or commit.
    pub fn find_matches_checked(
        &self,
        window: &[u8],
        path: Option<&str>,
        commit: Option<&str>,
    ) -> (Vec<RuleMatch>, bool) {
        let Some(regex) = self.regex.as_ref().and_then(LazyRegex::get) else {
            return (Vec::new(), false);
        };
        let mut out = Vec::new();
        let mut matched = false;
        if regex.captures_len() == 1 {
            // No groups: the cheaper search suffices and the secret is the whole match.
            for m in regex.find_iter(window) {
                matched = true;
                self.consider(window, m.range(), m.range(), path, commit, &mut out);
            }
            return (out, matched);
        }
        // One set of capture slots for the whole window, not one allocation per candidate.
        let mut locs = regex.capture_locations();
        let mut at = 0;
        while at <= window.len() {
            let Some(whole) = regex.captures_read_at(&mut locs, window, at) else {
                break;
            };
            matched = true;
            let whole = whole.range();
            at = if whole.is_empty() {
                whole.end + 1
            } else {
                whole.end
            };
            if whole.is_empty() {
                continue;
            }
            let secret = match self.secret_group {
                Some(n) if n > 0 => match locs.get(n) {
                    Some((s, e)) => s..e,
                    None => continue,
                },
                // gitleaks: without `secretGroup`, the first non-empty group is the secret.
                _ => (1..locs.len())
                    .filter_map(|g| locs.get(g))
                    .find(|(s, e)| e > s)
                    .map_or(whole.clone(), |(s, e)| s..e),
            };
            self.consider(window, whole, secret, path, commit, &mut out);
        }
        (out, matched)
    }

    /// The gates every candidate passes after the regex: entropy, validator, placeholder,
    /// allowlists. Pushes the match onto `out` when it survives.
    fn consider(
        &self,
        window: &[u8],
        whole: Range<usize>,
        secret: Range<usize>,
        path: Option<&str>,
        commit: Option<&str>,
        out: &mut Vec<RuleMatch>,
    ) {
        let secret_bytes = &window[secret.clone()];
        if secret_bytes.is_empty() {
            return;
        }
        let entropy = shannon_entropy(secret_bytes);
        if let Some(min) = self.entropy {
            if entropy <= min {
                return;
            }
        }
        if self.literal_value {
            let kind = path.and_then(|p| self.file_kinds.iter().find(|k| k.matches_path(p)));
            if kind.is_some_and(|k| !k.is_literal(window, &whole, &secret)) {
                return;
            }
        }
        let (validated, environment) = match &self.validator {
            Some(v) => match v.validate(secret_bytes) {
                Validation::Reject => return,
                Validation::Accept {
                    validated,
                    environment,
                } => (validated, environment),
            },
            None => (false, None),
        };
        if !validated && looks_like_placeholder(secret_bytes) {
            return;
        }
        if !self.allowlists.is_empty() {
            let candidate = Candidate {
                secret: secret_bytes,
                matched: &window[whole.clone()],
                line: line_around(window, whole.start, whole.end),
                path,
                commit,
            };
            if self.allowlists.iter().any(|a| a.allows(&candidate)) {
                return;
            }
        }
        out.push(RuleMatch {
            span: whole,
            secret,
            entropy,
            validated,
            environment,
        });
    }
}

/// How far from a match its "line" reaches for line allowlists: a whole line normally, but
/// a candidate on a multi-megabyte one-line file must not search the whole line each time.
const LINE_REACH: usize = 4 * 1024;

/// The line(s) containing `start..end` within `text`, at most [`LINE_REACH`] either side.
fn line_around(text: &[u8], start: usize, end: usize) -> &[u8] {
    let floor = start.saturating_sub(LINE_REACH);
    let line_start = memchr::memrchr(b'\n', &text[floor..start]).map_or(floor, |i| floor + i + 1);
    let ceiling = end.saturating_add(LINE_REACH).min(text.len());
    let line_end = memchr::memchr(b'\n', &text[end..ceiling]).map_or(ceiling, |i| end + i);
    &text[line_start..line_end]
}

/// A compiled set of rules with the global allowlists folded into each rule.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// Global allowlists (also folded into each targeted rule's `allowlists`).
    pub global_allowlists: Vec<Allowlist>,
}

impl RuleSet {
    /// The rules embedded in the binary.
    pub fn default_rules() -> Result<RuleSet, RuleError> {
        let mut loader = Loader::default();
        let mut set = loader.defaults()?;
        loader.finish(&mut set)?;
        Ok(set)
    }

    /// Loads a user config (`.secrets-guard.toml` or a gitleaks config).
    ///
    /// Following gitleaks, a file that defines `[[rules]]` and has no `[extend]` replaces
    /// the defaults; `[extend] useDefault = true` builds on them. A file with no rules at all
    /// (only allowlists or `disabledRules`) always builds on the defaults. A rule whose id
    /// exists in what it extends is merged into it the way gitleaks merges: the fields it
    /// sets win, its tags, keywords and allowlists are added.
    pub fn from_config_file(path: &Path) -> Result<RuleSet, RuleError> {
        let text = std::fs::read_to_string(path).map_err(|source| RuleError::Read {
            path: path.to_path_buf(),
            reason: source,
        })?;
        Self::from_config_text(&text, path)
    }

    /// As [`RuleSet::from_config_file`], from text already read.
    pub fn from_config_text(text: &str, path: &Path) -> Result<RuleSet, RuleError> {
        let mut loader = Loader::default();
        let mut set = loader.load_layered(text, path)?;
        loader.finish(&mut set)?;
        Ok(set)
    }

    /// Adds `other`'s rules, merging rules of the same id, and its global allowlists.
    fn merge_overriding(&mut self, other: RuleSet) {
        for rule in other.rules {
            match self.rules.iter_mut().find(|r| r.id == rule.id) {
                Some(existing) => merge_rule(existing, rule),
                None => self.rules.push(rule),
            }
        }
        self.global_allowlists.extend(other.global_allowlists);
    }

    /// Adds a file's rules and allowlists; returns its `[[filekinds]]`, compiled.
    fn add_file(
        &mut self,
        file: ConfigFile,
        path: &Path,
        eager: bool,
    ) -> Result<Vec<FileKind>, RuleError> {
        for raw in file.allowlist.iter().chain(file.allowlists.iter()) {
            self.global_allowlists.push(Allowlist::compile(
                raw,
                path,
                "(global allowlist)",
                eager,
            )?);
        }
        let kinds = file
            .file_kinds
            .iter()
            .map(|raw| FileKind::compile(raw, path, eager))
            .collect::<Result<Vec<_>, _>>()?;
        if !file.example_keys.is_empty() {
            self.global_allowlists
                .push(example_keys_allowlist(&file, path, eager)?);
        }
        for raw in &file.rules {
            if self.rules.iter().any(|r| r.id == raw.id) {
                return Err(RuleError::DuplicateId {
                    path: path.to_path_buf(),
                    rule_id: raw.id.clone(),
                });
            }
            self.rules.push(compile_rule(raw, path, eager)?);
        }
        Ok(kinds)
    }

    /// Whether a global, path-only allowlist excludes `path` entirely.
    pub fn is_path_allowed(&self, path: &str) -> bool {
        self.global_allowlists
            .iter()
            .any(|a| a.is_path_only() && !a.require_all && a.matches_path(path))
    }

    /// Looks a rule up by id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

/// gitleaks' merge of a rule into the rule of the same id it extends.
fn merge_rule(base: &mut Rule, over: Rule) {
    // `description` defaults to the id when a file leaves it out.
    if over.description != over.id {
        base.description = over.description;
    }
    if over.entropy.is_some() {
        base.entropy = over.entropy;
    }
    if over.secret_group.is_some() {
        base.secret_group = over.secret_group;
    }
    if over.regex.is_some() {
        base.regex = over.regex;
        base.source = over.source;
    }
    if over.path.is_some() {
        base.path = over.path;
    }
    if over.validator.is_some() {
        base.validator = over.validator;
    }
    if over.impact.is_some() {
        base.impact = over.impact;
    }
    for (into, from) in [
        (&mut base.tags, over.tags),
        (&mut base.keywords, over.keywords),
        (&mut base.references, over.references),
    ] {
        for item in from {
            if !into.contains(&item) {
                into.push(item);
            }
        }
    }
    for negative in over.negatives {
        if !base.negatives.contains(&negative) {
            base.negatives.push(negative);
        }
    }
    base.examples.extend(over.examples);
    base.allowlists.extend(over.allowlists);
    base.skip_report |= over.skip_report;
    base.literal_value |= over.literal_value;
}

/// State of one load: the files already read, to refuse `[extend] path` cycles.
///
/// `targetRules` and `[[rules.required]]` naming rules that do not exist are not load
/// errors (gitleaks makes them errors, but a gitleaks config names gitleaks' rule ids, which
/// need not all exist here); `rules check` reports them as warnings.
#[derive(Default)]
struct Loader {
    seen: HashSet<PathBuf>,
    /// `[[filekinds]]` of every file read, in order of precedence: a file's own kinds come
    /// before those of what it extends, so a config overrides the defaults for its paths.
    /// Kept here, not in [`RuleSet`], so the set's shape stays what other crates build.
    file_kinds: Vec<FileKind>,
}

impl Loader {
    fn defaults(&mut self) -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::default();
        for (name, text) in DEFAULT_RULE_FILES {
            let path = PathBuf::from(format!("rules/{name}"));
            let file = parse_config(text, &path)?;
            let kinds = set.add_file(file, &path, false)?;
            self.file_kinds.extend(kinds);
        }
        Ok(set)
    }

    fn load_layered(&mut self, text: &str, path: &Path) -> Result<RuleSet, RuleError> {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if !self.seen.insert(canonical) {
            return Err(RuleError::Invalid {
                path: path.to_path_buf(),
                rule_id: String::new(),
                message: "`[extend] path` forms a cycle".into(),
            });
        }
        let file = parse_config(text, path)?;
        let extend = file.extend.clone().unwrap_or_default();
        if extend.url.is_some() {
            return Err(RuleError::Invalid {
                path: path.to_path_buf(),
                rule_id: String::new(),
                message: "`[extend] url` is not supported: secrets-guard never fetches rules over the network".into(),
            });
        }
        let use_default = extend.use_default || (file.extend.is_none() && file.rules.is_empty());
        let mut base = if use_default {
            self.defaults()?
        } else {
            RuleSet::default()
        };
        if let Some(parent_path) = &extend.path {
            // Relative to the config file; gitleaks resolves it from the working directory,
            // so that is the fallback.
            let beside = path
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join(parent_path);
            let resolved = if beside.exists() || !Path::new(parent_path).exists() {
                beside
            } else {
                PathBuf::from(parent_path)
            };
            let parent_text =
                std::fs::read_to_string(&resolved).map_err(|source| RuleError::Read {
                    path: resolved.clone(),
                    reason: source,
                })?;
            let parent = self.load_layered(&parent_text, &resolved)?;
            base.merge_overriding(parent);
        }
        let disabled: Vec<String> = extend
            .disabled_rules
            .iter()
            .chain(file.disabled_rules.iter())
            .cloned()
            .collect();
        let mut own = RuleSet::default();
        let kinds = own.add_file(file, path, true)?;
        self.file_kinds.splice(0..0, kinds);
        base.merge_overriding(own);
        if let Some(unknown) = disabled
            .iter()
            .find(|id| !base.rules.iter().any(|r| &r.id == *id))
        {
            return Err(RuleError::UnknownDisabledRule {
                path: path.to_path_buf(),
                rule_id: unknown.clone(),
            });
        }
        base.rules.retain(|r| !disabled.contains(&r.id));
        Ok(base)
    }

    /// Checks what only the merged set can tell, then folds the global allowlists into
    /// the rules they target.
    fn finish(&self, set: &mut RuleSet) -> Result<(), RuleError> {
        for rule in &set.rules {
            let known = rule.regex.as_ref().and_then(LazyRegex::known_captures_len);
            if let (Some(captures), Some(group)) = (known, rule.secret_group) {
                if group >= captures {
                    return Err(RuleError::Invalid {
                        path: rule.source.clone(),
                        rule_id: rule.id.clone(),
                        message: format!(
                            "secretGroup {group} but the regex has only {} groups",
                            captures - 1
                        ),
                    });
                }
            }
            if rule.regex.is_none() && rule.path.is_none() {
                return Err(RuleError::Invalid {
                    path: rule.source.clone(),
                    rule_id: rule.id.clone(),
                    message: "a rule needs a regex, a path, or both (or must extend a rule of the same id)".into(),
                });
            }
        }
        let globals = set.global_allowlists.clone();
        let kinds: Arc<[FileKind]> = self.file_kinds.clone().into();
        for rule in &mut set.rules {
            if rule.literal_value {
                rule.file_kinds = Arc::clone(&kinds);
            }
            for global in &globals {
                if global.targets(&rule.id) {
                    rule.allowlists.push(global.clone());
                }
            }
        }
        Ok(())
    }
}

/// `[[exampleKeys]]` as one global allowlist matching exactly those values.
fn example_keys_allowlist(
    file: &ConfigFile,
    path: &Path,
    eager: bool,
) -> Result<Allowlist, RuleError> {
    let mut values = Vec::with_capacity(file.example_keys.len());
    for key in &file.example_keys {
        // An entry must show where the vendor publishes the value; without that page
        // nobody can check that it is an example and not a leaked key.
        let problem = if key.value.trim().is_empty() {
            Some("has an empty `value`")
        } else if !(key.reference.starts_with("https://") || key.reference.starts_with("http://")) {
            Some("needs a `reference` URL to the page that publishes it")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(RuleError::Invalid {
                path: path.to_path_buf(),
                rule_id: "(exampleKeys)".into(),
                message: format!("example key of `{}` {problem}", key.vendor),
            });
        }
        values.push(regex::escape(&key.value));
    }
    let raw = RawAllowlist {
        description: Some("keys that vendors publish in their documentation".into()),
        regexes: vec![format!("^(?:{})$", values.join("|"))],
        ..RawAllowlist::default()
    };
    Allowlist::compile(&raw, path, "(exampleKeys)", eager)
}

fn parse_config(text: &str, path: &Path) -> Result<ConfigFile, RuleError> {
    toml::from_str::<ConfigFile>(text).map_err(|e| {
        let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
        RuleError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().to_owned(),
        }
    })
}

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, column)
}

fn compile_rule(raw: &RawRule, path: &Path, eager: bool) -> Result<Rule, RuleError> {
    let bad_regex = |field: &'static str, message: String| RuleError::BadRegex {
        path: path.to_path_buf(),
        rule_id: raw.id.clone(),
        field,
        message,
    };
    if raw.id.trim().is_empty() {
        return Err(RuleError::Invalid {
            path: path.to_path_buf(),
            rule_id: raw.id.clone(),
            message: "a rule needs a non-empty id".into(),
        });
    }
    let regex = raw
        .regex
        .as_deref()
        .map(|p| build_regex(p, eager))
        .transpose()
        .map_err(|m| bad_regex("regex", m))?;
    let path_re = raw
        .path
        .as_deref()
        .map(|p| build_regex(p, eager))
        .transpose()
        .map_err(|m| bad_regex("path", m))?;
    // A rule without regex or path is allowed here: it may extend a rule of the same id
    // (gitleaks' way of adding an allowlist to a default rule). `Loader::finish` refuses
    // it if nothing filled it in.
    let known = regex.as_ref().and_then(LazyRegex::known_captures_len);
    if let (Some(captures), Some(group)) = (known, raw.secret_group) {
        if group >= captures {
            return Err(RuleError::Invalid {
                path: path.to_path_buf(),
                rule_id: raw.id.clone(),
                message: format!(
                    "secretGroup {group} but the regex has only {} groups",
                    captures - 1
                ),
            });
        }
    }
    let validator = raw
        .validator
        .as_deref()
        .map(|name| {
            Validator::from_name(name).ok_or_else(|| RuleError::UnknownValidator {
                path: path.to_path_buf(),
                rule_id: raw.id.clone(),
                validator: name.to_owned(),
            })
        })
        .transpose()?;
    let allowlists = raw
        .allowlist
        .iter()
        .chain(raw.allowlists.iter())
        .map(|a| Allowlist::compile(a, path, &raw.id, eager))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Rule {
        id: raw.id.clone(),
        description: raw.description.clone().unwrap_or_else(|| raw.id.clone()),
        keywords: raw.keywords.iter().map(|k| k.to_lowercase()).collect(),
        tags: raw.tags.clone(),
        entropy: raw.entropy.filter(|e| *e > 0.0),
        secret_group: raw.secret_group,
        regex,
        path: path_re,
        allowlists,
        validator,
        examples: raw.examples.clone(),
        negatives: raw.negatives.clone(),
        references: raw.references.clone(),
        impact: raw.impact.clone(),
        skip_report: raw.skip_report,
        literal_value: raw.literal_value,
        file_kinds: Arc::from(Vec::new()),
        source: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> RuleSet {
        RuleSet::from_config_text(text, Path::new("test.toml")).expect("valid config")
    }

    #[test]
    fn disabled_rules_must_name_a_rule() {
        let err = RuleSet::from_config_text(
            "[extend]\nuseDefault = true\ndisabledRules = [\"no-such-rule\"]\n",
            Path::new("cfg.toml"),
        )
        .expect_err("unknown rule");
        assert!(
            err.to_string()
                .contains("`no-such-rule`, which no rule has"),
            "{err}"
        );
    }

    #[test]
    fn secret_group_entropy_and_placeholders() {
        let s = set(r#"
[[rules]]
id = "demo"
regex = '''demo_key\s*=\s*"([A-Za-z0-9]{16,})"'''
secretGroup = 1
entropy = 3.0
keywords = ["DEMO_KEY"]
"#);
        let rule = s.get("demo").expect("rule");
        assert_eq!(rule.keywords, vec!["demo_key"]);
        let text = br#"demo_key = "Zq8Lr2Vx9Kp4Wm7N" and demo_key = "aaaaaaaaaaaaaaaaaaa" demo_key = "AKIAEXAMPLEKEY1234""#;
        let found = rule.find_matches(text, None, None);
        assert_eq!(found.len(), 1);
        assert_eq!(&text[found[0].secret.clone()], b"Zq8Lr2Vx9Kp4Wm7N");
    }

    #[test]
    fn groups_default_to_the_first_non_empty_one_and_empty_matches_end() {
        let s = set(r#"
[[rules]]
id = "nogroup"
regex = '''tok_[a-z0-9]{12}'''
[[rules]]
id = "alt"
regex = '''(?:a=(\w{10})|b=(\w{10}))'''
[[rules]]
id = "empty"
regex = '''z*'''
"#);
        let text = b"tok_a1b2c3d4e5f6 x tok_q9w8e7r6t5y4 b=K7mQ2xP9wL a=R4nT8vB2cZ";
        let found = s
            .get("nogroup")
            .expect("rule")
            .find_matches(text, None, None);
        let secrets: Vec<&[u8]> = found.iter().map(|m| &text[m.secret.clone()]).collect();
        assert_eq!(secrets, vec![&b"tok_a1b2c3d4e5f6"[..], b"tok_q9w8e7r6t5y4"]);
        assert_eq!(found[0].span, found[0].secret);
        let found = s.get("alt").expect("rule").find_matches(text, None, None);
        let secrets: Vec<&[u8]> = found.iter().map(|m| &text[m.secret.clone()]).collect();
        assert_eq!(secrets, vec![&b"K7mQ2xP9wL"[..], b"R4nT8vB2cZ"]);
        // A pattern that matches the empty string everywhere yields nothing and terminates.
        assert!(s
            .get("empty")
            .expect("rule")
            .find_matches(b"abc", None, None)
            .is_empty());
    }

    #[test]
    fn allowlists_filter_by_stopword_and_path() {
        let s = set(r#"
[[rules]]
id = "demo"
regex = '''tok_[a-z0-9]{12}'''
[[rules.allowlists]]
stopwords = ["tok_test"]
paths = ['''fixtures/''']
"#);
        let rule = s.get("demo").expect("rule");
        assert_eq!(
            rule.find_matches(b"tok_a1b2c3d4e5f6", Some("src/a.rs"), None)
                .len(),
            1
        );
        assert!(rule
            .find_matches(b"tok_testa1b2c3d4", Some("src/a.rs"), None)
            .is_empty());
        assert!(rule
            .find_matches(b"tok_a1b2c3d4e5f6", Some("fixtures/a.rs"), None)
            .is_empty());
    }

    #[test]
    fn rule_file_errors_name_the_rule_and_position() {
        let err = RuleSet::from_config_text(
            "[[rules]]\nid = \"x\"\nregex = '''(unclosed'''\n",
            Path::new("bad.toml"),
        )
        .expect_err("must fail");
        let msg = err.to_string();
        assert!(msg.contains("bad.toml") && msg.contains("`x`"), "{msg}");
        let err = RuleSet::from_config_text("[[rules]]\nid = \n", Path::new("bad.toml"))
            .expect_err("must fail");
        assert!(err.to_string().starts_with("bad.toml:2:"), "{err}");
    }

    #[test]
    fn extend_use_default_keeps_defaults_and_disables() {
        let defaults = RuleSet::default_rules().expect("defaults compile");
        let Some(first) = defaults.rules.first() else {
            return; // no default rules yet
        };
        let text = format!(
            "[extend]\nuseDefault = true\ndisabledRules = [\"{}\"]\n[[rules]]\nid = \"mine\"\nregex = 'mine_[0-9]{{8}}'\n",
            first.id
        );
        let s = set(&text);
        assert!(s.get("mine").is_some());
        assert!(s.get(&first.id).is_none());
        assert_eq!(s.rules.len(), defaults.rules.len());
    }
}
