//! Shared helpers for the git end-to-end tests (`tests/git_*.rs` include this file with
//! `#[path]`). Repositories are built with the real `git` CLI in temporary directories.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// A test token rule, so the git tests do not depend on the default rules' content.
pub const RULES: &str = r#"
[[rules]]
id = "test-token"
description = "Test token"
regex = '''\b(tsk_[A-Za-z0-9]{24})\b'''
keywords = ["tsk_"]
"#;

/// Random-looking tokens the rule reports (sequential ones count as placeholders).
pub const TOKEN_A: &str = "tsk_q8Zr2LmX7vN4pK9wT3yB6hJ1";
pub const TOKEN_B: &str = "tsk_W7cX1bN5mQ3rT9yK2pL8vZ4d";
pub const TOKEN_C: &str = "tsk_h4Jt8Rk2Xw6Pz1Qm9Lb3Vn7s";

/// A global git config that does not exist (so it is empty). Not /dev/null: a tool that
/// replaces /dev/null with a file would otherwise break every git call.
pub const NO_GLOBAL_CONFIG: &str = "/nonexistent/secrets-guard-tests/gitconfig";

pub struct Repo {
    pub dir: tempfile::TempDir,
    pub rules: PathBuf,
}

impl Repo {
    /// A new, empty repository with the test rules written outside it.
    pub fn init() -> Repo {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("repo")).expect("mkdir");
        let rules = dir.path().join("rules.toml");
        std::fs::write(&rules, RULES).expect("rules");
        let repo = Repo { dir, rules };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
    }

    pub fn git(&self, args: &[&str]) -> String {
        git_in(&self.path(), args)
    }

    /// Stages everything and commits; returns the new commit id.
    pub fn commit_all(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// `secrets-guard scan <args…> --config rules.toml <repo>`, run from the repo.
    pub fn scan(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        let mut cmd = sg();
        cmd.current_dir(self.path()).arg("scan").args(args);
        cmd.arg("--config").arg(&self.rules).arg(self.path());
        cmd.assert()
    }

    /// As [`Repo::scan`], in JSON: (exit code, findings, stderr).
    pub fn scan_json(&self, args: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        let out = self.scan(&all).get_output().clone();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let findings: Vec<serde_json::Value> = if stdout.trim().is_empty() {
            Vec::new()
        } else {
            serde_json::from_str(&stdout)
                .unwrap_or_else(|e| panic!("JSON report: {e}\n{stdout}\n{stderr}"))
        };
        (out.status.code().unwrap_or(-1), findings, stderr)
    }
}

pub fn sg() -> Command {
    let mut cmd = Command::cargo_bin("secrets-guard").expect("binary");
    identity(&mut cmd);
    cmd
}

fn identity(cmd: &mut Command) {
    cmd.env("GIT_AUTHOR_NAME", "Alice Example")
        .env("GIT_AUTHOR_EMAIL", "alice@example.com")
        .env("GIT_COMMITTER_NAME", "Alice Example")
        .env("GIT_COMMITTER_EMAIL", "alice@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", std::env::temp_dir())
        .env("GIT_CONFIG_GLOBAL", NO_GLOBAL_CONFIG)
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE");
}

/// Runs `git` in `dir`, panicking with its stderr on failure; returns stdout.
pub fn git_in(dir: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new("git");
    identity(&mut cmd);
    let out = cmd
        .current_dir(dir)
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value of a count in the `git: …` summary line, e.g. `blob(s) scanned`.
pub fn summary_count(stderr: &str, label: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("git: "))
        .unwrap_or_else(|| panic!("no git summary in:\n{stderr}"));
    let at = line
        .find(label)
        .unwrap_or_else(|| panic!("no `{label}` in `{line}`"));
    line[..at]
        .split_whitespace()
        .last()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count before `{label}` in `{line}`"))
}
