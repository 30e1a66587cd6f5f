//! Local mode (one person's own database): the file's protections.

use std::path::Path;
use std::process::{Command, Output};

fn sg(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_secrets-guard"))
        .arg("access")
        .args(args)
        .env("SECRETS_GUARD_SESSION", dir.join("session"))
        .env_remove("SECRETS_GUARD_DB")
        .env_remove("SECRETS_GUARD_SERVER")
        .env("HOME", dir)
        .output()
        .expect("run")
}

fn err(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("meta").permissions().mode() & 0o777
}

fn init(dir: &Path) -> (String, String) {
    let db = dir.join("acme.db").display().to_string();
    let out = sg(
        dir,
        &[
            "--db",
            &db,
            "init",
            "--account",
            "Acme",
            "--owner",
            "me@acme.test",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    let enrollment: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    (
        db,
        enrollment["otpauth_uri"].as_str().expect("uri").to_owned(),
    )
}

fn login(dir: &Path, db: &str, uri: &str) {
    let code = Command::new(env!("CARGO_BIN_EXE_secrets-guard"))
        .args(["access", "totp-code", "--secret", uri])
        .output()
        .expect("code");
    let code = String::from_utf8_lossy(&code.stdout).trim().to_owned();
    let out = sg(dir, &["--db", db, "login", "me@acme.test", "--otp", &code]);
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
}

#[test]
#[cfg(unix)]
fn new_files_are_private_and_shared_ones_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, _) = init(dir.path());
    assert_eq!(mode(Path::new(&db)), 0o600);
    assert_eq!(mode(&dir.path().join("acme.db.key")), 0o600);
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = sg(dir.path(), &["--db", &db, "user", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err(&out).contains("readable by others") && err(&out).contains("chmod 600"),
        "{}",
        err(&out)
    );
}

#[test]
fn a_foreign_sqlite_file_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("other.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("create");
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
            .expect("foreign schema");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let out = sg(
        dir.path(),
        &[
            "--db",
            &path.display().to_string(),
            "init",
            "--account",
            "A",
            "--owner",
            "me@acme.test",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(err(&out).contains("another program"), "{}", err(&out));
    let conn = rusqlite::Connection::open(&path).expect("reopen");
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(tables, 1, "our schema was not added to it");
}

#[test]
fn reads_do_not_wait_for_a_writer_and_writes_wait_five_seconds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, uri) = init(dir.path());
    login(dir.path(), &db, &uri);
    let holder = rusqlite::Connection::open(&db).expect("open");
    holder
        .execute_batch("BEGIN IMMEDIATE")
        .expect("hold the write lock");
    let started = std::time::Instant::now();
    let out = sg(dir.path(), &["--db", &db, "user", "list"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a read while a writer holds the lock: {}",
        err(&out)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    let started = std::time::Instant::now();
    let out = sg(
        dir.path(),
        &["--db", &db, "subaccount", "add", "dev", "--env", "dev"],
    );
    let waited = started.elapsed();
    assert_eq!(out.status.code(), Some(2), "{}", err(&out));
    assert!(
        err(&out).contains("locked by another process"),
        "{}",
        err(&out)
    );
    assert!(
        waited >= std::time::Duration::from_secs(4) && waited < std::time::Duration::from_secs(20),
        "{waited:?}"
    );
    holder.execute_batch("ROLLBACK").expect("release");
    let out = sg(
        dir.path(),
        &["--db", &db, "subaccount", "add", "dev", "--env", "dev"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
}
