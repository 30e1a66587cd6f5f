//! Allowlists: what a rule (or every rule) must not report.

use crate::lazy::LazyRegex;
use crate::schema::RawAllowlist;
use crate::RuleError;
use std::path::Path;

/// What an allowlist's `regexes` are matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegexTarget {
    Secret,
    Match,
    Line,
}

/// A compiled allowlist.
#[derive(Debug, Clone)]
pub struct Allowlist {
    pub description: Option<String>,
    /// `AND`: every criterion given must hold; otherwise any one suffices.
    pub require_all: bool,
    pub regexes: Vec<LazyRegex>,
    pub regex_target: RegexTarget,
    /// Lower-cased; matched as substrings of the lower-cased secret.
    pub stopwords: Vec<String>,
    pub paths: Vec<LazyRegex>,
    pub commits: Vec<String>,
    /// On a global allowlist, the rule ids it is limited to (empty: all rules).
    pub target_rules: Vec<String>,
}

/// What is known about a candidate when allowlists are consulted.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub secret: &'a [u8],
    pub matched: &'a [u8],
    pub line: &'a [u8],
    pub path: Option<&'a str>,
    pub commit: Option<&'a str>,
}

impl Allowlist {
    pub(crate) fn compile(
        raw: &RawAllowlist,
        file: &Path,
        rule_id: &str,
        eager: bool,
    ) -> Result<Allowlist, RuleError> {
        let compile = |pattern: &String, field: &'static str| {
            crate::compile::build_regex(pattern, eager).map_err(|message| RuleError::BadRegex {
                path: file.to_path_buf(),
                rule_id: rule_id.to_owned(),
                field,
                message,
            })
        };
        let regex_target = match raw.regex_target.as_deref() {
            None | Some("") | Some("secret") => RegexTarget::Secret,
            Some("match") => RegexTarget::Match,
            Some("line") => RegexTarget::Line,
            Some(other) => {
                return Err(RuleError::Invalid {
                    path: file.to_path_buf(),
                    rule_id: rule_id.to_owned(),
                    message: format!(
                        "allowlist regexTarget `{other}` is not one of secret, match, line"
                    ),
                })
            }
        };
        // gitleaks compares the upper-cased value and also takes `&&` and `||`.
        let condition = raw.condition.as_deref().unwrap_or("").to_ascii_uppercase();
        let require_all = match condition.as_str() {
            "" | "OR" | "||" => false,
            "AND" | "&&" => true,
            _ => {
                let other = raw.condition.as_deref().unwrap_or("");
                return Err(RuleError::Invalid {
                    path: file.to_path_buf(),
                    rule_id: rule_id.to_owned(),
                    message: format!("allowlist condition `{other}` is not OR or AND"),
                });
            }
        };
        Ok(Allowlist {
            description: raw.description.clone(),
            require_all,
            regexes: raw
                .regexes
                .iter()
                .map(|p| compile(p, "allowlist regex"))
                .collect::<Result<_, _>>()?,
            regex_target,
            stopwords: raw.stopwords.iter().map(|s| s.to_lowercase()).collect(),
            paths: raw
                .paths
                .iter()
                .map(|p| compile(p, "allowlist path"))
                .collect::<Result<_, _>>()?,
            commits: raw.commits.clone(),
            target_rules: raw.target_rules.clone(),
        })
    }

    /// Whether this allowlist applies to the rule `rule_id`.
    pub fn targets(&self, rule_id: &str) -> bool {
        self.target_rules.is_empty() || self.target_rules.iter().any(|r| r == rule_id)
    }

    /// Whether the allowlist consists of path criteria only, so a whole file can be skipped.
    pub fn is_path_only(&self) -> bool {
        !self.paths.is_empty()
            && self.regexes.is_empty()
            && self.stopwords.is_empty()
            && self.commits.is_empty()
            && self.target_rules.is_empty()
    }

    /// Whether `path` matches one of the allowlist's path patterns.
    pub fn matches_path(&self, path: &str) -> bool {
        self.paths.iter().any(|p| p.is_match(path.as_bytes()))
    }

    /// Whether the candidate is allowed (must not be reported).
    pub fn allows(&self, c: &Candidate<'_>) -> bool {
        // Each criterion given is one verdict; `AND` needs all of them, `OR` any. Checked
        // lazily, cheapest first, without collecting verdicts (this runs per candidate).
        let mut given = false;
        for criterion in [
            Criterion::Commit,
            Criterion::Path,
            Criterion::Stopword,
            Criterion::Regex,
        ] {
            let Some(verdict) = self.verdict(criterion, c) else {
                continue;
            };
            given = true;
            if verdict != self.require_all {
                // OR and a hit: allowed. AND and a miss: not allowed.
                return verdict;
            }
        }
        given && self.require_all
    }

    /// One criterion's verdict, or `None` when the allowlist does not set it.
    fn verdict(&self, criterion: Criterion, c: &Candidate<'_>) -> Option<bool> {
        Some(match criterion {
            Criterion::Commit if !self.commits.is_empty() => c.commit.is_some_and(|id| {
                self.commits
                    .iter()
                    .any(|allowed| !allowed.is_empty() && id.starts_with(allowed.as_str()))
            }),
            Criterion::Path if !self.paths.is_empty() => {
                c.path.is_some_and(|p| self.matches_path(p))
            }
            Criterion::Stopword if !self.stopwords.is_empty() => self.stopwords.iter().any(|w| {
                !w.is_empty()
                    && crate::placeholder::contains_ignore_ascii_case(c.secret, w.as_bytes())
            }),
            Criterion::Regex if !self.regexes.is_empty() => {
                let target = match self.regex_target {
                    RegexTarget::Secret => c.secret,
                    RegexTarget::Match => c.matched,
                    RegexTarget::Line => c.line,
                };
                self.regexes.iter().any(|r| r.is_match(target))
            }
            _ => return None,
        })
    }
}

#[derive(Clone, Copy)]
enum Criterion {
    Commit,
    Path,
    Stopword,
    Regex,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(toml_text: &str) -> Allowlist {
        let raw: RawAllowlist = toml::from_str(toml_text).expect("valid allowlist");
        Allowlist::compile(&raw, Path::new("t.toml"), "r", true).expect("compiles")
    }

    fn candidate<'a>(secret: &'a [u8], line: &'a [u8], path: Option<&'a str>) -> Candidate<'a> {
        Candidate {
            secret,
            matched: secret,
            line,
            path,
            commit: Some("0123abcd"),
        }
    }

    #[test]
    fn or_needs_one_criterion_and_needs_all() {
        let or = compile("condition = '||'\nstopWords = ['sample']\npaths = ['^test/']\n");
        assert!(or.allows(&candidate(b"SAMPLEkey", b"", Some("src/a"))));
        assert!(or.allows(&candidate(b"realkey", b"", Some("test/a"))));
        assert!(!or.allows(&candidate(b"realkey", b"", Some("src/a"))));

        let and = compile(
            "condition = 'and'\nregexTarget = 'line'\nregexes = ['mock']\npaths = ['^test/']\n",
        );
        assert!(and.allows(&candidate(b"k", b"let mock = k", Some("test/a"))));
        assert!(!and.allows(&candidate(b"k", b"let mock = k", Some("src/a"))));
        assert!(!and.allows(&candidate(b"k", b"let real = k", Some("test/a"))));
        // An unknown path cannot satisfy a path criterion.
        assert!(!and.allows(&candidate(b"k", b"let mock = k", None)));
    }

    #[test]
    fn commits_match_by_prefix_and_empty_allowlists_allow_nothing() {
        let commits = compile("commits = ['0123']\n");
        assert!(commits.allows(&candidate(b"k", b"", None)));
        let other = compile("commits = ['ffff']\n");
        assert!(!other.allows(&candidate(b"k", b"", None)));
        let empty = compile("description = 'nothing'\n");
        assert!(!empty.allows(&candidate(b"k", b"", None)));
    }

    #[test]
    fn bad_condition_and_target_are_errors() {
        for text in ["condition = 'XOR'\n", "regexTarget = 'file'\n"] {
            let raw: RawAllowlist = toml::from_str(text).expect("parses");
            let err =
                Allowlist::compile(&raw, Path::new("t.toml"), "r", true).expect_err("invalid");
            assert!(err.to_string().contains("t.toml"), "{err}");
        }
    }
}
