//! Allowlists: what a rule (or every rule) must not report.

use crate::schema::RawAllowlist;
use crate::RuleError;
use regex::bytes::Regex;
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
    pub regexes: Vec<Regex>,
    pub regex_target: RegexTarget,
    /// Lower-cased; matched as substrings of the lower-cased secret.
    pub stopwords: Vec<String>,
    pub paths: Vec<Regex>,
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
    ) -> Result<Allowlist, RuleError> {
        let compile = |pattern: &String, field: &'static str| {
            crate::compile::build_regex(pattern).map_err(|message| RuleError::BadRegex {
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
        let require_all = match raw.condition.as_deref() {
            None | Some("") | Some("OR") | Some("or") => false,
            Some("AND") | Some("and") => true,
            Some(other) => {
                return Err(RuleError::Invalid {
                    path: file.to_path_buf(),
                    rule_id: rule_id.to_owned(),
                    message: format!("allowlist condition `{other}` is not OR or AND"),
                })
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
        let mut verdicts: Vec<bool> = Vec::with_capacity(4);
        if !self.commits.is_empty() {
            verdicts.push(c.commit.is_some_and(|id| {
                self.commits
                    .iter()
                    .any(|allowed| !allowed.is_empty() && id.starts_with(allowed.as_str()))
            }));
        }
        if !self.paths.is_empty() {
            verdicts.push(c.path.is_some_and(|p| self.matches_path(p)));
        }
        if !self.regexes.is_empty() {
            let target = match self.regex_target {
                RegexTarget::Secret => c.secret,
                RegexTarget::Match => c.matched,
                RegexTarget::Line => c.line,
            };
            verdicts.push(self.regexes.iter().any(|r| r.is_match(target)));
        }
        if !self.stopwords.is_empty() {
            let lower = c.secret.to_ascii_lowercase();
            verdicts.push(
                self.stopwords.iter().any(|w| {
                    !w.is_empty() && lower.windows(w.len()).any(|win| win == w.as_bytes())
                }),
            );
        }
        if verdicts.is_empty() {
            return false;
        }
        if self.require_all {
            verdicts.iter().all(|v| *v)
        } else {
            verdicts.iter().any(|v| *v)
        }
    }
}
