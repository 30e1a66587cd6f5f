//! The access database under stress: processes killed in the middle of writes, and many
//! processes writing at once. Runs the real binary against a temporary database.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("secrets-guard")
}

struct Db {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl Db {
    fn session(&self) -> PathBuf {
        self.dir.path().join("session")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(binary())
            .arg("access")
            .arg("--db")
            .arg(&self.path)
            .args(args)
            .env("SECRETS_GUARD_SESSION", self.session())
            .env_remove("SECRETS_GUARD_DB")
            .env("HOME", self.dir.path())
            .output()
            .expect("run")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).expect("json")
    }
}

/// A database with a logged-in Owner and subaccounts prod and dev.
fn account() -> Db {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("access.db");
    let db = Db { dir, path };
    let enrollment = db.json(&[
        "init",
        "--account",
        "Acme",
        "--owner",
        "owner@acme.test",
        "--format",
        "json",
    ]);
    let uri = enrollment["otpauth_uri"].as_str().expect("uri");
    let code = db.ok(&["totp-code", "--secret", uri]);
    db.ok(&["login", "owner@acme.test", "--otp", code.trim()]);
    db.ok(&["subaccount", "add", "prod", "--env", "prod"]);
    db.ok(&["subaccount", "add", "dev", "--env", "dev"]);
    db
}

fn audit_count(db: &Db, action: &str) -> usize {
    db.json(&["audit", "list", "--format", "json"])
        .as_array()
        .expect("array")
        .iter()
        .filter(|e| e["action"] == action && e["result"] == "ok")
        .count()
}

fn rollup_total(db: &Db) -> i64 {
    db.json(&["billing", "rollup", "--format", "json"])["total_minor"]
        .as_i64()
        .expect("total")
}

fn key_count(db: &Db) -> usize {
    db.json(&["key", "list", "--format", "json"])
        .as_array()
        .expect("array")
        .len()
}

/// Starts a shell loop of writers in its own process group, so one SIGKILL takes down the
/// loop and whichever write is in flight.
#[cfg(unix)]
fn writer_loop(db: &Db, script_args: &str) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    let script =
        format!("while :; do \"$BIN\" access --db \"$DB\" {script_args} >/dev/null 2>&1; done");
    std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("BIN", binary())
        .env("DB", &db.path)
        .env("SECRETS_GUARD_SESSION", db.session())
        .env("HOME", db.dir.path())
        .process_group(0)
        .spawn()
        .expect("spawn writer loop")
}

#[cfg(unix)]
fn kill_group(child: &mut std::process::Child) {
    let pgid = child.id() as libc::pid_t;
    // SAFETY: kill(2) with a negative pid signals our own child's process group only.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
    let _ = child.wait();
}

fn assert_consistent(db: &Db, path: &Path) {
    assert!(path.exists());
    let verify = db.run(&["audit", "verify"]);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    // A charge and its audit entry commit together or not at all.
    let charges = audit_count(db, "billing record");
    assert_eq!(rollup_total(db), charges as i64 * 100);
    assert_eq!(key_count(db), audit_count(db, "key create"));
}

#[cfg(unix)]
#[test]
fn killing_writers_mid_transaction_leaves_a_consistent_database() {
    let db = account();
    let mut rounds_with_writes = 0;
    for (round, millis) in [700u64, 1100, 450, 1300].into_iter().enumerate() {
        let before = audit_count(&db, "billing record") + audit_count(&db, "key create");
        let mut charges = writer_loop(
            &db,
            "billing record --subaccount prod --amount 1.00 --description load",
        );
        let mut keys = writer_loop(&db, "key create --subaccount dev --name load");
        std::thread::sleep(std::time::Duration::from_millis(millis));
        kill_group(&mut charges);
        std::thread::sleep(std::time::Duration::from_millis(37 * round as u64));
        kill_group(&mut keys);
        assert_consistent(&db, &db.path);
        let after = audit_count(&db, "billing record") + audit_count(&db, "key create");
        eprintln!(
            "round {round}: {} writes committed before the kill",
            after - before
        );
        if after > before {
            rounds_with_writes += 1;
        }
    }
    assert!(rounds_with_writes > 0, "the writers made progress");
}

#[test]
fn concurrent_processes_lose_no_updates() {
    const PROCESSES: usize = 6;
    const OPERATIONS: usize = 8;
    let db = account();
    std::thread::scope(|scope| {
        for p in 0..PROCESSES {
            let db = &db;
            scope.spawn(move || {
                for op in 0..OPERATIONS {
                    let out = if op % 2 == 0 {
                        db.run(&[
                            "billing",
                            "record",
                            "--subaccount",
                            "prod",
                            "--amount",
                            "1.00",
                            "--description",
                            &format!("process {p} op {op}"),
                        ])
                    } else {
                        db.run(&[
                            "key",
                            "create",
                            "--subaccount",
                            "dev",
                            "--name",
                            &format!("p{p}o{op}"),
                        ])
                    };
                    assert_eq!(
                        out.status.code(),
                        Some(0),
                        "process {p} op {op}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            });
        }
    });
    let charges = PROCESSES * OPERATIONS / 2;
    let keys = PROCESSES * OPERATIONS - charges;
    assert_eq!(audit_count(&db, "billing record"), charges);
    assert_eq!(audit_count(&db, "key create"), keys);
    assert_eq!(rollup_total(&db), charges as i64 * 100);
    assert_eq!(key_count(&db), keys);
    assert_consistent(&db, &db.path);
}
