//! End-to-end tests of `secrets-guard access`: the real binary, a temporary database and
//! per-user session files.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

struct Team {
    dir: tempfile::TempDir,
    db: PathBuf,
}

impl Team {
    fn new() -> Team {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("access.db");
        Team { dir, db }
    }

    fn session_file(&self, who: &str) -> PathBuf {
        self.dir.path().join(format!("session-{who}"))
    }

    /// Runs `secrets-guard access --db DB ARGS` as `who` (whose session file is private to them).
    fn run_with_stdin(&self, who: &str, args: &[&str], stdin: &str) -> Output {
        Command::cargo_bin("secrets-guard")
            .expect("binary")
            .arg("access")
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .env("SECRETS_GUARD_SESSION", self.session_file(who))
            .env_remove("SECRETS_GUARD_DB")
            .env("HOME", self.dir.path())
            .write_stdin(stdin)
            .output()
            .expect("run")
    }

    fn run(&self, who: &str, args: &[&str]) -> Output {
        self.run_with_stdin(who, args, "")
    }

    fn ok(&self, who: &str, args: &[&str]) -> String {
        let out = self.run(who, args);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        stdout(&out)
    }

    fn json(&self, who: &str, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(who, args)).expect("json output")
    }

    /// `init`, and the Owner logged in; returns the Owner's enrollment.
    fn init(&self) -> Value {
        let enrollment = self.json(
            "owner",
            &[
                "init",
                "--account",
                "Acme",
                "--owner",
                "owner@acme.test",
                "--format",
                "json",
            ],
        );
        self.login("owner", "owner@acme.test", &enrollment);
        enrollment
    }

    fn login(&self, who: &str, email: &str, enrollment: &Value) {
        let uri = enrollment["otpauth_uri"].as_str().expect("uri");
        let code = self.ok(who, &["totp-code", "--secret", uri]);
        self.ok(who, &["login", email, "--otp", code.trim()]);
    }

    /// `user invite` as `by`: the token, which must be alone on stdout.
    fn invite(&self, by: &str, email: &str, role: &str, extra: &[&str]) -> String {
        let mut args = vec!["user", "invite", email, "--role", role];
        args.extend_from_slice(extra);
        let out = self.run(by, &args);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        let token = stdout(&out);
        assert_eq!(
            token.lines().count(),
            1,
            "the token alone on stdout: {token}"
        );
        assert!(token.starts_with("sginv_"), "{token}");
        assert!(
            stderr(&out).contains("accept-invite"),
            "the explanation goes to stderr: {}",
            stderr(&out)
        );
        token.trim().to_owned()
    }

    /// `accept-invite TOKEN` as the invitee: their enrollment.
    fn accept(&self, who: &str, token: &str) -> Value {
        self.json(who, &["accept-invite", token, "--format", "json"])
    }

    /// What `user add` was: invited by `by`, then accepted by the invitee (session `email`).
    fn add_user(&self, by: &str, email: &str, role: &str, extra: &[&str]) -> Value {
        let token = self.invite(by, email, role, extra);
        self.accept(email, &token)
    }
}

/// A TOTP code for the step after the current one: accepted (one step of drift) even when
/// the current step's code was already used, as `transfer-ownership --otp` needs.
fn next_code(team: &Team, enrollment: &Value) -> String {
    let uri = enrollment["otpauth_uri"].as_str().expect("uri");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 30;
    team.ok(
        "x",
        &["totp-code", "--secret", uri, "--time", &now.to_string()],
    )
    .trim()
    .to_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn subaccounts(team: &Team) {
    for (name, env) in [("prod", "prod"), ("qa", "qa"), ("dev", "dev")] {
        team.ok("owner", &["subaccount", "add", name, "--env", env]);
    }
}

#[test]
fn totp_code_helper_reproduces_rfc6238() {
    let team = Team::new();
    // base32("12345678901234567890"), the RFC 6238 appendix B seed; six-digit codes.
    let seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    for (time, expected) in [
        ("59", "287082"),
        ("1111111109", "081804"),
        ("2000000000", "279037"),
    ] {
        let out = team.ok("x", &["totp-code", "--secret", seed, "--time", time]);
        assert_eq!(out.trim(), expected);
    }
    let out = team.run("x", &["totp-code", "--secret", "not base32!"]);
    assert_eq!(code(&out), 2);
}

#[test]
fn init_prints_the_uri_and_recovery_codes_once() {
    let team = Team::new();
    let out = team.ok(
        "owner",
        &["init", "--account", "Acme", "--owner", "owner@acme.test"],
    );
    let uri = out
        .lines()
        .find(|l| l.starts_with("otpauth://totp/"))
        .expect("uri line");
    assert!(
        uri.contains("?secret=") && uri.ends_with("&issuer=secrets-guard"),
        "{uri}"
    );
    // Ten codes of 16 base32 characters: XXXX-XXXX-XXXX-XXXX.
    let recovery: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.len() == 19
                && l.split('-').count() == 4
                && l.split('-').all(|g| {
                    g.len() == 4
                        && g.bytes()
                            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
                })
        })
        .collect();
    assert_eq!(recovery.len(), 10, "{out}");
    // The database stores neither the recovery codes nor anything that prints them again.
    let db = std::fs::read(&team.db).expect("db");
    let wal = std::fs::read(team.db.with_extension("db-wal")).unwrap_or_default();
    let hay = [db.as_slice(), wal.as_slice()].concat();
    for code in &recovery {
        assert!(!hay.windows(code.len()).any(|w| w == code.as_bytes()));
    }
    // Nor the TOTP secret in clear: it is sealed under the key file beside the database.
    let secret = uri
        .split_once("secret=")
        .and_then(|(_, rest)| rest.split('&').next())
        .expect("secret in uri");
    assert!(!hay.windows(secret.len()).any(|w| w == secret.as_bytes()));
    assert!(
        sg_access::serverkey::local_key_path(&team.db).exists(),
        "the key file sits beside the database"
    );
    let again = team.run(
        "owner",
        &["init", "--account", "Acme", "--owner", "x@acme.test"],
    );
    assert_eq!(code(&again), 2);
    let fresh = Team::new();
    let missing = fresh.run("owner", &["whoami"]);
    assert_eq!(code(&missing), 2);
    assert!(stderr(&missing).contains("init"), "{}", stderr(&missing));
    assert!(!fresh.db.exists(), "a mistyped --db creates nothing");
    let bad = Team::new().run(
        "owner",
        &[
            "init",
            "--account",
            "A",
            "--owner",
            "o@a.test",
            "--currency",
            "XYZ",
        ],
    );
    assert_eq!(code(&bad), 2);
    assert!(stderr(&bad).contains("unknown currency"));
}

#[test]
fn logging_in_needs_a_fresh_code_and_writes_a_private_session_file() {
    let team = Team::new();
    let enrollment = team.json(
        "owner",
        &[
            "init",
            "--account",
            "Acme",
            "--owner",
            "owner@acme.test",
            "--format",
            "json",
        ],
    );
    let out = team.run("owner", &["whoami"]);
    assert_eq!(code(&out), 3, "no session yet");
    let wrong = team.run("owner", &["login", "owner@acme.test", "--otp", "000000"]);
    assert_eq!(code(&wrong), 3);
    let uri = enrollment["otpauth_uri"].as_str().expect("uri");
    let totp = team.ok("owner", &["totp-code", "--secret", uri]);
    team.ok("owner", &["login", "owner@acme.test", "--otp", totp.trim()]);
    let replay = team.run("owner", &["login", "owner@acme.test", "--otp", totp.trim()]);
    assert_eq!(code(&replay), 3, "a code is never accepted twice");
    assert!(stderr(&replay).contains("already used"));

    let file = team.session_file("owner");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file)
            .expect("session file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let me = team.json("owner", &["whoami", "--format", "json"]);
    assert_eq!(me["email"], "owner@acme.test");
    assert_eq!(me["role"], "owner");

    // A recovery code works once.
    let recovery = enrollment["recovery_codes"][0].as_str().expect("code");
    team.ok(
        "other",
        &["login", "owner@acme.test", "--recovery-code", recovery],
    );
    let again = team.run(
        "other",
        &["login", "owner@acme.test", "--recovery-code", recovery],
    );
    assert_eq!(code(&again), 3);

    team.ok("owner", &["logout"]);
    assert!(!file.exists());
    assert_eq!(code(&team.run("owner", &["whoami"])), 3);
    // A forged session file is no session.
    std::fs::write(&file, "deadbeef").expect("write");
    assert_eq!(code(&team.run("owner", &["whoami"])), 3);
}

#[test]
fn developers_are_limited_to_their_subaccounts() {
    let team = Team::new();
    team.init();
    subaccounts(&team);
    let dev = team.add_user(
        "owner",
        "dev@acme.test",
        "developer",
        &["--subaccounts", "dev,qa"],
    );
    assert!(dev["otpauth_uri"]
        .as_str()
        .expect("uri")
        .starts_with("otpauth://totp/"));

    // Before verifying 2FA nobody can do anything; login with a code is the way in.
    team.login("dev", "dev@acme.test", &dev);
    let refused = team.run("dev", &["key", "create", "--subaccount", "prod"]);
    assert_eq!(code(&refused), 3);
    assert!(
        stderr(&refused).contains(
            "permission denied: dev@acme.test (developer) may not create keys in subaccount prod"
        ),
        "{}",
        stderr(&refused)
    );
    let key = team.ok(
        "dev",
        &["key", "create", "--subaccount", "qa", "--name", "ci"],
    );
    let key = key.trim();
    assert!(key.starts_with("sgk_qa_"), "{key}");
    assert_eq!(key.lines().count(), 1, "the key is alone on stdout");

    let listed = team.json("dev", &["key", "list", "--format", "json"]);
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), 1);
    for field in [
        "id",
        "name",
        "subaccount",
        "environment",
        "created",
        "expires",
        "status",
    ] {
        assert!(
            listed[0].get(field).is_some(),
            "key list JSON lacks {field}"
        );
    }
    assert_eq!(listed[0]["environment"], "qa");
    assert_eq!(listed[0]["status"], "live");
    let listing = team.ok("owner", &["key", "list"]);
    assert!(
        !listing.contains(&key[12..]),
        "listings never show the secret"
    );

    assert_eq!(
        code(&team.run("dev", &["key", "list", "--subaccount", "prod"])),
        3
    );
    assert_eq!(code(&team.run("dev", &["billing", "rollup"])), 3);
    assert_eq!(
        code(&team.run("dev", &["user", "add", "x@acme.test", "--role", "support"])),
        3
    );
    // Refusals are in the audit log.
    let log = team.json("owner", &["audit", "list", "--format", "json"]);
    let refused: Vec<&Value> = log
        .as_array()
        .expect("array")
        .iter()
        .filter(|e| e["result"] == "refused" && e["actor"] == "dev@acme.test")
        .collect();
    assert_eq!(refused.len(), 4);
}

#[test]
fn keys_verify_rotate_and_revoke() {
    let team = Team::new();
    team.init();
    subaccounts(&team);
    let key = team.ok(
        "owner",
        &["key", "create", "--subaccount", "prod", "--name", "api"],
    );
    let key = key.trim().to_owned();
    let verify = |secret: &str| {
        let out = team.run_with_stdin("anyone", &["key", "verify"], &format!("{secret}\n"));
        (code(&out), stdout(&out).trim().to_owned())
    };
    assert_eq!(verify(&key), (0, "valid".to_owned()));
    assert_eq!(
        verify("sgk_prod_0000000000000000000000000000000000000"),
        (1, "unknown".to_owned())
    );
    let listed = team.json("owner", &["key", "list", "--format", "json"]);
    assert!(
        listed[0]["last_used"].is_string(),
        "verify records last use"
    );

    let id = listed[0]["id"].as_i64().expect("id").to_string();
    let rotated = team.json(
        "owner",
        &[
            "key",
            "rotate",
            &id,
            "--grace-hours",
            "2",
            "--format",
            "json",
        ],
    );
    let new_key = rotated["key"].as_str().expect("key").to_owned();
    assert!(new_key.starts_with("sgk_prod_"));
    assert_eq!(
        verify(&key).0,
        0,
        "the old key works during the grace period"
    );
    assert_eq!(verify(&new_key).0, 0);
    let rotated_now = team.run("owner", &["key", "rotate", &id, "--grace-hours", "0"]);
    assert_eq!(code(&rotated_now), 2, "a key is rotated once");

    team.ok("owner", &["key", "revoke", &id]);
    assert_eq!(verify(&key), (1, "revoked".to_owned()));
    assert_eq!(code(&team.run("owner", &["key", "revoke", &id])), 2);
    assert_eq!(code(&team.run("owner", &["key", "revoke", "999"])), 2);

    let new_id = rotated["id"].as_i64().expect("id").to_string();
    let short = team.ok("owner", &["key", "rotate", &new_id, "--grace-hours", "0"]);
    assert_eq!(verify(&new_key), (1, "expired".to_owned()));
    assert_eq!(verify(short.trim()).0, 0);
}

#[test]
fn billing_rollup_sums_subaccounts_for_billing_roles_only() {
    let team = Team::new();
    team.init();
    subaccounts(&team);
    let billing = team.add_user("owner", "bill@acme.test", "billing-manager", &[]);
    team.login("bill", "bill@acme.test", &billing);
    let support = team.add_user("owner", "help@acme.test", "support", &[]);
    team.login("help", "help@acme.test", &support);

    for (sub, amount) in [
        ("prod", "12.34"),
        ("prod", "100"),
        ("qa", "0.5"),
        ("dev", "0.07"),
    ] {
        team.ok(
            "bill",
            &[
                "billing",
                "record",
                "--subaccount",
                sub,
                "--amount",
                amount,
                "--description",
                "usage",
            ],
        );
    }
    for bad in ["12.345", "-3", "1e2", "abc"] {
        let out = team.run(
            "bill",
            &[
                "billing",
                "record",
                "--subaccount",
                "qa",
                "--amount",
                bad,
                "--description",
                "x",
            ],
        );
        assert_eq!(code(&out), 2, "{bad}");
    }
    let unknown_sub = team.run(
        "bill",
        &[
            "billing",
            "record",
            "--subaccount",
            "nope",
            "--amount",
            "1",
            "--description",
            "x",
        ],
    );
    assert_eq!(code(&unknown_sub), 2);

    let rollup = team.json("bill", &["billing", "rollup", "--format", "json"]);
    assert_eq!(rollup["currency"], "USD");
    assert_eq!(rollup["total_minor"], 11291);
    let subs = rollup["subaccounts"].as_array().expect("array");
    let total = |name: &str| {
        subs.iter()
            .find(|s| s["name"] == name)
            .and_then(|s| s["total_minor"].as_i64())
    };
    assert_eq!(total("prod"), Some(11234));
    assert_eq!(total("qa"), Some(50));
    assert_eq!(total("dev"), Some(7));
    let sum: i64 = subs.iter().filter_map(|s| s["total_minor"].as_i64()).sum();
    assert_eq!(rollup["total_minor"].as_i64(), Some(sum));
    assert!(subs.iter().all(|s| s["environment"].is_string()));

    assert_eq!(code(&team.run("help", &["billing", "rollup"])), 3);
    assert_eq!(
        code(&team.run(
            "help",
            &[
                "billing",
                "record",
                "--subaccount",
                "qa",
                "--amount",
                "1",
                "--description",
                "x"
            ]
        )),
        3
    );
    assert_eq!(code(&team.run("help", &["audit", "list"])), 0);
}

#[test]
fn ownership_rules_hold_through_the_cli() {
    let team = Team::new();
    let owner = team.init();
    let admin = team.add_user("owner", "admin@acme.test", "administrator", &[]);
    team.login("admin", "admin@acme.test", &admin);

    let out = team.run("owner", &["user", "remove", "owner@acme.test"]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("transfer ownership first"));
    assert_eq!(
        code(&team.run("owner", &["user", "role", "owner@acme.test", "support"])),
        3
    );
    assert_eq!(
        code(&team.run("owner", &["user", "add", "o2@acme.test", "--role", "owner"])),
        3
    );
    assert_eq!(
        code(&team.run(
            "admin",
            &["user", "add", "a2@acme.test", "--role", "administrator"]
        )),
        3,
        "nobody grants a role above what they may manage"
    );
    let admin_code = next_code(&team, &admin);
    assert_eq!(
        code(&team.run(
            "admin",
            &[
                "transfer-ownership",
                "admin@acme.test",
                "--otp",
                &admin_code
            ]
        )),
        3
    );
    // The Owner confirms with a fresh code: a wrong one is refused.
    assert_eq!(
        code(&team.run(
            "owner",
            &["transfer-ownership", "admin@acme.test", "--otp", "000000"]
        )),
        3
    );
    assert_eq!(
        code(&team.run("owner", &["user", "role", "admin@acme.test", "boss"])),
        2
    );

    let otp = next_code(&team, &owner);
    team.ok(
        "owner",
        &["transfer-ownership", "admin@acme.test", "--otp", &otp],
    );
    let users = team.json("admin", &["user", "list", "--format", "json"]);
    let role_of = |email: &str| {
        users
            .as_array()
            .expect("array")
            .iter()
            .find(|u| u["email"] == email)
            .map(|u| u["role"].clone())
    };
    assert_eq!(role_of("admin@acme.test"), Some(Value::from("owner")));
    assert_eq!(
        role_of("owner@acme.test"),
        Some(Value::from("administrator"))
    );
    team.ok("admin", &["user", "remove", "owner@acme.test"]);
    assert_eq!(
        code(&team.run("owner", &["whoami"])),
        3,
        "a removed user's session is dead"
    );
}

#[test]
fn doctor_warns_and_exits_one() {
    let team = Team::new();
    team.init();
    subaccounts(&team);
    let out = team.run("owner", &["doctor"]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("no-backup-administrator"));

    let admin = team.add_user("owner", "admin@acme.test", "administrator", &[]);
    let out = team.run("owner", &["doctor", "--format", "json"]);
    assert_eq!(code(&out), 1);
    let report: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let kinds: Vec<&str> = report["warnings"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|w| w["kind"].as_str())
        .collect();
    assert_eq!(kinds, vec!["never-logged-in"]);
    team.login("admin", "admin@acme.test", &admin);
    assert_eq!(code(&team.run("owner", &["doctor"])), 0);

    let key = team.ok("admin", &["key", "create", "--subaccount", "prod"]);
    let out = team.run("owner", &["doctor"]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("never been used"));
    team.run_with_stdin("x", &["key", "verify"], &key);
    assert_eq!(code(&team.run("owner", &["doctor"])), 0);
    // Re-roled to developer without --subaccounts: no subaccounts at all (fails closed).
    let out = team.ok("owner", &["user", "role", "admin@acme.test", "developer"]);
    assert!(out.contains("no subaccounts"), "{out}");
    let me = team.json("admin", &["whoami", "--format", "json"]);
    assert_eq!(me["subaccounts"], serde_json::json!([]));
    assert_eq!(
        code(&team.run("admin", &["key", "create", "--subaccount", "dev"])),
        3
    );
    team.ok("owner", &["user", "role", "admin@acme.test", "support"]);
    let out = team.run("owner", &["doctor"]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("orphaned-prod-key"),
        "{}",
        stdout(&out)
    );
}

/// Rewrites the first occurrence of `from` in the file with `to` (same length).
fn patch_file(path: &Path, from: &str, to: &str) -> bool {
    assert_eq!(from.len(), to.len());
    let mut bytes = std::fs::read(path).expect("read");
    let Some(at) = bytes.windows(from.len()).position(|w| w == from.as_bytes()) else {
        return false;
    };
    bytes[at..at + to.len()].copy_from_slice(to.as_bytes());
    std::fs::write(path, bytes).expect("write");
    true
}

#[test]
fn audit_verify_names_the_first_edited_entry() {
    let team = Team::new();
    team.init();
    subaccounts(&team);
    let out = team.ok("owner", &["audit", "verify"]);
    // init, accept-invite, login and three subaccounts.
    assert!(out.contains("6 entries"), "{out}");
    // Every process has exited, so the WAL has been checkpointed into the main file.
    assert!(
        patch_file(&team.db, "environment qa", "environment QA"),
        "the audit text is in the database file"
    );
    let out = team.run("owner", &["audit", "verify"]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("first bad entry is 5"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_database_comes_from_db_then_the_environment() {
    let team = Team::new();
    team.init();
    let session = team.session_file("owner");
    let run = |args: &[&str], env_db: &Path| {
        Command::cargo_bin("secrets-guard")
            .expect("binary")
            .arg("access")
            .args(args)
            .env("SECRETS_GUARD_SESSION", &session)
            .env("SECRETS_GUARD_DB", env_db)
            .env("HOME", team.dir.path())
            .output()
            .expect("run")
    };
    // Without --db the environment variable names the database.
    let out = run(&["whoami"], &team.db);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("owner@acme.test"));
    // --db wins over the environment.
    let elsewhere = team.dir.path().join("elsewhere.db");
    let db = team.db.to_string_lossy().into_owned();
    let out = run(&["--db", &db, "whoami"], &elsewhere);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!elsewhere.exists());
}

#[test]
fn custom_environments_get_their_own_keys() {
    let team = Team::new();
    team.init();
    team.ok(
        "owner",
        &["subaccount", "add", "staging", "--env", "staging2"],
    );
    assert_eq!(
        code(&team.run("owner", &["subaccount", "add", "x", "--env", "Stage"])),
        2
    );
    assert_eq!(
        code(&team.run("owner", &["subaccount", "add", "staging", "--env", "qa"])),
        2,
        "names are unique"
    );
    let key = team.ok("owner", &["key", "create", "--subaccount", "staging"]);
    assert!(key.trim().starts_with("sgk_staging2_"), "{key}");
    let out = team.run_with_stdin("x", &["key", "verify", "--format", "json"], &key);
    assert_eq!(code(&out), 0);
    let found: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(found["status"], "valid");
    assert_eq!(found["environment"], "staging2");
    assert_eq!(found["subaccount"], "staging");
    assert!(
        !stdout(&out).contains(key.trim()),
        "verify never echoes the key"
    );
    let subs = team.json("owner", &["subaccount", "list", "--format", "json"]);
    assert_eq!(subs[0]["environment"], "staging2");
}

#[test]
fn invitations_print_a_single_use_token_and_reset_2fa_issues_a_new_one() {
    let team = Team::new();
    team.init();
    subaccounts(&team);
    let token = team.invite(
        "owner",
        "dev@acme.test",
        "developer",
        &["--subaccounts", "dev"],
    );
    // `user add` is an alias of `invite`: a token, never the invitee's second factor.
    let out = team.run(
        "owner",
        &["user", "add", "qa@acme.test", "--role", "support"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).trim().starts_with("sginv_"));
    assert!(!stdout(&out).contains("otpauth") && !stderr(&out).contains("otpauth"));
    // Only the token's hash is stored.
    let db = std::fs::read(&team.db).expect("db");
    let wal = std::fs::read(team.db.with_extension("db-wal")).unwrap_or_default();
    let hay = [db.as_slice(), wal.as_slice()].concat();
    assert!(!hay.windows(token.len()).any(|w| w == token.as_bytes()));

    let dev = team.accept("dev", &token);
    assert_eq!(dev["email"], "dev@acme.test");
    assert!(dev["otpauth_uri"]
        .as_str()
        .expect("uri")
        .starts_with("otpauth://totp/"));
    assert_eq!(dev["recovery_codes"].as_array().expect("codes").len(), 10);
    // Used, unknown: refused with exit 3.
    let again = team.run("dev", &["accept-invite", &token]);
    assert_eq!(code(&again), 3, "{}", stderr(&again));
    assert!(stderr(&again).contains("not valid"), "{}", stderr(&again));
    assert_eq!(code(&team.run("x", &["accept-invite", "sginv_0000"])), 3);
    // --expires-in has a documented maximum.
    let long = team.run(
        "owner",
        &[
            "user",
            "invite",
            "z@acme.test",
            "--role",
            "support",
            "--expires-in",
            "721",
        ],
    );
    assert_eq!(code(&long), 2, "{}", stderr(&long));

    team.login("dev", "dev@acme.test", &dev);
    let users = team.json("owner", &["user", "list", "--format", "json"]);
    let dev_row = users
        .as_array()
        .expect("array")
        .iter()
        .find(|u| u["email"] == "dev@acme.test")
        .cloned()
        .expect("dev listed");
    assert_eq!(dev_row["enrolled"], true);
    assert_eq!(dev_row["subaccounts"], serde_json::json!(["dev"]));

    // reset-2fa: the dev's session ends, the old authenticator no longer works, and the
    // new invitation (alone on stdout) enrols them again.
    let out = team.run("owner", &["user", "reset-2fa", "dev@acme.test"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let new_token = stdout(&out).trim().to_owned();
    assert_eq!(stdout(&out).lines().count(), 1);
    assert!(new_token.starts_with("sginv_") && new_token != token);
    assert_eq!(code(&team.run("dev", &["whoami"])), 3, "sessions ended");
    let old_code = next_code(&team, &dev);
    assert_eq!(
        code(&team.run("dev2", &["login", "dev@acme.test", "--otp", &old_code])),
        3
    );
    let enrolled_again = team.accept("dev", &new_token);
    assert_ne!(enrolled_again["otpauth_uri"], dev["otpauth_uri"]);
    team.login("dev", "dev@acme.test", &enrolled_again);
    let me = team.json("dev", &["whoami", "--format", "json"]);
    assert_eq!(me["email"], "dev@acme.test");
    // Nobody resets their own 2FA, and a Developer resets nobody's.
    assert_eq!(
        code(&team.run("dev", &["user", "reset-2fa", "qa@acme.test"])),
        3
    );
}

#[test]
fn sessions_are_listed_and_ended_and_logout_all_ends_every_one() {
    let team = Team::new();
    let owner = team.init();
    let admin = team.add_user("owner", "admin@acme.test", "administrator", &[]);
    team.login("admin", "admin@acme.test", &admin);
    // A second session of the Owner, on "another machine".
    let otp = next_code(&team, &owner);
    team.ok("owner2", &["login", "owner@acme.test", "--otp", &otp]);
    let sessions = team.json("owner", &["session", "list", "--format", "json"]);
    let sessions = sessions.as_array().expect("array");
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert_eq!(
        sessions.iter().filter(|s| s["current"] == true).count(),
        1,
        "{sessions:?}"
    );
    let listing = team.ok("owner", &["session", "list"]);
    let token = std::fs::read_to_string(team.session_file("owner")).expect("session file");
    assert!(!listing.contains(token.trim()), "never the token");

    // An Administrator cannot end the Owner's sessions; the Owner can end theirs.
    assert_eq!(
        code(&team.run("admin", &["session", "end", "owner@acme.test"])),
        3
    );
    assert_eq!(code(&team.run("owner2", &["whoami"])), 0);
    team.ok("owner", &["session", "end", "admin@acme.test"]);
    assert_eq!(code(&team.run("admin", &["whoami"])), 3);

    team.ok("owner", &["logout", "--all"]);
    assert!(!team.session_file("owner").exists());
    assert_eq!(
        code(&team.run("owner2", &["whoami"])),
        3,
        "logout --all ends the other session too"
    );
}

#[test]
fn charges_are_voided_by_reversing_entries_never_edited() {
    let team = Team::new();
    team.init();
    subaccounts(&team);
    let billing = team.add_user("owner", "bill@acme.test", "billing-manager", &[]);
    team.login("bill", "bill@acme.test", &billing);
    let support = team.add_user("owner", "help@acme.test", "support", &[]);
    team.login("help", "help@acme.test", &support);
    let record = |amount: &str| {
        team.run(
            "bill",
            &[
                "billing",
                "record",
                "--subaccount",
                "prod",
                "--amount",
                amount,
                "--description",
                "usage",
            ],
        )
    };
    // One charge is capped at 1,000,000,000 minor units (10,000,000.00 USD).
    assert_eq!(code(&record("10000000.01")), 2);
    assert_eq!(code(&record("10000000.00")), 0);
    assert_eq!(code(&record("12.34")), 0);
    let charges = team.json("bill", &["billing", "charges", "--format", "json"]);
    let charges = charges.as_array().expect("array");
    assert_eq!(charges.len(), 2);
    let big = charges
        .iter()
        .find(|c| c["amount_minor"] == 1_000_000_000i64)
        .expect("the capped charge");
    let id = big["id"].as_i64().expect("id").to_string();

    team.ok(
        "bill",
        &["billing", "void", &id, "--reason", "entered twice"],
    );
    let rollup = team.json("bill", &["billing", "rollup", "--format", "json"]);
    assert_eq!(rollup["total_minor"], 1234);
    let charges = team.json("bill", &["billing", "charges", "--format", "json"]);
    let charges = charges.as_array().expect("array");
    assert_eq!(
        charges.len(),
        3,
        "the charge stays, a reversing entry is added"
    );
    let reversal = charges
        .iter()
        .find(|c| c["reverses"].as_i64().map(|r| r.to_string()) == Some(id.clone()))
        .expect("reversing entry");
    assert_eq!(reversal["amount_minor"], -1_000_000_000i64);
    assert!(charges
        .iter()
        .any(|c| c["amount_minor"] == 1_000_000_000i64));
    let sum: i64 = charges
        .iter()
        .filter_map(|c| c["amount_minor"].as_i64())
        .sum();
    assert_eq!(rollup["total_minor"].as_i64(), Some(sum));
    // Voided once only; the reason is required; Support sees no charges.
    assert_eq!(
        code(&team.run("bill", &["billing", "void", &id, "--reason", "again"])),
        2
    );
    assert_eq!(code(&team.run("bill", &["billing", "void", &id])), 2);
    assert_eq!(code(&team.run("help", &["billing", "charges"])), 3);
    assert_eq!(
        code(&team.run("help", &["billing", "void", &id, "--reason", "x"])),
        3
    );
    let log = team.json(
        "owner",
        &[
            "audit",
            "list",
            "--action",
            "billing void",
            "--format",
            "json",
        ],
    );
    let log = log.as_array().expect("array");
    assert!(log.iter().any(|e| e["result"] == "ok"
        && e["detail"]
            .as_str()
            .is_some_and(|d| d.contains("entered twice"))));
}

#[test]
fn audit_list_filters_and_checkpoints_verify() {
    let team = Team::new();
    team.init();
    subaccounts(&team);
    let all = team.json("owner", &["audit", "list", "--format", "json"]);
    let all = all.as_array().expect("array").clone();
    let last_two = team.json(
        "owner",
        &["audit", "list", "--limit", "2", "--format", "json"],
    );
    assert_eq!(last_two.as_array().expect("array"), &all[all.len() - 2..]);
    let subs = team.json(
        "owner",
        &[
            "audit",
            "list",
            "--user",
            "owner@acme.test",
            "--action",
            "subaccount",
            "--format",
            "json",
        ],
    );
    let subs = subs.as_array().expect("array");
    assert_eq!(subs.len(), 3);
    assert!(subs.iter().all(|e| e["action"] == "subaccount add"));
    let nobody = team.json(
        "owner",
        &[
            "audit",
            "list",
            "--user",
            "nobody@acme.test",
            "--format",
            "json",
        ],
    );
    assert!(nobody.as_array().expect("array").is_empty());

    // An older copy of the database, taken before the checkpoint (every process has
    // exited, so the WAL is in the main file).
    let backup = team.dir.path().join("backup.db");
    std::fs::copy(&team.db, &backup).expect("backup");

    team.ok(
        "owner",
        &["subaccount", "add", "staging", "--env", "staging"],
    );
    let checkpoint = team.dir.path().join("checkpoint.json");
    let cp = checkpoint.to_string_lossy().into_owned();
    team.ok("owner", &["audit", "checkpoint", "--output", &cp]);
    let signed: Value =
        serde_json::from_str(&std::fs::read_to_string(&checkpoint).expect("read")).expect("json");
    assert_eq!(signed["entries"].as_u64(), Some(all.len() as u64 + 1));
    let out = team.ok("owner", &["audit", "verify", "--checkpoint", &cp]);
    assert!(out.contains("checkpoint is contained"), "{out}");

    // A checkpoint edited after signing no longer verifies.
    let mut forged = signed.clone();
    forged["entries"] = Value::from(1);
    let forged_path = team.dir.path().join("forged.json");
    std::fs::write(&forged_path, forged.to_string()).expect("write");
    let out = team.run(
        "owner",
        &[
            "audit",
            "verify",
            "--checkpoint",
            &forged_path.to_string_lossy(),
        ],
    );
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(stdout(&out).contains("signature"), "{}", stdout(&out));

    // The database rolled back to the older copy: its own chain and head are intact, so
    // only the checkpoint shows that entries are gone.
    std::fs::copy(&backup, &team.db).expect("roll back");
    let _ = std::fs::remove_file(team.db.with_extension("db-wal"));
    let out = team.run("owner", &["audit", "verify"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let out = team.run("owner", &["audit", "verify", "--checkpoint", &cp]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("truncated or rolled back"),
        "{}",
        stdout(&out)
    );
}

#[cfg(unix)]
#[test]
fn local_database_and_key_file_are_private_and_a_readable_database_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let team = Team::new();
    team.init();
    let key = sg_access::serverkey::local_key_path(&team.db);
    assert_eq!(
        key.file_name().and_then(|n| n.to_str()),
        Some("access.db.key")
    );
    for file in [&team.db, &key] {
        let mode = std::fs::metadata(file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
    std::fs::set_permissions(&team.db, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let out = team.run("owner", &["whoami"]);
    assert_ne!(code(&out), 0);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
    std::fs::set_permissions(&team.db, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    assert_eq!(code(&team.run("owner", &["whoami"])), 0);
    // The same for a key file others may read.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = team.run("owner", &["whoami"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}
