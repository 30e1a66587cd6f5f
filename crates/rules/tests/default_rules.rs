//! The built-in rules prove themselves: every example matches and yields its secret, no
//! negative matches, and every rule carries the metadata a finding needs.

use regex::Regex;
use sg_rules::RuleSet;
use std::collections::HashSet;

fn defaults() -> RuleSet {
    RuleSet::default_rules().unwrap_or_else(|e| panic!("the default rules must load: {e}"))
}

#[test]
fn default_rules_pass_their_own_check() {
    let set = defaults();
    let report = set.check();
    let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(report.rules, set.rules.len());
    assert!(report.examples >= set.rules.len(), "{}", report.summary());
}

#[test]
fn rule_ids_are_unique_and_stable_looking() {
    let set = defaults();
    let shape = Regex::new(r"^[a-z0-9]+(-[a-z0-9]+)*$").expect("valid pattern");
    let mut seen = HashSet::new();
    for rule in &set.rules {
        assert!(
            shape.is_match(&rule.id),
            "rule id `{}` is not kebab-case",
            rule.id
        );
        assert!(
            seen.insert(&rule.id),
            "rule id `{}` is defined twice",
            rule.id
        );
    }
}

#[test]
fn every_default_rule_is_documented_and_tested() {
    let set = defaults();
    let mut missing = Vec::new();
    for rule in &set.rules {
        let mut lacks = Vec::new();
        if rule.examples.is_empty() {
            lacks.push("an example");
        }
        if rule.negatives.is_empty() {
            lacks.push("a negative");
        }
        if rule.description.trim().is_empty() || rule.description == rule.id {
            lacks.push("a description");
        }
        if rule.impact.as_deref().unwrap_or("").trim().is_empty() {
            lacks.push("impact");
        }
        if rule.references.is_empty() {
            lacks.push("a reference");
        }
        if !lacks.is_empty() {
            missing.push(format!(
                "{} ({}): lacks {}",
                rule.id,
                rule.source.display(),
                lacks.join(", ")
            ));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn every_validator_is_used_by_some_default_rule_or_is_ours() {
    // A validator no rule names is dead code; secrets-guard-key is the one that must exist.
    let set = defaults();
    let used: HashSet<&str> = set
        .rules
        .iter()
        .filter_map(|r| r.validator.map(|v| v.name()))
        .collect();
    assert!(used.contains("secrets-guard-key"), "{used:?}");
    assert!(used.contains("github-crc32"), "{used:?}");
}
