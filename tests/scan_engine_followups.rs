//! End-to-end checks of engine behaviour: one finding per secret across provider and
//! generic rules and name-only rules on binary files (default rules), and git scans that
//! read a blob once but judge each of its paths on its own.

#[path = "git_support.rs"]
mod support;

use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::path::Path;

fn scan_json(root: &Path) -> (Option<i32>, Vec<Value>, String) {
    let out = Command::cargo_bin("secrets-guard")
        .expect("binary")
        .current_dir(root)
        .env("NO_COLOR", "1")
        .args(["scan", "--format", "json", "."])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let found: Vec<Value> = serde_json::from_str(&stdout).expect("json report");
    (
        out.status.code(),
        found,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn rule_ids(found: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = found
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap_or("?").to_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_provider_token_is_reported_once_not_again_by_generic_api_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(
        dir.path().join("deploy.env"),
        "LINODE_TOKEN=80fbfdfc6d18c4556d4650d88cfafe9ead58d69009fe40d430e3247407d03762\n\
         API_KEY=\"Qm7tX2vR9pL4kW8zN3cB6hJ1\"\n",
    )
    .expect("write");
    let (code, found, stderr) = scan_json(dir.path());
    assert_eq!(code, Some(1), "{stderr}");
    // The Linode token by its own rule only; the unrelated key still by the generic rule.
    assert_eq!(
        rule_ids(&found),
        vec!["generic-api-key", "linode-api-token"],
        "{found:#?}"
    );
    let linode = found
        .iter()
        .find(|f| f["rule_id"] == "linode-api-token")
        .expect("linode finding");
    assert_eq!(linode["line"], 1);
    let generic = found
        .iter()
        .find(|f| f["rule_id"] == "generic-api-key")
        .expect("generic finding");
    assert_eq!(generic["line"], 2);
}

#[test]
fn a_binary_p12_is_reported_by_name_and_counted_as_binary() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A PKCS#12 file starts with a DER SEQUENCE and holds NUL bytes.
    let mut der = vec![
        0x30, 0x82, 0x0a, 0x1c, 0x02, 0x01, 0x03, 0x30, 0x82, 0x09, 0xe2,
    ];
    der.extend((0u8..=255).cycle().take(2000));
    fs::create_dir_all(dir.path().join("certs")).expect("mkdir");
    fs::write(dir.path().join("certs/client.p12"), &der).expect("write");
    fs::write(dir.path().join("blob.bin"), &der).expect("write");
    let (code, found, stderr) = scan_json(dir.path());
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["path"], "certs/client.p12", "{found:#?}");
    assert!(
        stderr.contains("skipped 2 binary"),
        "both files' content is skipped as binary: {stderr}"
    );
}

#[test]
fn history_and_range_judge_each_path_of_a_shared_blob() {
    let repo = support::Repo::init();
    repo.write("README", "base\n");
    let base = repo.commit_all("base");
    let text = format!("checksum = \"{}\"\n", support::TOKEN_A);
    // One blob at four paths: a lockfile's checksum field, a one-line file named like a
    // bundle (generated is judged by content: this one is hand-written), and two ordinary
    // files. All but the lockfile report it, whichever path is read first.
    for path in [
        "a/Cargo.lock",
        "b/app.min.js",
        "c/notes.toml",
        "d/settings.toml",
    ] {
        repo.write(path, &text);
    }
    repo.commit_all("one blob, four paths");
    let range = format!("{base}..HEAD");
    for args in [vec!["--git"], vec!["--git", "--range", range.as_str()]] {
        let (code, findings, stderr) = repo.scan_json(&args);
        assert_eq!(code, 1, "{args:?}: {stderr}");
        let mut paths: Vec<&str> = findings
            .iter()
            .map(|f| f["path"].as_str().unwrap_or("?"))
            .collect();
        paths.sort();
        assert_eq!(
            paths,
            vec!["b/app.min.js", "c/notes.toml", "d/settings.toml"],
            "{args:?}"
        );
    }
}
