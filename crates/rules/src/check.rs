//! `rules check`: every rule proves itself on its own examples and negatives.

use crate::compile::{Rule, RuleSet};
use crate::placeholder::contains_ignore_ascii_case;
use std::fmt;
use std::path::PathBuf;

/// What a check found wrong with one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueKind {
    /// The rule has no description.
    NoDescription,
    /// An example holds none of the rule's keywords, so the engine's prefilter never runs it.
    ExampleLacksKeyword,
    /// An example's `secret` is not part of its `text`.
    SecretNotInExample,
    /// An example does not match at all (after entropy, validator, placeholder, allowlists).
    ExampleDoesNotMatch,
    /// An example matches but yields other secrets than the one it names.
    WrongSecret,
    /// A negative yields a match.
    NegativeMatches,
    /// The rule has no examples (a warning: user gitleaks configs have none).
    NoExamples,
    /// The rule has no negatives (a warning).
    NoNegatives,
    /// A global allowlist names a rule id that does not exist (a warning).
    UnknownTargetRule,
    /// A pattern parses but does not compile (its compiled form exceeds the size limit).
    /// Default rules compile on first use, so this is where such a rule is caught.
    PatternTooLarge,
    /// `secretGroup` names a group the regex does not have.
    BadSecretGroup,
}

/// One failure or warning, naming the rule and, where it applies, the example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckIssue {
    pub rule_id: String,
    /// The file the rule comes from.
    pub source: PathBuf,
    pub kind: IssueKind,
    /// Which example or negative (`example 2`, `negative 1`), with a preview whose secret
    /// part is masked.
    pub subject: Option<String>,
    pub message: String,
}

impl fmt::Display for CheckIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: rule `{}`", self.source.display(), self.rule_id)?;
        if let Some(subject) = &self.subject {
            write!(f, ": {subject}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The outcome of [`RuleSet::check`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub rules: usize,
    pub examples: usize,
    pub negatives: usize,
    pub failures: Vec<CheckIssue>,
    pub warnings: Vec<CheckIssue>,
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.failures.is_empty()
    }

    /// `N rules, M examples, K negatives checked`.
    pub fn summary(&self) -> String {
        format!(
            "{} rules, {} examples, {} negatives checked",
            self.rules, self.examples, self.negatives
        )
    }
}

impl RuleSet {
    /// Checks every rule against its own examples and negatives, the way the engine would
    /// run it: the example must hold one of the rule's keywords (ASCII case-insensitive),
    /// match, and yield exactly its `secret`; no negative may yield a match.
    pub fn check(&self) -> CheckReport {
        let mut report = CheckReport {
            rules: self.rules.len(),
            ..CheckReport::default()
        };
        for rule in &self.rules {
            check_rule(rule, &mut report);
        }
        for global in &self.global_allowlists {
            for id in &global.target_rules {
                if self.get(id).is_none() {
                    report.warnings.push(CheckIssue {
                        rule_id: id.clone(),
                        source: PathBuf::from("(global allowlist)"),
                        kind: IssueKind::UnknownTargetRule,
                        subject: None,
                        message: "named in targetRules, but no such rule is loaded".into(),
                    });
                }
            }
        }
        report
    }
}

fn check_rule(rule: &Rule, report: &mut CheckReport) {
    let issue = |kind, subject: Option<String>, message: String| CheckIssue {
        rule_id: rule.id.clone(),
        source: rule.source.clone(),
        kind,
        subject,
        message,
    };
    if rule.description.trim().is_empty() || rule.description == rule.id {
        report.failures.push(issue(
            IssueKind::NoDescription,
            None,
            "has no description".into(),
        ));
    }
    let patterns = rule.regex.iter().chain(rule.path.iter()).chain(
        rule.allowlists
            .iter()
            .flat_map(|a| a.regexes.iter().chain(a.paths.iter())),
    );
    for pattern in patterns {
        if let Err(message) = pattern.ensure_compiled() {
            report.failures.push(issue(
                IssueKind::PatternTooLarge,
                None,
                format!("pattern `{}` does not compile: {message}", pattern.as_str()),
            ));
        }
    }
    if let (Some(re), Some(group)) = (&rule.regex, rule.secret_group) {
        let captures = re.captures_len();
        if captures > 0 && group >= captures {
            report.failures.push(issue(
                IssueKind::BadSecretGroup,
                None,
                format!(
                    "secretGroup {group} but the regex has only {} groups",
                    captures - 1
                ),
            ));
        }
    }
    if rule.examples.is_empty() {
        report.warnings.push(issue(
            IssueKind::NoExamples,
            None,
            "has no examples, so nothing shows it matches what it is meant to".into(),
        ));
    }
    if rule.negatives.is_empty() {
        report.warnings.push(issue(
            IssueKind::NoNegatives,
            None,
            "has no negatives, so nothing shows what it must not match".into(),
        ));
    }
    for (i, example) in rule.examples.iter().enumerate() {
        report.examples += 1;
        let text = example.text.as_bytes();
        let subject = Some(format!(
            "example {} ({})",
            i + 1,
            preview(&example.text, &example.secret)
        ));
        if !rule.keywords.is_empty()
            && !rule
                .keywords
                .iter()
                .any(|k| contains_ignore_ascii_case(text, k.as_bytes()))
        {
            report.failures.push(issue(
                IssueKind::ExampleLacksKeyword,
                subject.clone(),
                format!(
                    "contains none of the keywords {:?}, so the scanner would never run the rule on it",
                    rule.keywords
                ),
            ));
        }
        if example.secret.is_empty() || !example.text.contains(&example.secret) {
            report.failures.push(issue(
                IssueKind::SecretNotInExample,
                subject,
                "its `secret` is not part of its `text`".into(),
            ));
            continue;
        }
        if rule.regex.is_none() {
            continue;
        }
        let found = rule.find_matches(text, example.path.as_deref(), None);
        if found.is_empty() {
            report.failures.push(issue(
                IssueKind::ExampleDoesNotMatch,
                subject,
                "does not match (after secretGroup, entropy, validator, placeholder and allowlists)"
                    .into(),
            ));
            continue;
        }
        let expected = example.secret.as_bytes();
        let mut others: Vec<String> = found
            .iter()
            .map(|m| &text[m.secret.clone()])
            .filter(|s| *s != expected)
            .map(|s| redact(&String::from_utf8_lossy(s)))
            .collect();
        others.dedup();
        let has_expected = found.iter().any(|m| &text[m.secret.clone()] == expected);
        if !has_expected || !others.is_empty() {
            report.failures.push(issue(
                IssueKind::WrongSecret,
                subject,
                format!(
                    "yields {} instead of exactly {}",
                    if others.is_empty() {
                        "nothing".to_owned()
                    } else {
                        others.join(", ")
                    },
                    redact(&example.secret)
                ),
            ));
        }
    }
    for (i, negative) in rule.negatives.iter().enumerate() {
        report.negatives += 1;
        if rule.regex.is_none() {
            continue;
        }
        let text = negative.text();
        let found = rule.find_matches(text.as_bytes(), negative.path(), None);
        if let Some(m) = found.first() {
            let secret = String::from_utf8_lossy(&text.as_bytes()[m.secret.clone()]);
            report.failures.push(issue(
                IssueKind::NegativeMatches,
                Some(format!("negative {} ({})", i + 1, preview(text, &secret))),
                format!("matches and yields {}", redact(&secret)),
            ));
        }
    }
}

/// The first 4 characters of a secret, then its length: enough to tell examples apart
/// without printing a credential in full.
fn redact(secret: &str) -> String {
    let shown: String = secret.chars().take(4).collect();
    format!("`{shown}…` ({} chars)", secret.chars().count())
}

/// The text of an example on one line, its secret masked, cut to a readable length.
fn preview(text: &str, secret: &str) -> String {
    let masked = if secret.is_empty() {
        text.to_owned()
    } else {
        let shown: String = secret.chars().take(4).collect();
        text.replace(secret, &format!("{shown}…"))
    };
    let one_line: String = masked
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    if trimmed.chars().count() > 60 {
        format!("`{}…`", trimmed.chars().take(60).collect::<String>())
    } else {
        format!("`{trimmed}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn report(text: &str) -> CheckReport {
        RuleSet::from_config_text(text, Path::new("t.toml"))
            .expect("loads")
            .check()
    }

    const GOOD: &str = r#"
[[rules]]
id = "demo"
description = "Demo token"
regex = '''\b(demo_[a-z0-9]{16})\b'''
keywords = ["demo_"]
examples = [{ text = 'TOKEN=demo_a1b2c3d4e5f6g7h8', secret = 'demo_a1b2c3d4e5f6g7h8' }]
negatives = ['TOKEN=demo_short']
"#;

    #[test]
    fn a_good_rule_is_clean() {
        let r = report(GOOD);
        assert!(r.is_clean(), "{:?}", r.failures);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(r.summary(), "1 rules, 1 examples, 1 negatives checked");
    }

    #[test]
    fn each_kind_of_failure_is_reported_with_rule_and_example() {
        let kinds = |text: &str| -> Vec<IssueKind> {
            report(text).failures.into_iter().map(|f| f.kind).collect()
        };
        // Keyword missing from the example (case differs only: still found).
        assert_eq!(
            kinds(&GOOD.replace(r#"["demo_"]"#, r#"["DEMO_", "x"]"#)),
            Vec::<IssueKind>::new()
        );
        assert_eq!(
            kinds(&GOOD.replace(r#"["demo_"]"#, r#"["token_"]"#)),
            vec![IssueKind::ExampleLacksKeyword]
        );
        // Example that does not match.
        assert_eq!(
            kinds(&GOOD.replace("{16}", "{20}")),
            vec![IssueKind::ExampleDoesNotMatch]
        );
        // Example yielding a different secret than it names.
        let wrong = GOOD.replace(r"\b(demo_[a-z0-9]{16})\b", r"\bdemo_([a-z0-9]{16})\b");
        let r = report(&wrong);
        assert_eq!(r.failures.len(), 1);
        assert_eq!(r.failures[0].kind, IssueKind::WrongSecret);
        let line = r.failures[0].to_string();
        assert!(line.contains("t.toml: rule `demo`: example 1"), "{line}");
        assert!(
            !line.contains("a1b2c3d4e5f6g7h8"),
            "secret printed in full: {line}"
        );
        // Negative that matches.
        let r = report(&GOOD.replace("demo_short", "demo_q9w8e7r6t5y4u3i2"));
        assert_eq!(r.failures.len(), 1);
        assert_eq!(r.failures[0].kind, IssueKind::NegativeMatches);
        assert!(r.failures[0].to_string().contains("negative 1"));
        // Secret not inside the text.
        assert_eq!(
            kinds(&GOOD.replace("secret = 'demo_a1b2c3d4e5f6g7h8'", "secret = 'demo_0000'")),
            vec![IssueKind::SecretNotInExample]
        );
        // No description.
        assert_eq!(
            kinds(&GOOD.replace("description = \"Demo token\"\n", "")),
            vec![IssueKind::NoDescription]
        );
    }

    #[test]
    fn missing_examples_and_negatives_are_warnings() {
        let r = report(
            "[[rules]]\nid = \"bare\"\ndescription = \"Bare\"\nregex = 'bare_[0-9]{8}'\n\
             [[allowlists]]\ntargetRules = [\"ghost\"]\nstopwords = [\"x\"]\n",
        );
        assert!(r.is_clean());
        let kinds: Vec<_> = r.warnings.iter().map(|w| w.kind.clone()).collect();
        assert_eq!(
            kinds,
            vec![
                IssueKind::NoExamples,
                IssueKind::NoNegatives,
                IssueKind::UnknownTargetRule
            ]
        );
    }
}
