//! The generic rules judge a value by the kind of file it is in (`rules/filekinds.toml`),
//! and vendors' published example keys (`rules/example-keys.toml`) never become findings.

use sg_rules::{ConfigFile, RuleSet, DEFAULT_RULE_FILES};
use std::path::Path;

fn defaults() -> RuleSet {
    RuleSet::default_rules().unwrap_or_else(|e| panic!("the default rules must load: {e}"))
}

/// The secrets `rule` reports in `text` as if it were the file at `path`.
fn secrets(set: &RuleSet, rule: &str, text: &str, path: &str) -> Vec<String> {
    let rule = set
        .get(rule)
        .unwrap_or_else(|| panic!("rule {rule} exists"));
    rule.find_matches(text.as_bytes(), Some(path), None)
        .iter()
        .map(|m| String::from_utf8_lossy(&text.as_bytes()[m.secret.clone()]).into_owned())
        .collect()
}

const VALUE: &str = "Zq8Lr2Vx9Kp4Wm7NbH3c";

#[test]
fn an_unquoted_value_is_a_literal_in_config_files_and_code_in_source_files() {
    let set = defaults();
    let bare = format!("api_token = {VALUE}");
    for path in [
        ".env",
        "config/app.yaml",
        "deploy.sh",
        "Dockerfile",
        "notes.md",
    ] {
        assert_eq!(
            secrets(&set, "generic-api-key", &bare, path),
            vec![VALUE],
            "{path}"
        );
    }
    for path in [
        "main.go",
        "src/lib.rs",
        "app.py",
        "web/index.ts",
        "Client.java",
        "a.json",
        "Cargo.toml",
        "main.tf",
    ] {
        assert!(
            secrets(&set, "generic-api-key", &bare, path).is_empty(),
            "{path}: an unquoted value in code is an identifier"
        );
    }
}

#[test]
fn a_quoted_value_is_a_literal_everywhere_and_keeps_its_punctuation() {
    let set = defaults();
    for (text, path) in [
        (format!("apiToken := \"{VALUE}\""), "main.go"),
        (format!("let api_token = \"{VALUE}\";"), "src/lib.rs"),
        (format!("API_TOKEN = '{VALUE}'"), "app.py"),
        (format!("\"api_token\": \"{VALUE}\","), "a.json"),
        (format!("api_token = \"{VALUE}\""), "main.tf"),
    ] {
        assert_eq!(
            secrets(&set, "generic-api-key", &text, path),
            vec![VALUE],
            "{path}"
        );
    }
    let punct = "p&Ss%9w#Rd!x~Q=7";
    assert_eq!(
        secrets(
            &set,
            "generic-api-key",
            &format!("password: \"{punct}\""),
            "db.yaml"
        ),
        vec![punct]
    );
}

#[test]
fn a_header_value_inside_a_string_counts_and_a_type_after_the_header_name_does_not() {
    let set = defaults();
    let token = "t94rwIOAbbMQSs0qfsd2q3gK86fhUpOnMUxgW7RePr3";
    assert_eq!(
        secrets(
            &set,
            "http-authorization-bearer",
            &format!("req.Header.Set(\"Authorization\", \"Bearer {token}\")"),
            "client.go"
        ),
        vec![token]
    );
    assert!(secrets(
        &set,
        "http-authorization-bearer",
        "pub const TPM_20_E_NV_AUTHORIZATION: windows_sys_core_HRESULT = 0x80280149_u32 as _;",
        "src/Windows/Win32/mod.rs"
    )
    .is_empty());
}

#[test]
fn a_shell_expansion_is_no_assignment() {
    let set = defaults();
    for path in [
        "scripts/deploy.sh",
        "Dockerfile",
        "docker-compose.yml",
        "run.txt",
    ] {
        let text = format!(": \"${{DEPLOY_API_TOKEN:?{VALUE} must be set}}\"");
        assert!(
            secrets(&set, "generic-api-key", &text, path).is_empty(),
            "{path}"
        );
    }
    // The same text with no file kind known (`rules check`) is still an assignment to the
    // regex: the expansion is recognised through the file kind only.
    let rule = set.get("generic-api-key").expect("rule");
    let text = format!(": \"${{DEPLOY_API_TOKEN:?{VALUE} must be set}}\"");
    assert_eq!(rule.find_matches(text.as_bytes(), None, None).len(), 1);
}

#[test]
fn a_name_on_one_line_gives_its_meaning_to_the_value_on_the_next() {
    let set = defaults();
    let yaml = format!("      env:\n        - name: API_KEY\n          value: \"{VALUE}\"\n");
    assert_eq!(
        secrets(
            &set,
            "generic-name-value-pair",
            &yaml,
            "k8s/deployment.yaml"
        ),
        vec![VALUE]
    );
    let not_secret = format!("        - name: LOG_FORMAT\n          value: \"{VALUE}\"\n");
    assert!(secrets(
        &set,
        "generic-name-value-pair",
        &not_secret,
        "k8s/deployment.yaml"
    )
    .is_empty());
    let ecs = format!("{{\"name\": \"DB_PASSWORD\", \"value\": \"{VALUE}\"}}");
    assert_eq!(
        secrets(
            &set,
            "generic-name-value-pair",
            &ecs,
            "task-definition.json"
        ),
        vec![VALUE]
    );
}

#[test]
fn properties_and_ini_values_are_read_to_the_end_of_the_line() {
    let set = defaults();
    let value = "Xy7&k9%Lm#2!q~=R";
    let text = format!("spring.datasource.password={value}\n");
    assert_eq!(
        secrets(
            &set,
            "generic-config-value",
            &text,
            "application.properties"
        ),
        vec![value]
    );
    // generic-api-key leaves these files to generic-config-value: one finding, not two.
    assert!(secrets(&set, "generic-api-key", &text, "application.properties").is_empty());
    let rule = set.get("generic-config-value").expect("rule");
    assert!(!rule.applies_to_path(Some("settings.py")));
}

#[test]
fn a_config_can_add_its_own_file_kinds_ahead_of_the_defaults() {
    let config = r#"
[extend]
useDefault = true

[[filekinds]]
name = "templates"
paths = ['''\.tmpl$''']
quotes = ['"']
"#;
    let set = RuleSet::from_config_text(config, Path::new("custom.toml")).expect("config loads");
    let bare = format!("api_token = {VALUE}");
    assert!(secrets(&set, "generic-api-key", &bare, "page.tmpl").is_empty());
    assert_eq!(
        secrets(&set, "generic-api-key", &bare, "page.txt"),
        vec![VALUE]
    );
}

#[test]
fn every_published_example_key_has_its_page_and_is_never_reported() {
    let set = defaults();
    let mut keys = Vec::new();
    for (name, text) in DEFAULT_RULE_FILES {
        let file: ConfigFile = toml::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        keys.extend(file.example_keys);
    }
    assert!(keys.len() >= 10, "{} example keys", keys.len());
    for key in &keys {
        assert!(
            key.reference.starts_with("https://"),
            "{}: reference {}",
            key.vendor,
            key.reference
        );
        for text in [
            format!("api_key = \"{}\"", key.value),
            format!("AccountKey={};", key.value),
            format!("Authorization: Bearer {}", key.value),
            format!("STRIPE_SECRET_KEY={}", key.value),
        ] {
            for rule in &set.rules {
                let found = rule.find_matches(text.as_bytes(), Some("example.env"), None);
                assert!(
                    found
                        .iter()
                        .all(|m| &text.as_bytes()[m.secret.clone()] != key.value.as_bytes()),
                    "{} reports the {} example key",
                    rule.id,
                    key.vendor
                );
            }
        }
    }
}

#[test]
fn an_example_key_without_its_page_is_refused() {
    let config = r#"
[[exampleKeys]]
vendor = "Acme"
value = "acme_live_Zq8Lr2Vx9Kp4Wm7N"
reference = "trust me"
"#;
    let err = RuleSet::from_config_text(config, Path::new("custom.toml"))
        .expect_err("a key without a reference URL is refused");
    let message = err.to_string();
    assert!(
        message.contains("custom.toml") && message.contains("reference"),
        "{message}"
    );
}
