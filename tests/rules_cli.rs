//! End-to-end: `secrets-guard rules list` and `rules check`, run as the real binary on
//! config files in temporary directories.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::PathBuf;

fn sg() -> Command {
    Command::cargo_bin("secrets-guard").expect("binary builds")
}

fn write_config(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

const GOOD: &str = r#"
title = "team rules"

[[rules]]
id = "team-token"
description = "Team service token"
regex = '''\b(tt_[A-Za-z0-9]{20})\b'''
keywords = ["tt_"]
tags = ["internal", "team"]
references = ["https://wiki.example.invalid/tokens"]
impact = "Calls team services as the token's owner."
examples = [{ text = 'TEAM_TOKEN=tt_Q7vL2pX9kR4mN8sT1wZ5', secret = 'tt_Q7vL2pX9kR4mN8sT1wZ5' }]
negatives = ['TEAM_TOKEN=tt_short']

[[rules]]
id = "another-token"
description = "Another token"
regex = '''\bat_[0-9a-f]{32}\b'''
keywords = ["at_"]
"#;

#[test]
fn check_passes_a_good_config_and_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(&dir, "good.toml", GOOD);
    let out = sg()
        .args(["rules", "check", "--config"])
        .arg(&config)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let stdout = String::from_utf8(out).expect("utf-8");
    assert!(
        stdout.contains("2 rules, 1 examples, 1 negatives checked"),
        "{stdout}"
    );
    // The rule without examples or negatives is a warning, not a failure.
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("warn ") && l.contains("another-token")),
        "{stdout}"
    );
    assert!(
        stdout.contains("`another-token`: has no examples"),
        "{stdout}"
    );
    assert!(!stdout.contains("FAIL"), "{stdout}");
}

#[test]
fn check_fails_with_exit_1_naming_the_rule_and_example() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The example's token is 19 characters: the regex needs 20.
    let broken = GOOD.replace(
        "TEAM_TOKEN=tt_Q7vL2pX9kR4mN8sT1wZ5', secret = 'tt_Q7vL2pX9kR4mN8sT1wZ5'",
        "TEAM_TOKEN=tt_Q7vL2pX9kR4mN8sT1wZ', secret = 'tt_Q7vL2pX9kR4mN8sT1wZ'",
    );
    assert_ne!(broken, GOOD);
    let broken = broken.replace("'TEAM_TOKEN=tt_short'", "'x tt_a1b2c3d4e5f6g7h8i9j0 y'");
    let config = write_config(&dir, "broken.toml", &broken);
    let assert = sg()
        .args(["rules", "check", "--config"])
        .arg(&config)
        .assert()
        .code(1);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.contains("FAIL") && stdout.contains("rule `team-token`: example 1"),
        "{stdout}"
    );
    assert!(stdout.contains("does not match"), "{stdout}");
    assert!(stdout.contains("negative 1"), "{stdout}");
    assert!(stdout.contains("2 failures"), "{stdout}");
    // Secrets are masked in the report.
    assert!(!stdout.contains("tt_a1b2c3d4e5f6g7h8i9j0"), "{stdout}");
}

#[test]
fn a_regex_that_does_not_compile_exits_2_naming_file_and_rule() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        &dir,
        "bad-regex.toml",
        "[[rules]]\nid = \"broken-rule\"\ndescription = \"d\"\nregex = '''(unclosed[a-z'''\n",
    );
    for sub in ["check", "list"] {
        sg().args(["rules", sub, "--config"])
            .arg(&config)
            .assert()
            .code(2)
            .stderr(
                predicate::str::contains("bad-regex.toml")
                    .and(predicate::str::contains("broken-rule")),
            );
    }
}

#[test]
fn a_toml_syntax_error_exits_2_with_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        &dir,
        "syntax.toml",
        "[[rules]]\nid = \"x\"\nregex = 'x'\ntags = [\"a\",\n",
    );
    sg().args(["rules", "check", "--config"])
        .arg(&config)
        .assert()
        .code(2)
        .stderr(predicate::str::is_match(r"syntax\.toml:\d+:\d+: ").expect("valid regex"));
    sg().args(["rules", "check", "--config"])
        .arg(dir.path().join("missing.toml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.toml"));
}

#[test]
fn list_human_is_sorted_by_id_with_tags_and_validator() {
    let out = sg()
        .args(["rules", "list"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let stdout = String::from_utf8(out).expect("utf-8");
    let ids: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(!ids.is_empty());
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    let ours = stdout
        .lines()
        .find(|l| l.starts_with("secrets-guard-api-key "))
        .expect("our own key rule is listed");
    assert!(ours.contains("secrets-guard-key"), "{ours}");
    assert!(ours.contains("secrets-guard API key"), "{ours}");
}

#[test]
fn list_json_has_the_contract_fields() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(&dir, "good.toml", GOOD);
    let out = sg()
        .args(["rules", "list", "--format", "json", "--config"])
        .arg(&config)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let value: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
    let rules = value.as_array().expect("an array");
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0]["id"], "another-token");
    let team = &rules[1];
    assert_eq!(team["id"], "team-token");
    assert_eq!(team["description"], "Team service token");
    assert_eq!(team["tags"], serde_json::json!(["internal", "team"]));
    assert_eq!(team["keywords"], serde_json::json!(["tt_"]));
    assert_eq!(team["validator"], serde_json::Value::Null);
    assert_eq!(
        team["references"],
        serde_json::json!(["https://wiki.example.invalid/tokens"])
    );
    assert_eq!(team["impact"], "Calls team services as the token's owner.");
    assert_eq!(team["examples"], 1);
    assert_eq!(rules[0]["impact"], serde_json::Value::Null);
    assert_eq!(rules[0]["examples"], 0);
}

#[test]
fn a_gitleaks_config_extending_the_defaults_lists_and_checks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        &dir,
        ".gitleaks.toml",
        &format!(
            "title = \"gitleaks config\"\n[extend]\nuseDefault = true\n\
             disabledRules = [\"secrets-guard-api-key\"]\n{}\n\
             [allowlist]\ndescription = \"global\"\npaths = ['''(?:^|/)vendor/''']\n",
            GOOD.replace("title = \"team rules\"", "")
        ),
    );
    let out = sg()
        .args(["rules", "list", "--format", "json", "--config"])
        .arg(&config)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let value: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
    let ids: Vec<&str> = value
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert!(ids.contains(&"team-token"));
    assert!(!ids.contains(&"secrets-guard-api-key"));
    assert!(ids.len() > 2, "the defaults are kept: {ids:?}");
    sg().args(["rules", "check", "--config"])
        .arg(&config)
        .assert()
        .stdout(
            predicate::str::is_match(r"\d+ rules, \d+ examples, \d+ negatives checked")
                .expect("regex"),
        );
}

#[test]
fn check_over_the_default_rules_is_clean() {
    sg().args(["rules", "check"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0 failures"));
}
