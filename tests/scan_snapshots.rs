//! Snapshots of what users read: `scan --help` and the human report on a fixed tree.

use assert_cmd::Command;
use std::fs;

const RULES: &str = r#"
[[rules]]
id = "demo-token"
description = "Demo token"
regex = '''\b(dtk_[A-Za-z0-9]{20})\b'''
secretGroup = 1
keywords = ["dtk_"]

[[rules]]
id = "demo-password"
description = "Demo password assignment"
regex = '''demo_password\s*=\s*"([^"]{8,})"'''
secretGroup = 1
keywords = ["demo_password"]
"#;

fn sg() -> Command {
    let mut cmd = Command::cargo_bin("secrets-guard").expect("binary");
    cmd.env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env_remove("SECRETS_GUARD_DB");
    cmd
}

#[test]
fn scan_help() {
    let out = sg().args(["scan", "--help"]).output().expect("runs");
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

#[test]
fn human_report_on_a_fixed_tree() {
    let tree = tempfile::tempdir().expect("tempdir");
    let root = tree.path();
    fs::write(root.join(".secrets-guard.toml"), RULES).expect("config");
    fs::create_dir_all(root.join("src/conf")).expect("mkdir");
    fs::write(
        root.join(".env"),
        "APP=demo\nDEMO_TOKEN=dtk_Ab3De6Gh9Jk2Mn5Pq8St\n",
    )
    .expect("write");
    fs::write(
        root.join("src/conf/settings.py"),
        "demo_password = \"Tr0ub4dor&3-horse\"\nother = 1\nkey = \"dtk_Zr4Vb7Nm1Qw5Ty8Ui2Op\"  # secrets-guard:allow\n",
    )
    .expect("write");
    fs::write(
        root.join("README.md"),
        "Tokens look like dtk_ followed by 20 characters.\n",
    )
    .expect("write");
    let out = sg().current_dir(root).arg("scan").output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}
