//! A `.gitleaks.toml` written for gitleaks loads as is and behaves as gitleaks documents.

use sg_rules::{RegexTarget, RuleSet};
use std::path::Path;

const GITLEAKS_CONFIG: &str = r#"
title = "acme gitleaks config"
description = "Rules for the acme monorepo"
minVersion = "v8.25.0"

[extend]
useDefault = true
disabledRules = ["generic-api-key"]

[[rules]]
id = "acme-internal-token"
description = "Acme internal service token"
regex = '''(?i)acme[_-]?token\s*[:=]\s*["']?(acme_[[:alnum:]]{24})["']?'''
secretGroup = 1
entropy = 3.5
keywords = ["acme_token", "acme-token", "acmetoken"]
tags = ["internal", "acme"]

    [rules.allowlist]
    description = "fixtures use a well-known fake"
    regexTarget = "match"
    regexes = ['''acme_FAKE''']

[[rules]]
id = "acme-deploy-key"
description = "Acme deploy key in deploy configs"
regex = '''deploy_key\s*=\s*"(dk_[0-9a-f]{32})"'''
secretGroup = 1
keywords = ["deploy_key"]
path = '''(?:^|/)deploy/[^/]+\.(?:ya?ml|toml)$'''
tags = ["acme"]

    [[rules.allowlists]]
    description = "mocks in the deploy tests"
    condition = "AND"
    regexTarget = "line"
    regexes = ['''#\s*mock\b''']
    paths = ['''^deploy/test-''']

    [[rules.allowlists]]
    stopwords = ["dk_0000"]

    [[rules.required]]
    id = "acme-internal-token"
    withinLines = 5

[[rules]]
id = "acme-legacy"
description = "Legacy {braced} token format"
regex = '''legacy\{(lg_[a-z]{12})\}\Q.end\E'''
keywords = ["legacy{"]
skipReport = false

# Extends the default rule of the same id with an extra allowlist, as gitleaks allows.
[[rules]]
id = "github-pat"
    [[rules.allowlists]]
    regexTarget = "line"
    regexes = ['''TEST_FIXTURE''']

[allowlist]
description = "global allowlist"
paths = ['''(?:^|/)vendor/''', '''\.(?i)(?:png|jpe?g)$''']

[[allowlists]]
description = "targeted at one rule"
targetRules = ["acme-internal-token"]
stopwords = ["sample"]

[[allowlists]]
description = "by commit"
commits = ["1a2b3c4d"]
"#;

fn load() -> RuleSet {
    RuleSet::from_config_text(GITLEAKS_CONFIG, Path::new(".gitleaks.toml"))
        .unwrap_or_else(|e| panic!("a realistic gitleaks config must load: {e}"))
}

fn secrets(set: &RuleSet, id: &str, text: &str, path: &str) -> Vec<String> {
    let rule = set.get(id).unwrap_or_else(|| panic!("rule {id} loaded"));
    if !rule.applies_to_path(Some(path)) {
        return Vec::new();
    }
    rule.find_matches(text.as_bytes(), Some(path), None)
        .into_iter()
        .map(|m| String::from_utf8_lossy(&text.as_bytes()[m.secret]).into_owned())
        .collect()
}

#[test]
fn extends_the_defaults_and_disables_rules() {
    let defaults = RuleSet::default_rules().expect("defaults load");
    let set = load();
    assert!(set.get("generic-api-key").is_none(), "disabled by [extend]");
    assert!(set.get("acme-internal-token").is_some());
    let had_generic = usize::from(defaults.get("generic-api-key").is_some());
    // Three new rules; github-pat merges into the default of the same id.
    assert_eq!(set.rules.len(), defaults.rules.len() - had_generic + 3);
}

#[test]
fn secret_group_entropy_keywords_and_rule_allowlist() {
    let set = load();
    let rule = set.get("acme-internal-token").expect("rule");
    assert_eq!(rule.keywords, vec!["acme_token", "acme-token", "acmetoken"]);
    assert_eq!(rule.tags, vec!["internal", "acme"]);
    let id = "acme-internal-token";
    assert_eq!(
        secrets(
            &set,
            id,
            "ACME_TOKEN=acme_Q7vL2pX9kR4mN8sT1wZ5cB3d",
            "src/a.env"
        ),
        vec!["acme_Q7vL2pX9kR4mN8sT1wZ5cB3d"]
    );
    // Below the entropy threshold.
    assert!(secrets(&set, id, "acme_token: acme_abababababababababababab", "a").is_empty());
    // `[rules.allowlist]` with regexTarget = "match".
    assert!(secrets(&set, id, "acme-token = acme_FAKEq7vL2pX9kR4mN8sT1wZ", "a").is_empty());
    // The targeted global allowlist's stopword applies to this rule only.
    assert!(secrets(&set, id, "acmetoken='acme_sampleQ7vL2pX9kR4mN8sT'", "a").is_empty());
    let other = set.get("acme-deploy-key").expect("rule");
    assert!(other
        .allowlists
        .iter()
        .all(|a| !a.stopwords.contains(&"sample".to_owned())));
}

#[test]
fn path_condition_and_stopwords_on_rule_allowlists() {
    let set = load();
    let id = "acme-deploy-key";
    let line = r#"deploy_key = "dk_4f9a1c7e2b8d6f3a0c5e9b1d7f2a4c6e""#;
    let mock_line = r#"deploy_key = "dk_4f9a1c7e2b8d6f3a0c5e9b1d7f2a4c6e" # mock"#;
    // `path`: only deploy configs.
    assert_eq!(secrets(&set, id, line, "deploy/prod.yaml").len(), 1);
    assert!(secrets(&set, id, line, "src/main.rs").is_empty());
    // condition = AND: the line regex and the path must both hold.
    assert!(secrets(&set, id, mock_line, "deploy/test-prod.yaml").is_empty());
    assert_eq!(secrets(&set, id, mock_line, "deploy/prod.yaml").len(), 1);
    assert_eq!(secrets(&set, id, line, "deploy/test-prod.yaml").len(), 1);
    // stopwords in a second [[rules.allowlists]].
    let stop = r#"deploy_key = "dk_0000c7e2b8d6f3a0c5e9b1d7f2a4c6e9""#;
    assert!(secrets(&set, id, stop, "deploy/prod.yaml").is_empty());
    let rule = set.get(id).expect("rule");
    assert_eq!(rule.allowlists[0].regex_target, RegexTarget::Line);
    assert!(rule.allowlists[0].require_all);
}

#[test]
fn go_regex_syntax_compiles_with_go_meaning() {
    let set = load();
    assert_eq!(
        secrets(&set, "acme-legacy", "x = legacy{lg_abcdefghijkl}.end", "a"),
        vec!["lg_abcdefghijkl"]
    );
    // `\Q.end\E` is a literal dot, not any character.
    assert!(secrets(&set, "acme-legacy", "legacy{lg_abcdefghijkl}xend", "a").is_empty());
}

#[test]
fn extending_a_default_rule_by_id_adds_its_allowlist() {
    let defaults = RuleSet::default_rules().expect("defaults load");
    let Some(base) = defaults.get("github-pat") else {
        return; // the default set has no github-pat rule to extend
    };
    let set = load();
    let merged = set.get("github-pat").expect("merged rule");
    assert!(merged.regex.is_some(), "keeps the default regex");
    assert_eq!(merged.description, base.description);
    // Its own extra allowlist, plus the config's two global allowlists without targetRules.
    assert_eq!(merged.allowlists.len(), base.allowlists.len() + 3);
    let Some(example) = base.examples.first() else {
        return;
    };
    let fixture = format!("{} # TEST_FIXTURE", example.text);
    assert!(merged
        .find_matches(fixture.as_bytes(), Some("a"), None)
        .is_empty());
    assert!(!merged
        .find_matches(example.text.as_bytes(), Some("a"), None)
        .is_empty());
}

#[test]
fn global_allowlists_skip_paths_and_commits() {
    let set = load();
    assert!(set.is_path_allowed("third_party/vendor/lib.go"));
    assert!(set.is_path_allowed("docs/logo.PNG"));
    assert!(!set.is_path_allowed("src/main.rs"));
    let rule = set.get("acme-internal-token").expect("rule");
    let text = b"ACME_TOKEN=acme_Q7vL2pX9kR4mN8sT1wZ5cB3d";
    assert!(rule
        .find_matches(text, Some("a"), Some("1a2b3c4d5e6f"))
        .is_empty());
    assert_eq!(rule.find_matches(text, Some("a"), Some("ffff")).len(), 1);
}

#[test]
fn viper_spellings_and_unknown_keys() {
    // gitleaks reads keys case-insensitively; the lower-case spellings load.
    let lower = r#"
[extend]
usedefault = false
[[rules]]
id = "x"
description = "x"
regex = '''x_([0-9]{6})'''
secretgroup = 1
    [[rules.allowlists]]
    regextarget = "line"
    stopWords = ["x_000"]
"#;
    let set = RuleSet::from_config_text(lower, Path::new("l.toml")).expect("loads");
    assert_eq!(set.rules.len(), 1);
    // A misspelt key is an error naming the file and position, not a silently dead rule.
    let typo = "[[rules]]\nid = \"x\"\nregex = 'x'\nsecretGrup = 1\n";
    let err = RuleSet::from_config_text(typo, Path::new("t.toml")).expect_err("unknown key");
    let msg = err.to_string();
    assert!(
        msg.starts_with("t.toml:4:") && msg.contains("secretGrup"),
        "{msg}"
    );
}

#[test]
fn unsupported_syntax_is_a_clear_error() {
    let look = "[[rules]]\nid = \"look\"\ndescription = \"d\"\nregex = '''(?=x)abc'''\n";
    let msg = RuleSet::from_config_text(look, Path::new("g.toml"))
        .expect_err("lookahead")
        .to_string();
    assert!(msg.contains("g.toml") && msg.contains("`look`"), "{msg}");
    assert!(msg.contains("lookaround"), "{msg}");
    let url = "[extend]\nurl = \"https://example.invalid/gitleaks.toml\"\n";
    let msg = RuleSet::from_config_text(url, Path::new("u.toml"))
        .expect_err("url")
        .to_string();
    assert!(msg.contains("network"), "{msg}");
}

#[test]
fn extend_path_layers_files_and_refuses_cycles() {
    let dir = std::env::temp_dir().join(format!("sg-rules-extend-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let base = dir.join("base.toml");
    std::fs::write(
        &base,
        "[[rules]]\nid = \"base-rule\"\ndescription = \"Base\"\nregex = 'base_[0-9]{8}'\ntags = [\"base\"]\n",
    )
    .expect("write base");
    let top = dir.join("top.toml");
    std::fs::write(
        &top,
        "[extend]\npath = \"base.toml\"\n[[rules]]\nid = \"base-rule\"\ndescription = \"Base, narrowed\"\ntags = [\"team\"]\n",
    )
    .expect("write top");
    let set = RuleSet::from_config_file(&top).expect("layers load");
    assert_eq!(set.rules.len(), 1);
    let rule = set.get("base-rule").expect("merged");
    assert_eq!(rule.description, "Base, narrowed");
    assert_eq!(rule.tags, vec!["base", "team"]);
    assert_eq!(rule.find_matches(b"x base_12345678", None, None).len(), 1);

    let a = dir.join("a.toml");
    let b = dir.join("b.toml");
    std::fs::write(&a, "[extend]\npath = \"b.toml\"\n").expect("write a");
    std::fs::write(&b, "[extend]\npath = \"a.toml\"\n").expect("write b");
    let err = RuleSet::from_config_file(&a).expect_err("cycle");
    assert!(err.to_string().contains("cycle"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_unknown_validator_names_the_known_ones() {
    let text =
        "[[rules]]\nid = \"v\"\ndescription = \"V\"\nregex = 'v_[0-9]{4}'\nvalidator = \"crc\"\n";
    let msg = RuleSet::from_config_text(text, Path::new("v.toml"))
        .expect_err("unknown validator")
        .to_string();
    assert!(
        msg.contains("v.toml") && msg.contains("`v`") && msg.contains("`crc`"),
        "{msg}"
    );
    assert!(
        msg.contains("github-crc32") && msg.contains("pypi-macaroon"),
        "{msg}"
    );
}
