//! The access server as a team uses it, and as an attacker would try it: real server
//! processes on 127.0.0.1 (random ports), the real CLI as each user, on SQLite and on
//! PostgreSQL (when the test cluster of `.ci/run` is there).

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use support::server::{
    bin, code, fresh_postgres_database, postgres_admin_url, server_init, started_team, stderr,
    stdout, Backend, Server, Team,
};

fn sqlite(dir: &Path) -> Backend {
    Backend::Sqlite(dir.join("team.db"))
}

fn postgres() -> Option<Backend> {
    postgres_admin_url().map(|admin| Backend::Postgres(fresh_postgres_database(&admin)))
}

/// Runs `scenario` on SQLite, then on a fresh PostgreSQL database.
fn on_both_backends(scenario: fn(&Path, &Backend)) {
    let dir = tempfile::tempdir().expect("tempdir");
    scenario(dir.path(), &sqlite(dir.path()));
    if let Some(pg) = postgres() {
        let dir = tempfile::tempdir().expect("tempdir");
        scenario(dir.path(), &pg);
    }
}

fn roles_over_http(dir: &Path, backend: &Backend) {
    let (_server, team, _) = started_team(dir, backend);
    team.add("admin", "admin@acme.test", "administrator", &[]);
    team.add("billing", "billing@acme.test", "billing-manager", &[]);
    team.add(
        "dev",
        "dev@acme.test",
        "developer",
        &["--subaccounts", "dev,qa"],
    );
    team.add("support", "support@acme.test", "support", &[]);

    // The Owner's backup administrator can do keys anywhere.
    let prod_key = team.ok(
        "admin",
        &["key", "create", "--subaccount", "prod", "--name", "api"],
    );
    assert!(prod_key.trim().starts_with("sgk_prod_"));
    // A developer scoped to dev and qa: keys there, never prod, not even listing them.
    let dev_key = team.ok("dev", &["key", "create", "--subaccount", "dev"]);
    assert!(dev_key.trim().starts_with("sgk_dev_"));
    for args in [
        vec!["key", "create", "--subaccount", "prod"],
        vec!["key", "list", "--subaccount", "prod"],
        vec!["billing", "rollup"],
        vec!["user", "invite", "x@acme.test", "--role", "support"],
    ] {
        let out = team.run("dev", &args);
        assert_eq!(code(&out), 3, "developer {args:?}: {}", stderr(&out));
    }
    let listed = team.json("dev", &["key", "list", "--format", "json"]);
    assert!(listed
        .as_array()
        .expect("list")
        .iter()
        .all(|k| k["environment"] != "prod"));
    // Billing manager: rollup yes, keys no.
    team.ok(
        "billing",
        &[
            "billing",
            "record",
            "--subaccount",
            "qa",
            "--amount",
            "12.34",
            "--description",
            "usage",
        ],
    );
    let rollup = team.json("billing", &["billing", "rollup", "--format", "json"]);
    assert_eq!(rollup["total_minor"], 1234);
    assert_eq!(code(&team.run("billing", &["key", "list"])), 3);
    // Support sees users but neither keys nor billing.
    assert_eq!(code(&team.run("support", &["key", "list"])), 3);
    assert_eq!(code(&team.run("support", &["billing", "rollup"])), 3);
    team.ok("support", &["user", "list"]);
    // An administrator cannot make administrators; only the Owner can.
    assert_eq!(
        code(&team.run(
            "admin",
            &["user", "invite", "a2@acme.test", "--role", "administrator"]
        )),
        3
    );
    // What a developer and support read of the audit log: nothing of billing, no prod key.
    for who in ["dev", "support"] {
        let log = team.json(who, &["audit", "list", "--format", "json"]);
        let mine = format!("{who}@acme.test");
        // Their own attempts they see; nobody else's billing or prod keys.
        for e in log
            .as_array()
            .expect("entries")
            .iter()
            .filter(|e| e["actor"] != mine.as_str())
        {
            let text = e.to_string();
            assert_ne!(e["category"], "billing", "{who} saw {text}");
            assert!(!text.contains("subaccount prod (prod)"), "{who} saw {text}");
        }
    }
    // Nobody but the invitee sees a second factor: the invite prints only a token.
    let token = team.ok(
        "owner",
        &[
            "user",
            "invite",
            "late@acme.test",
            "--role",
            "developer",
            "--subaccounts",
            "dev",
        ],
    );
    assert!(token.trim().starts_with("sginv_") && !token.contains("otpauth"));
    // Used, then refused.
    team.enrol("late", "late@acme.test", token.trim());
    let again = team.run("other", &["accept-invite", token.trim()]);
    assert_eq!(code(&again), 3, "{}", stderr(&again));
    // Every refusal above is in the log, and the chain is intact.
    let out = team.run("owner", &["audit", "verify"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[test]
fn roles_are_enforced_over_http() {
    on_both_backends(roles_over_http);
}

fn attacks_with_the_database_in_hand(dir: &Path, backend: &Backend) {
    let (_server, team, owner_uri) = started_team(dir, backend);
    let dev_uri = team.add(
        "dev",
        "dev@acme.test",
        "developer",
        &["--subaccounts", "dev"],
    );
    team.ok("owner", &["key", "create", "--subaccount", "prod"]);

    // 1. The TOTP secrets are not in the store.
    let owner_secret = owner_uri
        .split("secret=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .expect("secret in uri")
        .to_owned();
    let stored = backend.strings("SELECT totp_secret FROM users");
    assert!(stored
        .iter()
        .all(|s| !s.contains(&owner_secret) && s.starts_with("v1:")));
    if let Backend::Sqlite(path) = backend {
        let bytes = std::fs::read(path).expect("db bytes");
        assert!(!String::from_utf8_lossy(&bytes).contains(&owner_secret));
    }

    // 2. Rewriting a role: the developer does not become an administrator.
    backend.tamper("UPDATE users SET role = 'administrator', all_subaccounts = 1 WHERE email = 'dev@acme.test'");
    let out = team.run("dev", &["key", "list", "--subaccount", "prod"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("integrity"), "{}", stderr(&out));
    backend.tamper(
        "UPDATE users SET role = 'developer', all_subaccounts = 0 WHERE email = 'dev@acme.test'",
    );
    team.ok("dev", &["whoami"]);

    // 3. Copying the Owner's sealed TOTP secret onto the developer's row: the developer's
    // authenticator codes for the Owner's secret do not log them in.
    let owner_sealed =
        backend.strings("SELECT totp_secret FROM users WHERE email = 'owner@acme.test'");
    let dev_sealed = backend.strings("SELECT totp_secret FROM users WHERE email = 'dev@acme.test'");
    backend.tamper(&format!(
        "UPDATE users SET totp_secret = '{}' WHERE email = 'dev@acme.test'",
        owner_sealed[0]
    ));
    let code_now = team.code_for(&owner_uri, 1);
    let out = team.run("dev", &["login", "dev@acme.test", "--otp", &code_now]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    backend.tamper(&format!(
        "UPDATE users SET totp_secret = '{}' WHERE email = 'dev@acme.test'",
        dev_sealed[0]
    ));
    let _ = dev_uri;

    // 4. Inserting a session row for a token the attacker chose.
    let token = "sgs_0000000000000000000000000000000000000000000000000000000000000001";
    let hash = sha256_hex(token);
    backend.tamper(&format!(
        "INSERT INTO sessions (token_hash, user_id, created, expires, mac)
         SELECT '{hash}', id, 0, 99999999999, 'forged' FROM users WHERE email = 'owner@acme.test'"
    ));
    std::fs::write(dir.join("session-mallory"), format!("{token}\n")).expect("session file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(
            dir.join("session-mallory"),
            std::fs::Permissions::from_mode(0o600),
        );
    }
    let out = team.run("mallory", &["whoami"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));

    // 5. The audit log: a checkpoint, then each way of rewriting it is detected.
    let checkpoint = dir.join("checkpoint.json");
    team.ok(
        "owner",
        &[
            "audit",
            "checkpoint",
            "--output",
            &checkpoint.display().to_string(),
        ],
    );
    let cp = checkpoint.display().to_string();
    assert_eq!(
        code(&team.run("owner", &["audit", "verify", "--checkpoint", &cp])),
        0
    );

    let snapshot =
        backend.strings("SELECT id || '|' || detail || '|' || hash FROM audit ORDER BY id");
    // (a) an edited entry
    backend.tamper("UPDATE audit SET detail = 'nothing happened' WHERE id = 3");
    assert_tampered(&team, &[]);
    restore_detail(backend, &snapshot, 3);
    assert_eq!(code(&team.run("owner", &["audit", "verify"])), 0);
    // (b) a chain recomputed without the key (SHA-256 over the same fields)
    backend.tamper("UPDATE audit SET detail = 'nothing happened' WHERE id = 3");
    recompute_unkeyed(backend);
    assert_tampered(&team, &[]);
    // Restore from the snapshot: the original keyed hashes.
    restore_all(backend, &snapshot);
    assert_eq!(
        code(&team.run("owner", &["audit", "verify"])),
        0,
        "restored"
    );
    // (c) reordered entries: swap the contents of 2 and 3
    backend.tamper(
        "UPDATE audit SET id = -2 WHERE id = 2; UPDATE audit SET id = 2 WHERE id = 3; UPDATE audit SET id = 3 WHERE id = -2;",
    );
    assert_tampered(&team, &[]);
    backend.tamper(
        "UPDATE audit SET id = -2 WHERE id = 2; UPDATE audit SET id = 2 WHERE id = 3; UPDATE audit SET id = 3 WHERE id = -2;",
    );
    assert_eq!(
        code(&team.run("owner", &["audit", "verify"])),
        0,
        "swapped back"
    );
    // (d) the last entry deleted, and the recorded head moved back to match it
    let last = snapshot.len();
    backend.tamper(&format!(
        "DELETE FROM audit WHERE id >= {last};
         UPDATE account SET audit_head_id = {prev}, audit_head_hash = (SELECT hash FROM audit WHERE id = {prev});",
        prev = last - 1
    ));
    assert_tampered(&team, &[]);
    // (e) truncated to before the checkpoint: caught by the checkpoint even when the
    // attacker also has an old, self-consistent head (its MAC copied from an older copy).
    backend.tamper(&format!(
        "DELETE FROM audit WHERE id >= {cut};
         UPDATE account SET audit_head_id = {prev}, audit_head_hash = (SELECT hash FROM audit WHERE id = {prev});",
        cut = last - 3,
        prev = last - 4
    ));
    assert_tampered(&team, &["--checkpoint", &cp]);
}

fn restore_detail(backend: &Backend, snapshot: &[String], id: usize) {
    let row = &snapshot[id - 1];
    let detail = row.split('|').nth(1).expect("detail").replace('\'', "''");
    backend.tamper(&format!(
        "UPDATE audit SET detail = '{detail}' WHERE id = {id}"
    ));
}

fn restore_all(backend: &Backend, snapshot: &[String]) {
    for row in snapshot {
        let mut parts = row.split('|');
        let id = parts.next().expect("id");
        let detail = parts.next().expect("detail").replace('\'', "''");
        let hash = parts.next().expect("hash");
        let prev = if id == "1" {
            "0000000000000000000000000000000000000000000000000000000000000000".to_owned()
        } else {
            let n: usize = id.parse().expect("id");
            snapshot[n - 2].split('|').nth(2).expect("prev").to_owned()
        };
        backend.tamper(&format!(
            "UPDATE audit SET detail = '{detail}', hash = '{hash}', prev_hash = '{prev}' WHERE id = {id}"
        ));
    }
    let last = snapshot.last().expect("entries");
    let mut parts = last.split('|');
    let id = parts.next().expect("id");
    let hash = parts.nth(1).expect("hash");
    backend.tamper(&format!(
        "UPDATE account SET audit_head_id = {id}, audit_head_hash = '{hash}'"
    ));
}

/// Recomputes every entry's hash as SHA-256 over its fields, as someone without the key
/// would, and moves the head to match.
fn recompute_unkeyed(backend: &Backend) {
    let rows = backend.strings(
        "SELECT id || char(31) || at || char(31) || actor || char(31) || action || char(31) || target || char(31) || result || char(31) || detail || char(31) || category FROM audit ORDER BY id"
            .replace("char(31)", if matches!(backend, Backend::Postgres(_)) { "chr(31)" } else { "char(31)" })
            .as_str(),
    );
    let mut prev = "0000000000000000000000000000000000000000000000000000000000000000".to_owned();
    let mut last = (0, String::new());
    for row in rows {
        let f: Vec<&str> = row.split('\u{1f}').collect();
        let id: i64 = f[0].parse().expect("id");
        let canonical = serde_json::json!([
            id,
            f[1].parse::<i64>().unwrap_or(0),
            f[2],
            f[3],
            f[4],
            f[5],
            f[6],
            f[7],
            Value::Null,
            prev
        ]);
        let hash = sha256_hex(&canonical.to_string());
        backend.tamper(&format!(
            "UPDATE audit SET prev_hash = '{prev}', hash = '{hash}' WHERE id = {id}"
        ));
        prev = hash.clone();
        last = (id, hash);
    }
    backend.tamper(&format!(
        "UPDATE account SET audit_head_id = {}, audit_head_hash = '{}'",
        last.0, last.1
    ));
}

fn assert_tampered(team: &Team, extra: &[&str]) {
    let mut args = vec!["audit", "verify"];
    args.extend_from_slice(extra);
    let out = team.run("owner", &args);
    assert_eq!(
        code(&out),
        1,
        "verify must fail: {} {}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("tampered"), "{}", stdout(&out));
}

fn sha256_hex(text: &str) -> String {
    let out = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(text.as_bytes())?;
            c.wait_with_output()
        })
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn attacks_with_the_database_in_hand_are_detected() {
    on_both_backends(attacks_with_the_database_in_hand);
}

fn concurrent_clients(dir: &Path, backend: &Backend) {
    let (_server, team, _) = started_team(dir, backend);
    let team = std::sync::Arc::new(team);
    let mut workers = Vec::new();
    for worker in 0..8 {
        let team = team.clone();
        workers.push(std::thread::spawn(move || {
            for op in 0..25 {
                let out = if op % 2 == 0 {
                    team.run(
                        "owner",
                        &[
                            "key",
                            "create",
                            "--subaccount",
                            "dev",
                            "--name",
                            &format!("w{worker}-{op}"),
                        ],
                    )
                } else {
                    team.run(
                        "owner",
                        &[
                            "billing",
                            "record",
                            "--subaccount",
                            "qa",
                            "--amount",
                            "1.00",
                            "--description",
                            &format!("w{worker}-{op}"),
                        ],
                    )
                };
                assert_eq!(code(&out), 0, "worker {worker} op {op}: {}", stderr(&out));
            }
        }));
    }
    for w in workers {
        w.join().expect("worker");
    }
    let keys = team.json("owner", &["key", "list", "--format", "json"]);
    assert_eq!(keys.as_array().expect("keys").len(), 8 * 13);
    let rollup = team.json("owner", &["billing", "rollup", "--format", "json"]);
    assert_eq!(rollup["total_minor"], 8 * 12 * 100);
    let log = team.json(
        "owner",
        &[
            "audit",
            "list",
            "--action",
            "key create",
            "--format",
            "json",
        ],
    );
    assert_eq!(log.as_array().expect("log").len(), 8 * 13);
    assert_eq!(code(&team.run("owner", &["audit", "verify"])), 0);
}

#[test]
fn eight_concurrent_clients_lose_nothing() {
    on_both_backends(concurrent_clients);
}

fn killed_mid_write(dir: &Path, backend: &Backend) {
    let (mut server, team, _) = started_team(dir, backend);
    let team = std::sync::Arc::new(team);
    let ok = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (team, ok) = (team.clone(), ok.clone());
        writers.push(std::thread::spawn(move || {
            for i in 0..40 {
                let out = team.run(
                    "owner",
                    &[
                        "billing",
                        "record",
                        "--subaccount",
                        "dev",
                        "--amount",
                        "1",
                        "--description",
                        &format!("{w}-{i}"),
                    ],
                );
                if code(&out) == 0 {
                    ok.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        }));
    }
    std::thread::sleep(std::time::Duration::from_millis(700));
    server.kill9();
    for w in writers {
        w.join().expect("writer");
    }
    let succeeded = ok.load(std::sync::atomic::Ordering::SeqCst);
    let restarted = Server::start(dir, backend, &[]);
    let team = Team {
        dir: dir.to_path_buf(),
        url: restarted.url.clone(),
    };
    let out = team.run("owner", &["audit", "verify"]);
    assert_eq!(code(&out), 0, "after kill -9: {}", stdout(&out));
    let charges = team.json("owner", &["billing", "charges", "--format", "json"]);
    let stored = charges.as_array().expect("charges").len();
    // Every acknowledged write survived; at most the writes in flight may have committed
    // without their answer arriving.
    assert!(
        stored >= succeeded && stored <= succeeded + 4,
        "stored {stored}, acknowledged {succeeded}"
    );
}

#[test]
fn kill_nine_mid_write_then_restart_keeps_the_chain() {
    on_both_backends(killed_mid_write);
}

fn login_backoff(dir: &Path, backend: &Backend) {
    let (_server, team, owner_uri) = started_team(dir, backend);
    let dev_uri = team.add(
        "dev",
        "dev@acme.test",
        "developer",
        &["--subaccounts", "dev"],
    );
    for _ in 0..5 {
        let out = team.run("dev", &["login", "dev@acme.test", "--otp", "000000"]);
        assert_eq!(code(&out), 3);
    }
    // Locked: even the right code is refused, with when to retry.
    let right = team.code_for(&dev_uri, 1);
    let out = team.run("dev", &["login", "dev@acme.test", "--otp", &right]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("try again after"), "{}", stderr(&out));
    // The Owner is not affected, and sees the failures and the refusal in the log.
    let _ = owner_uri;
    let log = team.json(
        "owner",
        &[
            "audit",
            "list",
            "--user",
            "dev@acme.test",
            "--action",
            "login",
            "--format",
            "json",
        ],
    );
    let refused = log
        .as_array()
        .expect("log")
        .iter()
        .filter(|e| e["result"] == "refused")
        .count();
    assert!(refused >= 6, "{log}");
}

#[test]
fn five_wrong_codes_lock_the_account_for_a_while() {
    on_both_backends(login_backoff);
}

#[test]
fn sessions_listed_and_ended() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = sqlite(dir.path());
    let (_server, team, _) = started_team(dir.path(), &backend);
    team.add(
        "dev",
        "dev@acme.test",
        "developer",
        &["--subaccounts", "dev"],
    );
    let sessions = team.json("dev", &["session", "list", "--format", "json"]);
    assert_eq!(sessions.as_array().expect("list").len(), 1);
    assert_eq!(sessions[0]["current"], true);
    team.ok("owner", &["session", "end", "dev@acme.test"]);
    assert_eq!(code(&team.run("dev", &["whoami"])), 3);
    // The developer may not end the Owner's sessions.
    let reset = team.ok("owner", &["user", "reset-2fa", "dev@acme.test"]);
    team.enrol("dev", "dev@acme.test", reset.trim());
    assert_eq!(
        code(&team.run("dev", &["session", "end", "owner@acme.test"])),
        3
    );
    team.ok("dev", &["logout", "--all"]);
    assert_eq!(code(&team.run("dev", &["whoami"])), 3);
}

#[test]
fn sigterm_drains_and_exits_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = sqlite(dir.path());
    server_init(dir.path(), &backend);
    let mut server = Server::start(dir.path(), &backend, &[]);
    let health = Command::new("curl")
        .args(["-s", &format!("{}/healthz", server.url)])
        .output()
        .expect("curl");
    assert_eq!(stdout(&health).trim(), "ok");
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(server.child.id() as i32, libc::SIGTERM);
    }
    let status = server.child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn plain_http_on_a_public_address_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = sqlite(dir.path());
    server_init(dir.path(), &backend);
    let out = Command::new(bin())
        .args([
            "server",
            "--db",
            &dir.path().join("team.db").display().to_string(),
            "--listen",
            "0.0.0.0:0",
        ])
        .output()
        .expect("server");
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--insecure-http"), "{}", stderr(&out));
}

#[test]
fn https_with_a_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(made.status.success(), "{}", stderr(&made));
    let backend = sqlite(dir.path());
    server_init(dir.path(), &backend);
    let server = Server::start(
        dir.path(),
        &backend,
        &[
            "--tls-cert",
            &cert.display().to_string(),
            "--tls-key",
            &key.display().to_string(),
        ],
    );
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let out = Command::new("curl")
        .args([
            "-s",
            "--cacert",
            &cert.display().to_string(),
            &format!("{}/healthz", server.url),
        ])
        .output()
        .expect("curl");
    assert_eq!(stdout(&out).trim(), "ok", "{}", stderr(&out));
}

#[test]
fn api_errors_have_stable_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = sqlite(dir.path());
    server_init(dir.path(), &backend);
    let server = Server::start(dir.path(), &backend, &[]);
    let post = |path: &str, body: &str| {
        let out = Command::new("curl")
            .args([
                "-s",
                "-w",
                "\n%{http_code}",
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "-d",
                body,
            ])
            .arg(format!("{}/api/v1/{path}", server.url))
            .output()
            .expect("curl");
        let text = stdout(&out);
        let (body, status) = text.rsplit_once('\n').expect("status line");
        (
            status.to_owned(),
            serde_json::from_str::<Value>(body).unwrap_or(Value::Null),
        )
    };
    let (status, body) = post("users/list", "{}");
    assert_eq!(
        (status.as_str(), body["error"]["code"].as_str()),
        ("401", Some("authentication_failed"))
    );
    let (status, body) = post("no/such/op", "{}");
    assert_eq!(
        (status.as_str(), body["error"]["code"].as_str()),
        ("404", Some("not_found"))
    );
    let (status, body) = post("keys/verify", "[1]");
    assert_eq!(
        (status.as_str(), body["error"]["code"].as_str()),
        ("400", Some("invalid_input"))
    );
    let (status, body) = post("keys/verify", "{\"key\": \"sgk_dev_nope\"}");
    assert_eq!(
        (status.as_str(), body["status"].as_str()),
        ("200", Some("unknown"))
    );
    let big = format!("{{\"key\": \"{}\"}}", "x".repeat(100_000));
    let (status, _) = post("keys/verify", &big);
    assert_eq!(status, "413");
}

#[test]
fn scans_ask_the_server_and_revoke_through_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = sqlite(dir.path());
    let (_server, team, _) = started_team(dir.path(), &backend);
    team.add(
        "dev",
        "dev@acme.test",
        "developer",
        &["--subaccounts", "dev"],
    );
    let key = team.ok(
        "owner",
        &["key", "create", "--subaccount", "prod", "--name", "deploy"],
    );
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).expect("tree");
    std::fs::write(tree.join("config.env"), format!("API_KEY={}\n", key.trim())).expect("leak");
    let scan = |who: &str, extra: &[&str]| {
        Command::new(bin())
            .args(["scan", "--format", "json", "--access-server", &team.url])
            .args(extra)
            .arg(&tree)
            .env(
                "SECRETS_GUARD_SESSION",
                dir.path().join(format!("session-{who}")),
            )
            .env_remove("SECRETS_GUARD_DB")
            .output()
            .expect("scan")
    };
    // The developer may not view prod keys: the server does not tell them the status.
    let out = scan("dev", &[]);
    let findings: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(findings[0]["access"]["status"], "unknown", "{findings}");
    // The Owner learns it is live, and revokes it through the server.
    let out = scan("owner", &[]);
    let findings: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(findings[0]["access"]["status"], "live", "{findings}");
    assert_eq!(findings[0]["access"]["subaccount"], "prod");
    // The scan reported where the key leaked: the server lists it, once.
    let out = scan("owner", &[]);
    assert_eq!(code(&out), 1);
    let leaks = team.run("owner", &["key", "leaks", "--format", "json"]);
    let leaks: Value = serde_json::from_slice(&leaks.stdout).expect("leaks json");
    assert_eq!(leaks.as_array().map(Vec::len), Some(1), "{leaks}");
    assert!(leaks[0]["path"]
        .as_str()
        .is_some_and(|p| p.ends_with("config.env")));
    let out = scan("owner", &["--revoke-leaked"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let verify = team.run_stdin("owner", &["key", "verify"], &key);
    assert_eq!(stdout(&verify).trim(), "revoked");
    let log = team.json(
        "owner",
        &[
            "audit",
            "list",
            "--action",
            "key revoke",
            "--format",
            "json",
        ],
    );
    assert!(log.to_string().contains("config.env"), "{log}");
}

#[test]
fn transfer_codes_count_towards_the_backoff() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = sqlite(dir.path());
    let (_server, team, owner_uri) = started_team(dir.path(), &backend);
    team.add("admin", "admin@acme.test", "administrator", &[]);
    for _ in 0..5 {
        let out = team.run(
            "owner",
            &["transfer-ownership", "admin@acme.test", "--otp", "000000"],
        );
        assert_eq!(code(&out), 3, "{}", stderr(&out));
    }
    let right = team.code_for(&owner_uri, 1);
    let out = team.run(
        "owner",
        &["transfer-ownership", "admin@acme.test", "--otp", &right],
    );
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("try again after"), "{}", stderr(&out));
    let me = team.json("owner", &["whoami", "--format", "json"]);
    assert_eq!(me["role"], "owner");
}

#[test]
fn env_checks_ask_the_server_about_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = sqlite(dir.path());
    let (_server, team, _) = started_team(dir.path(), &backend);
    let key = team.ok(
        "owner",
        &["key", "create", "--subaccount", "dev", "--name", "app"],
    );
    let key = key.trim();
    let out = team.run("owner", &["key", "list", "--format", "json"]);
    let id = serde_json::from_slice::<Value>(&out.stdout).expect("keys")[0]["id"].to_string();
    team.ok("owner", &["key", "revoke", &id]);
    let project = dir.path().join("app");
    std::fs::create_dir_all(&project).expect("project");
    std::fs::write(project.join(".env.dev"), format!("API_KEY={key}\n")).expect("env file");
    let env = |who: &str, server: &str| {
        Command::new(bin())
            .current_dir(&project)
            .args([
                "env",
                "check",
                "--env",
                "dev",
                "--format",
                "json",
                "--access-server",
                server,
            ])
            .env(
                "SECRETS_GUARD_SESSION",
                dir.path().join(format!("session-{who}")),
            )
            .env_remove("SECRETS_GUARD_DB")
            .output()
            .expect("env check")
    };
    let out = env("owner", &team.url);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stdout(&out).contains("revoked"), "{}", stdout(&out));
    // A user the server will not tell about keys gets an error, never a pass.
    team.add("support", "support@acme.test", "support", &[]);
    let out = env("support", &team.url);
    assert_eq!(code(&out), 2, "{} {}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("could not be read"),
        "{}",
        stderr(&out)
    );
    // Nobody answering is an error, never a pass.
    let out = env("owner", "http://127.0.0.1:9");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let out = env("nobody", &team.url);
    assert_ne!(code(&out), 0, "{}", stderr(&out));
}

/// Two server processes on one store: a key verified (and so cached) through the second
/// is refused there once the first revokes it, and at once through the first itself.
/// On PostgreSQL this is the store's change notification emptying the second server's
/// verification cache; on SQLite each verification reads the file.
fn verifications_follow_revocations_across_servers(dir: &Path, backend: &Backend) {
    let (first, team, _) = started_team(dir, backend);
    let second = Server::start(dir, backend, &[]);
    let through = |server: &Server| Team {
        dir: dir.to_path_buf(),
        url: server.url.clone(),
    };
    let key = team.ok(
        "owner",
        &["key", "create", "--subaccount", "prod", "--name", "deploy"],
    );
    let verify = |server: &Server| {
        let out = through(server).run_stdin("anyone", &["key", "verify"], &key);
        stdout(&out).trim().to_owned()
    };
    for _ in 0..3 {
        assert_eq!(verify(&second), "valid");
        assert_eq!(verify(&first), "valid");
    }
    let listed = team.json("owner", &["key", "list", "--format", "json"]);
    let id = listed[0]["id"].to_string();
    team.ok("owner", &["key", "revoke", &id]);
    assert_eq!(verify(&first), "revoked", "the revoking server, at once");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let seen = verify(&second);
        if seen == "revoked" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the other server still says {seen:?} 5 s after the revocation"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // A rotation with no grace through the second server ends the old key on the first.
    let fresh = team
        .ok(
            "owner",
            &["key", "create", "--subaccount", "qa", "--name", "tests"],
        )
        .trim()
        .to_owned();
    let check = |server: &Server| {
        let out = through(server).run_stdin("anyone", &["key", "verify"], &fresh);
        stdout(&out).trim().to_owned()
    };
    assert_eq!(check(&first), "valid");
    let listed = team.json("owner", &["key", "list", "--format", "json"]);
    let fresh_id = listed
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["name"] == "tests"))
        .map(|k| k["id"].to_string())
        .expect("the new key is listed");
    through(&second).ok("owner", &["key", "rotate", &fresh_id, "--grace-hours", "0"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while check(&first) != "expired" {
        assert!(
            std::time::Instant::now() < deadline,
            "the first server still accepts a key rotated away through the second"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(second);
}

#[test]
fn verifications_follow_revocations_across_server_processes() {
    on_both_backends(verifications_follow_revocations_across_servers);
}
