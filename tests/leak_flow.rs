//! The leak → detect → revoke flow across the three parts: a key issued by the access core
//! is committed to a real git repository, the scanner finds it and asks the access store
//! whether it is live, `--revoke-leaked` revokes it, and the env loader refuses it in the
//! wrong environment.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

struct World {
    dir: tempfile::TempDir,
    db: PathBuf,
    session: PathBuf,
    repo: PathBuf,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("access.db");
        let session = dir.path().join("session");
        let repo = dir.path().join("repo");
        std::fs::create_dir(&repo).expect("repo dir");
        World {
            dir,
            db,
            session,
            repo,
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::cargo_bin("secrets-guard").expect("binary");
        cmd.env("SECRETS_GUARD_SESSION", &self.session)
            .env_remove("SECRETS_GUARD_DB")
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("CI");
        cmd
    }

    fn access(&self, args: &[&str], stdin: &str) -> Output {
        self.command()
            .arg("access")
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .write_stdin(stdin)
            .output()
            .expect("run access")
    }

    fn access_ok(&self, args: &[&str]) -> String {
        let out = self.access(args, "");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    fn scan(&self, args: &[&str]) -> Output {
        self.command()
            .arg("scan")
            .args(args)
            .arg("--access-db")
            .arg(&self.db)
            .output()
            .expect("run scan")
    }

    fn git(&self, args: &[&str]) {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(&self.repo)
            .env("GIT_AUTHOR_NAME", "Dana Dev")
            .env("GIT_AUTHOR_EMAIL", "dana@acme.test")
            .env("GIT_COMMITTER_NAME", "Dana Dev")
            .env("GIT_COMMITTER_EMAIL", "dana@acme.test")
            .output()
            .expect("git");
        assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    }

    fn head(&self) -> String {
        let out = std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(&self.repo)
            .output()
            .expect("git rev-parse");
        text(&out.stdout).trim().to_owned()
    }

    /// An account with a prod subaccount, the Owner logged in; returns a new prod key.
    fn account_with_prod_key(&self) -> String {
        let enrollment: Value = serde_json::from_str(&self.access_ok(&[
            "init",
            "--account",
            "Acme",
            "--owner",
            "owner@acme.test",
            "--format",
            "json",
        ]))
        .expect("init json");
        let uri = enrollment["otpauth_uri"].as_str().expect("otpauth uri");
        let code = self.access_ok(&["totp-code", "--secret", uri]);
        self.access_ok(&["login", "owner@acme.test", "--otp", code.trim()]);
        self.access_ok(&["subaccount", "add", "prod", "--env", "prod"]);
        let key = self.access_ok(&[
            "key",
            "create",
            "--subaccount",
            "prod",
            "--name",
            "ci-deploy",
        ]);
        let key = key.trim().to_owned();
        assert!(key.starts_with("sgk_prod_"), "a prod key: {key}");
        key
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn findings(out: &Output) -> Vec<Value> {
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap_or_else(|e| panic!("json report ({e}): {}", text(&out.stdout)))
        .as_array()
        .expect("an array of findings")
        .clone()
}

fn sgk_findings(all: &[Value]) -> Vec<Value> {
    all.iter()
        .filter(|f| f["rule_id"] == "secrets-guard-api-key")
        .cloned()
        .collect()
}

/// The key with its last character changed: same shape, wrong checksum.
fn forged(key: &str) -> String {
    let mut forged = key.to_owned();
    let last = forged.pop().expect("non-empty key");
    forged.push(if last == 'a' { 'b' } else { 'a' });
    forged
}

fn write(path: &Path, contents: &str) {
    std::fs::write(path, contents).expect("write file");
}

#[test]
fn leaked_key_is_detected_live_with_its_commit_then_revoked() {
    let w = World::new();
    let key = w.account_with_prod_key();

    w.git(&["init", "-q", "-b", "main"]);
    write(&w.repo.join("README.md"), "# service\n");
    w.git(&["add", "."]);
    w.git(&["commit", "-q", "-m", "initial"]);
    write(&w.repo.join("deploy.py"), &format!("API_KEY = \"{key}\"\n"));
    write(
        &w.repo.join("typo.py"),
        &format!("API_KEY = \"{}\"\n", forged(&key)),
    );
    w.git(&["add", "."]);
    w.git(&["commit", "-q", "-m", "add deploy script"]);
    let leak_commit = w.head();

    // Detect: live, with subaccount, environment and the commit that introduced it.
    let out = w.scan(&[
        "--git",
        w.repo.to_str().expect("utf-8 path"),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let all = findings(&out);
    let ours = sgk_findings(&all);
    assert_eq!(
        ours.len(),
        1,
        "exactly the real key, not the forged copy: {all:?}"
    );
    let f = &ours[0];
    assert_eq!(f["path"], "deploy.py");
    assert_eq!(f["validated"], true);
    assert_eq!(f["environment"], "prod");
    assert_eq!(f["access"]["status"], "live");
    assert_eq!(f["access"]["subaccount"], "prod");
    assert_eq!(f["access"]["environment"], "prod");
    assert_eq!(f["access"]["key_name"], "ci-deploy");
    assert!(f["access"]["key_id"].is_string() || f["access"]["key_id"].is_number());
    assert_eq!(f["commit"]["id"], leak_commit.as_str());
    assert!(
        !text(&out.stdout).contains(&key),
        "the report never holds the key in full"
    );
    assert!(
        all.iter().all(|f| f["path"] != "typo.py"),
        "a copy with a wrong checksum is never reported: {all:?}"
    );
    assert_eq!(all[0]["access"]["status"], "live", "live leaks come first");

    // Revoke: one step, as the logged-in Owner.
    let out = w.scan(&[
        "--git",
        w.repo.to_str().expect("utf-8 path"),
        "--format",
        "json",
        "--revoke-leaked",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let revoked = sgk_findings(&findings(&out));
    assert_eq!(revoked[0]["access"]["status"], "revoked");
    assert!(
        text(&out.stderr).contains("revoked"),
        "{}",
        text(&out.stderr)
    );

    let verify = w.access(&["key", "verify"], &format!("{key}\n"));
    assert_ne!(verify.status.code(), Some(0));
    assert!(
        text(&verify.stdout).contains("revoked"),
        "{}",
        text(&verify.stdout)
    );

    let audit = w.access_ok(&["audit", "list", "--format", "json"]);
    assert!(
        audit.contains("deploy.py") && audit.contains(&leak_commit),
        "the audit log names the file and commit where the key leaked: {audit}"
    );

    // A later scan still finds the key, now reported as revoked.
    let out = w.scan(&[
        "--git",
        w.repo.to_str().expect("utf-8 path"),
        "--format",
        "json",
    ]);
    assert_eq!(
        sgk_findings(&findings(&out))[0]["access"]["status"],
        "revoked"
    );
}

#[test]
fn live_keys_are_reported_in_every_mode_and_despite_a_baseline() {
    let w = World::new();
    let key = w.account_with_prod_key();
    w.git(&["init", "-q", "-b", "main"]);
    w.git(&["commit", "-q", "-m", "base", "--allow-empty"]);
    let base = w.head();
    write(&w.repo.join("app.env"), &format!("SG_KEY={key}\n"));

    // Working tree, with a baseline that covers the finding: the live key still fails the scan.
    let repo = w.repo.to_str().expect("utf-8 path");
    let baseline = w.dir.path().join("baseline.json");
    let out = w
        .command()
        .args(["baseline", repo, "--output"])
        .arg(&baseline)
        .output()
        .expect("baseline");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = w.scan(&[
        repo,
        "--format",
        "json",
        "--baseline",
        baseline.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let ours = sgk_findings(&findings(&out));
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0]["access"]["status"], "live");

    // Staged.
    w.git(&["add", "app.env"]);
    let out = w.scan(&["--staged", repo, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(sgk_findings(&findings(&out))[0]["access"]["status"], "live");

    // Range.
    w.git(&["commit", "-q", "-m", "add env file"]);
    let out = w.scan(&[
        "--git",
        repo,
        "--range",
        &format!("{base}..HEAD"),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(sgk_findings(&findings(&out))[0]["access"]["status"], "live");
}

#[test]
fn revocation_refused_for_a_user_without_key_rights_revokes_nothing() {
    let w = World::new();
    let key = w.account_with_prod_key();
    // A support user is invited, enrols and logs in, then tries to revoke.
    let token = w.access_ok(&["user", "invite", "help@acme.test", "--role", "support"]);
    let added: Value =
        serde_json::from_str(&w.access_ok(&["accept-invite", token.trim(), "--format", "json"]))
            .expect("accept-invite json");
    let uri = added["otpauth_uri"]
        .as_str()
        .expect("otpauth uri")
        .to_owned();
    let code = w.access_ok(&["totp-code", "--secret", &uri]);
    w.access_ok(&["login", "help@acme.test", "--otp", code.trim()]);

    write(&w.repo.join("leak.txt"), &format!("key: {key}\n"));
    let out = w.scan(&[w.repo.to_str().expect("utf-8 path"), "--revoke-leaked"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("permission denied"),
        "{}",
        text(&out.stderr)
    );
    let verify = w.access(&["key", "verify"], &format!("{key}\n"));
    assert_eq!(
        verify.status.code(),
        Some(0),
        "still valid: {}",
        text(&verify.stdout)
    );
}

#[test]
fn env_loader_refuses_a_prod_key_in_the_dev_file() {
    let w = World::new();
    let key = w.account_with_prod_key();
    w.git(&["init", "-q", "-b", "main"]);
    write(&w.repo.join(".gitignore"), ".env*\n");
    write(&w.repo.join(".env.dev"), &format!("SG_KEY={key}\n"));
    let out = w
        .command()
        .args(["env", "check", "--env", "dev", "--dir"])
        .arg(&w.repo)
        .output()
        .expect("env check");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let report = text(&out.stdout);
    assert!(report.contains("wrong-environment"), "{report}");
    assert!(!report.contains(&key), "never prints the key: {report}");
}
