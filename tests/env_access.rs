//! End-to-end: `env check` and `env run` with `--access-db` flag revoked and expired keys.

use assert_cmd::Command;
use std::path::Path;

struct Keys {
    live: String,
    revoked: String,
}

/// An access store with one dev subaccount, one live key and one revoked key.
fn store_with_keys(db: &Path) -> Keys {
    let store = sg_access::Store::open(db).expect("store opens");
    let invitation = sg_access::init(
        &store,
        &sg_access::InitOptions {
            account: "Acme".into(),
            owner_email: "owner@example.com".into(),
            currency: "EUR".into(),
            require_2fa: false,
        },
    )
    .expect("init");
    let enrollment = sg_access::accept_invite(&store, &invitation.token).expect("accept");
    let code = enrollment
        .recovery_codes
        .first()
        .cloned()
        .unwrap_or_default();
    let session = sg_access::login(
        &store,
        "owner@example.com",
        &sg_access::Credential::RecoveryCode(code),
    )
    .expect("login");
    let me = session.actor;
    sg_access::add_subaccount(&store, &me, "web-dev", "dev").expect("subaccount");
    let live = sg_access::create_key(&store, &me, "web-dev", Some("ci"), None).expect("key");
    let old = sg_access::create_key(&store, &me, "web-dev", Some("old"), None).expect("key");
    sg_access::revoke_key(&store, &me, old.id).expect("revoke");
    Keys {
        live: live.secret.expose().to_owned(),
        revoked: old.secret.expose().to_owned(),
    }
}

fn env_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("secrets-guard").expect("binary");
    cmd.arg("env")
        .args(args)
        .arg("--dir")
        .arg(dir)
        .env_remove("SECRETS_GUARD_DB")
        .env_remove("CI");
    cmd
}

fn output(mut cmd: Command) -> (i32, String, String) {
    let out = cmd.output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn revoked_keys_are_flagged_with_an_access_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("access.db");
    let keys = store_with_keys(&db);
    let project = dir.path().join("app");
    std::fs::create_dir(&project).expect("mkdir");
    std::fs::write(
        project.join(".env.dev"),
        format!("API_KEY={}\nOLD_KEY={}\n", keys.live, keys.revoked),
    )
    .expect("write");

    // Without the store, nothing is known about the keys.
    let (code, _, stderr) = output(env_cmd(&project, &["check"]));
    assert_eq!(code, 0, "{stderr}");

    let db_arg = db.to_string_lossy().into_owned();
    let (code, stdout, stderr) = output(env_cmd(
        &project,
        &["check", "--format", "json", "--access-db", &db_arg],
    ));
    assert_eq!(code, 1, "{stderr}");
    let findings: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let findings = findings.as_array().cloned().unwrap_or_default();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["kind"], "revoked-key");
    assert_eq!(findings[0]["key"], "OLD_KEY");
    assert_eq!(findings[0]["line"], 2);
    assert!(!stdout.contains(&keys.revoked), "{stdout}");

    // SECRETS_GUARD_DB does the same, and `env run` refuses to start.
    let mut cmd = env_cmd(&project, &["run", "--env", "dev"]);
    cmd.args(["--", "/bin/sh", "-c", "touch ran"]);
    cmd.env("SECRETS_GUARD_DB", &db);
    let (code, _, stderr) = output(cmd);
    assert_eq!(code, 3, "a refusal exits 3: {stderr}");
    assert!(stderr.contains("revoked-key [dev] OLD_KEY"), "{stderr}");
    assert!(!project.join("ran").exists());

    // A store that does not exist is an input error, not an empty store.
    let missing = dir.path().join("nope.db").to_string_lossy().into_owned();
    let (code, _, stderr) = output(env_cmd(&project, &["check", "--access-db", &missing]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no access store"), "{stderr}");
}
