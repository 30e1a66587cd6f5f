//! End-to-end: the default rules on a small real-looking repository read each value the way
//! its kind of file means it (issue 14): code identifiers, types, label keys and shell
//! expansions are quiet; literals, two-line env entries and whole `.properties` values are
//! reported; vendors' published example keys are not.

use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::path::Path;

fn write(root: &Path, rel: &str, content: &str) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(path, content).expect("write");
}

/// `(path, rule, secret)` of every finding, sorted.
fn scan(root: &Path) -> Vec<(String, String, String)> {
    let out = Command::cargo_bin("secrets-guard")
        .expect("binary")
        .current_dir(root)
        .env("NO_COLOR", "1")
        .args(["scan", "--format", "json", "--show-secrets", "."])
        .output()
        .expect("runs");
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let mut found: Vec<(String, String, String)> = findings
        .as_array()
        .expect("array")
        .iter()
        .map(|f| {
            let path = f["path"].as_str().expect("path");
            (
                path.trim_start_matches("./").to_owned(),
                f["rule_id"].as_str().expect("rule").to_owned(),
                f["secret"].as_str().expect("secret").to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

#[test]
fn values_are_judged_by_the_kind_of_file_they_are_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        "pkg/client/client.go",
        "package client\n\n\
         func New(resp *Response) *Client {\n\
         \ttoken.style = yaml_PLAIN_SCALAR_STYLE\n\
         \treturn &Client{\n\
         \t\tCreds: clientCredentials,\n\
         \t\tSecretKey: *resp.Token.SecretKey,\n\
         \t\tHeader: \"X-Api-Credential\",\n\
         \t\tPullSecret: \"acme.dev/image/pull-secret\",\n\
         \t\tapiToken: \"Hq3Zt8Lm2Vx7Kp4Nw9Rc\",\n\
         \t}\n}\n",
    );
    write(
        root,
        "scripts/entrypoint.sh",
        "#!/bin/sh\n: \"${DEPLOY_API_TOKEN:?Zq8Lr2Vx9Kp4Wm7NbH3c must be set}\"\nexec app\n",
    );
    write(
        root,
        "deploy/deployment.yaml",
        "spec:\n  containers:\n    - name: app\n      env:\n        - name: STRIPE_API_KEY\n          value: \"q8Zt3LmV9xR2pK7wN4cYbH6j\"\n        - name: LOG_FORMAT\n          value: \"Wm7NbH3cZq8Lr2Vx9Kp4\"\n",
    );
    write(
        root,
        "src/main/resources/application.properties",
        "spring.datasource.url=jdbc:postgresql://db:5432/app\nspring.datasource.password=Xy7&k9%Lm#2!q~=R\n",
    );
    write(
        root,
        "local/storage.env",
        "AZURE_STORAGE_KEY=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==\nSTRIPE_SECRET_KEY=sk_test_4eC39HqLyjWDarjtT1zdp7dc\n",
    );
    assert_eq!(
        scan(root),
        vec![
            (
                "deploy/deployment.yaml".to_owned(),
                "generic-name-value-pair".to_owned(),
                "q8Zt3LmV9xR2pK7wN4cYbH6j".to_owned()
            ),
            (
                "pkg/client/client.go".to_owned(),
                "generic-api-key".to_owned(),
                "Hq3Zt8Lm2Vx7Kp4Nw9Rc".to_owned()
            ),
            (
                "src/main/resources/application.properties".to_owned(),
                "generic-config-value".to_owned(),
                "Xy7&k9%Lm#2!q~=R".to_owned()
            ),
        ]
    );
}
