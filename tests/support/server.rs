//! Real `secrets-guard server` processes on 127.0.0.1 with random ports, on SQLite or on
//! PostgreSQL, and a team of users driving them with the real CLI, each with a private
//! session file.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_secrets-guard"))
}

/// Which store a test server uses.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite(PathBuf),
    Postgres(String),
}

/// The admin URL of the throwaway PostgreSQL cluster `.ci/run` starts. In CI it must be
/// there: a PostgreSQL test that silently skipped would be a test that passed unread.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("SECRETS_GUARD_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set SECRETS_GUARD_TEST_DATABASE_URL (see .ci/run)"
            );
            eprintln!("SECRETS_GUARD_TEST_DATABASE_URL is not set: skipping the PostgreSQL run");
            None
        }
    }
}

/// A fresh database on the test cluster, for one test.
pub fn fresh_postgres_database(admin_url: &str) -> String {
    let name = format!(
        "sg_test_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let mut client =
        postgres::Client::connect(admin_url, postgres::NoTls).expect("connect to the test cluster");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    match admin_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("admin URL without a database: {admin_url}"),
    }
}

impl Backend {
    pub fn args(&self) -> Vec<String> {
        match self {
            Backend::Sqlite(path) => vec!["--db".into(), path.display().to_string()],
            Backend::Postgres(url) => vec!["--database-url".into(), url.clone()],
        }
    }

    /// Runs SQL directly on the store, as someone holding a copy of the database would.
    pub fn tamper(&self, sql: &str) {
        match self {
            Backend::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).expect("open the database file");
                conn.execute_batch(sql).expect("tamper");
            }
            Backend::Postgres(url) => {
                let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
                client.batch_execute(sql).expect("tamper");
            }
        }
    }

    /// One text column of every row of `sql`, read directly from the store.
    pub fn strings(&self, sql: &str) -> Vec<String> {
        match self {
            Backend::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).expect("open");
                let mut stmt = conn.prepare(sql).expect("prepare");
                stmt.query_map([], |r| r.get::<_, String>(0))
                    .expect("query")
                    .collect::<Result<Vec<_>, _>>()
                    .expect("rows")
            }
            Backend::Postgres(url) => {
                let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
                client
                    .query(sql, &[])
                    .expect("query")
                    .iter()
                    .map(|r| r.get::<_, String>(0))
                    .collect()
            }
        }
    }
}

/// A running server.
pub struct Server {
    pub url: String,
    pub child: Child,
    pub log: PathBuf,
}

impl Server {
    /// Starts `secrets-guard server` with `extra` options and waits for "listening on".
    pub fn start(dir: &Path, backend: &Backend, extra: &[&str]) -> Server {
        let log = dir.join(format!(
            "server-{}.log",
            Instant::now().elapsed().as_nanos() + u128::from(std::process::id())
        ));
        let mut child = Command::new(bin())
            .arg("server")
            .args(backend.args())
            .args(["--key-file", &dir.join("server.key").display().to_string()])
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
        let stderr = child.stderr.take().expect("stderr");
        let mut reader = BufReader::new(stderr);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut url = None;
        let mut seen = String::new();
        while Instant::now() < deadline {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => {
                    seen.push_str(&line);
                    if let Some(rest) = line.trim().strip_prefix("listening on ") {
                        url = Some(rest.to_owned());
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        let Some(url) = url else {
            let _ = child.kill();
            panic!("the server did not start: {seen}");
        };
        // Keep draining the log so the server never blocks on a full pipe.
        let log_path = log.clone();
        std::thread::spawn(move || {
            let mut out = std::fs::File::create(&log_path).ok();
            for line in reader.lines().map_while(Result::ok) {
                if let Some(f) = out.as_mut() {
                    use std::io::Write;
                    let _ = writeln!(f, "{line}");
                }
            }
        });
        Server { url, child, log }
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `server init` on a fresh store: returns the Owner's invitation token.
pub fn server_init(dir: &Path, backend: &Backend) -> String {
    let out = Command::new(bin())
        .arg("server")
        .arg("init")
        .args(backend.args())
        .args(["--key-file", &dir.join("server.key").display().to_string()])
        .args(["--account", "Acme", "--owner", "owner@acme.test"])
        .output()
        .expect("server init");
    assert_eq!(code(&out), 0, "server init: {}", stderr(&out));
    let token = stdout(&out).trim().to_owned();
    assert!(
        token.starts_with("sginv_"),
        "the token alone on stdout: {token:?}"
    );
    token
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The people of an account, each with a private session file, talking to one server.
pub struct Team {
    pub dir: PathBuf,
    pub url: String,
}

impl Team {
    pub fn run_stdin(&self, who: &str, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new(bin())
            .arg("access")
            .args(["--server", &self.url])
            .args(args)
            .env(
                "SECRETS_GUARD_SESSION",
                self.dir.join(format!("session-{who}")),
            )
            .env_remove("SECRETS_GUARD_DB")
            .env_remove("SECRETS_GUARD_SERVER")
            .env("HOME", &self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the CLI");
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin.as_bytes());
        }
        child.wait_with_output().expect("CLI output")
    }

    pub fn run(&self, who: &str, args: &[&str]) -> Output {
        self.run_stdin(who, args, "")
    }

    pub fn ok(&self, who: &str, args: &[&str]) -> String {
        let out = self.run(who, args);
        assert_eq!(code(&out), 0, "{who} {args:?}: {}", stderr(&out));
        stdout(&out)
    }

    pub fn json(&self, who: &str, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(who, args)).expect("json output")
    }

    /// Redeems an invitation as `who` and logs in; returns the otpauth URI.
    pub fn enrol(&self, who: &str, email: &str, token: &str) -> String {
        let enrollment = self.json(who, &["accept-invite", token, "--format", "json"]);
        let uri = enrollment["otpauth_uri"].as_str().expect("uri").to_owned();
        self.login(who, email, &uri);
        uri
    }

    pub fn code_for(&self, uri: &str, offset_steps: i64) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let out = Command::new(bin())
            .args(["access", "totp-code", "--secret", uri, "--time"])
            .arg((now + offset_steps * 30).to_string())
            .output()
            .expect("totp-code");
        stdout(&out).trim().to_owned()
    }

    pub fn login(&self, who: &str, email: &str, uri: &str) {
        // A code that was already used is refused: fall back to the next window's code
        // (accepted within the allowed drift) when two logins share a 30-second step.
        for offset in [0, 1] {
            let code = self.code_for(uri, offset);
            if code_of(&self.run(who, &["login", email, "--otp", &code])) == 0 {
                return;
            }
        }
        panic!("{who} could not log in");
    }

    /// Invites `email` as `role` (by the Owner) and enrols them as `who`.
    pub fn add(&self, who: &str, email: &str, role: &str, extra: &[&str]) -> String {
        let mut args = vec!["user", "invite", email, "--role", role];
        args.extend_from_slice(extra);
        let token = self.ok("owner", &args).trim().to_owned();
        self.enrol(who, email, &token)
    }
}

fn code_of(out: &Output) -> i32 {
    code(out)
}

/// A started account: Owner enrolled and logged in, subaccounts prod, qa and dev.
pub fn started_team(dir: &Path, backend: &Backend) -> (Server, Team, String) {
    let token = server_init(dir, backend);
    let server = Server::start(dir, backend, &[]);
    let team = Team {
        dir: dir.to_path_buf(),
        url: server.url.clone(),
    };
    let uri = team.enrol("owner", "owner@acme.test", &token);
    for (name, env) in [("prod", "prod"), ("qa", "qa"), ("dev", "dev")] {
        team.ok("owner", &["subaccount", "add", name, "--env", env]);
    }
    (server, team, uri)
}
