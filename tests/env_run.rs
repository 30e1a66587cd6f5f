//! End-to-end: `secrets-guard env run`, `export` and `get` on temporary projects.

use assert_cmd::Command;
use std::path::Path;

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        Project {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path().join(name), text).expect("write");
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("secrets-guard").expect("binary");
        cmd.arg("env")
            .args(args)
            .arg("--dir")
            .arg(self.path())
            .current_dir(self.path())
            .env_remove("SECRETS_GUARD_DB")
            .env_remove("CI");
        cmd
    }

    fn env(&self, args: &[&str]) -> (i32, String, String) {
        output(self.command(args))
    }
}

fn output(mut cmd: Command) -> (i32, String, String) {
    let out = cmd.output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The same as `env(args)` with `--` and a `/bin/sh -c SCRIPT` child.
fn run_sh(p: &Project, before: &[&str], script: &str) -> Command {
    let mut args: Vec<&str> = vec!["run"];
    args.extend_from_slice(before);
    let mut cmd = p.command(&args);
    cmd.args(["--", "/bin/sh", "-c", script]);
    cmd
}

#[test]
fn run_passes_the_merged_environment_and_forwards_the_exit_code() {
    let p = Project::new();
    p.write(".env", "GREETING=hello\nNAME=base\n");
    p.write(
        ".env.dev",
        "NAME=dev\nURL=\"http://${HOST:-localhost}:${PORT}\"\nPORT=3000\n",
    );
    p.write(".env.dev.local", "NAME=me\n");
    let (code, stdout, stderr) = output(run_sh(
        &p,
        &["--env", "dev"],
        r#"printf '%s|%s|%s' "$GREETING" "$NAME" "$URL"; exit 7"#,
    ));
    assert_eq!(stdout, "hello|me|http://localhost:3000", "{stderr}");
    assert_eq!(code, 7, "{stderr}");

    let (code, _, _) = output(run_sh(&p, &["--env", "dev"], "exit 0"));
    assert_eq!(code, 0);
}

#[test]
fn a_variable_set_in_the_process_wins_unless_override() {
    let p = Project::new();
    p.write(".env.dev", "MODE=from-file\nOTHER=x-${MODE}\n");
    let mut cmd = run_sh(&p, &["--env", "dev"], r#"printf '%s %s' "$MODE" "$OTHER""#);
    cmd.env("MODE", "from-process");
    let (code, stdout, stderr) = output(cmd);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "from-process x-from-process");

    let mut cmd = run_sh(
        &p,
        &["--env", "dev", "--override"],
        r#"printf '%s %s' "$MODE" "$OTHER""#,
    );
    cmd.env("MODE", "from-process");
    let (_, stdout, _) = output(cmd);
    assert_eq!(stdout, "from-file x-from-file");
}

#[test]
fn clean_starts_from_an_empty_environment() {
    let p = Project::new();
    p.write(".env.dev", "FROM_FILE=1\n");
    let script = r#"printf '%s/%s' "${FROM_FILE:-unset}" "${SG_PARENT_ONLY:-unset}""#;
    let mut cmd = run_sh(&p, &["--env", "dev"], script);
    cmd.env("SG_PARENT_ONLY", "yes");
    assert_eq!(output(cmd).1, "1/yes");
    let mut cmd = run_sh(&p, &["--env", "dev", "--clean"], script);
    cmd.env("SG_PARENT_ONLY", "yes");
    assert_eq!(output(cmd).1, "1/unset");
}

#[test]
fn no_expand_keeps_dollars_literal() {
    let p = Project::new();
    p.write(".env.dev", "PASSWORD=pa$$-${rd}\n");
    let (code, stdout, stderr) = output(run_sh(
        &p,
        &["--env", "dev", "--no-expand"],
        r#"printf '%s' "$PASSWORD""#,
    ));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "pa$$-${rd}");
    // Expanded, `${rd}` is an undefined reference: an input error naming the place.
    let (code, _, stderr) = p.env(&["get", "--env", "dev", "PASSWORD"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(".env.dev:1:15: in `PASSWORD`: `${rd}` is not defined"),
        "{stderr}"
    );
}

#[test]
fn a_protected_environment_needs_allow_protected_and_ci_alone_is_not_enough() {
    let p = Project::new();
    p.write(".env.prod", "MODE=prod\n");
    let marker = p.path().join("ran");
    let script = "touch ran";

    let (code, _, stderr) = output(run_sh(&p, &["--env", "prod"], script));
    assert_eq!(code, 3, "a refusal exits 3: {stderr}");
    assert!(stderr.contains("protected environment `prod`"), "{stderr}");
    assert!(!marker.exists(), "the command ran anyway");

    let (code, _, stderr) = output(run_sh(&p, &["--env", "prod", "--allow-protected"], script));
    assert_eq!(code, 0, "{stderr}");
    assert!(marker.exists());
    std::fs::remove_file(&marker).expect("rm");

    // Repro: CI=1 and CI=TRUE bypassed the gate on a developer's laptop. CI=true alone no
    // longer allows it either.
    for ci in ["true", "1", "TRUE"] {
        let mut cmd = run_sh(&p, &["--env", "prod"], script);
        cmd.env("CI", ci);
        let (code, _, stderr) = output(cmd);
        assert_eq!(code, 3, "CI={ci}: {stderr}");
        assert!(!marker.exists(), "CI={ci}: the command ran anyway");
    }
    // The setting a CI file makes explicitly.
    let mut cmd = run_sh(&p, &["--env", "prod"], script);
    cmd.env("CI", "true")
        .env("SECRETS_GUARD_ALLOW_PROTECTED", "1");
    let (code, _, stderr) = output(cmd);
    assert_eq!(code, 0, "{stderr}");
    assert!(marker.exists());
    std::fs::remove_file(&marker).expect("rm");

    // A configured protected list adds to the default names.
    p.write(".secrets-guard.toml", "[env]\nprotected = [\"qa\"]\n");
    p.write(".env.qa", "MODE=qa\n");
    assert_eq!(output(run_sh(&p, &["--env", "prod"], script)).0, 3);
    assert_eq!(output(run_sh(&p, &["--env", "qa"], script)).0, 3);
    // An environment's own `protected = false` opts out.
    p.write(
        ".secrets-guard.toml",
        "[env]\nprotected = [\"qa\"]\n[env.environments.prod]\nprotected = false\n",
    );
    assert_eq!(output(run_sh(&p, &["--env", "prod"], script)).0, 0);
    assert!(!marker.exists() || std::fs::remove_file(&marker).is_ok());
}

#[test]
fn run_refuses_a_key_issued_for_another_environment() {
    let p = Project::new();
    let prod_key = sg_keyformat::ApiKey::generate("prod").expect("key");
    p.write(".env.dev", &format!("SG_KEY={}\n", prod_key.expose()));
    let (code, stdout, stderr) = output(run_sh(&p, &["--env", "dev"], "touch ran"));
    assert_eq!(code, 3, "a refusal exits 3: {stdout}{stderr}");
    assert!(!p.path().join("ran").exists(), "the command ran anyway");
    assert!(
        stderr.contains(".env.dev:1: wrong-environment [dev] SG_KEY"),
        "{stderr}"
    );
    assert!(!stderr.contains(prod_key.expose()), "{stderr}");

    // A key for its own environment runs.
    let dev_key = sg_keyformat::ApiKey::generate("dev").expect("key");
    p.write(".env.dev", &format!("SG_KEY={}\n", dev_key.expose()));
    let (code, _, stderr) = output(run_sh(&p, &["--env", "dev"], "touch ran"));
    assert_eq!(code, 0, "{stderr}");
    assert!(p.path().join("ran").exists());
}

#[test]
fn a_child_killed_by_a_signal_gives_128_plus_the_signal() {
    let p = Project::new();
    p.write(".env.dev", "A=1\n");
    let (code, _, _) = output(run_sh(&p, &["--env", "dev"], "kill -TERM $$"));
    assert_eq!(code, 128 + 15);
}

#[test]
fn a_missing_command_exits_127_and_a_non_executable_one_126() {
    // Repro: both exited 2.
    let p = Project::new();
    p.write(".env.dev", "A=1\n");
    let (code, _, stderr) = p.env(&["run", "--env", "dev", "--", "/nonexistent/program"]);
    assert_eq!(code, 127, "{stderr}");
    assert!(
        stderr.contains("cannot run `/nonexistent/program`"),
        "{stderr}"
    );
    let (code, _, stderr) = p.env(&["run", "--env", "dev", "--", "no-such-command-sg-test"]);
    assert_eq!(code, 127, "{stderr}");

    p.write("script.sh", "#!/bin/sh\necho hi\n");
    let script = p.path().join("script.sh");
    let script = script.to_str().expect("utf-8 path");
    let (code, _, stderr) = p.env(&["run", "--env", "dev", "--", script]);
    assert_eq!(code, 126, "{stderr}");
    assert!(stderr.contains("not executable"), "{stderr}");
    let dir = p.path().to_str().expect("utf-8 path");
    assert_eq!(p.env(&["run", "--env", "dev", "--", dir]).0, 126);
}

#[test]
fn options_are_parsed_before_the_command_and_a_misspelt_one_is_an_error() {
    // Repro: `--overide` became the command to run.
    let p = Project::new();
    p.write(".env.dev", "A=1\n");
    let (code, _, stderr) = p.env(&["run", "--env", "dev", "--overide", "--", "/bin/true"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--overide"), "{stderr}");
    let (code, _, stderr) = p.env(&["run", "--overide", "--env", "dev", "--", "/bin/true"]);
    assert_eq!(code, 2, "{stderr}");
    // After `--`, everything is the child's, options included.
    let (code, stdout, stderr) =
        output(run_sh(&p, &["--env", "dev"], "printf '%s' \"$1\"; exit 4"));
    assert_eq!((code, stdout.as_str()), (4, ""), "{stderr}");
    let mut cmd = p.command(&["run", "--env", "dev"]);
    cmd.args(["--", "/bin/sh", "-c", "printf '%s' \"$0\"", "--override"]);
    let (code, stdout, stderr) = output(cmd);
    assert_eq!((code, stdout.as_str()), (0, "--override"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn sigterm_sent_to_secrets_guard_reaches_the_child() {
    let p = Project::new();
    p.write(".env.dev", "A=1\n");
    let bin = assert_cmd::cargo::cargo_bin("secrets-guard");
    // The child says it is ready only once its trap is installed.
    let script =
        r#"trap 'echo got-term > got; exit 42' TERM; touch ready; while :; do sleep 0.05; done"#;
    let mut child = std::process::Command::new(bin)
        .args(["env", "run", "--env", "dev", "--dir"])
        .arg(p.path())
        .args(["--", "/bin/sh", "-c", script])
        .current_dir(p.path())
        .env_remove("CI")
        .spawn()
        .expect("spawns");
    let ready = p.path().join("ready");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !ready.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the child never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = i32::try_from(child.id()).expect("pid fits");
    // SAFETY: signalling the process this test spawned.
    let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(sent, 0);
    let status = child.wait().expect("waits");
    assert_eq!(status.code(), Some(42), "{status:?}");
    let got = std::fs::read_to_string(p.path().join("got")).expect("the child saw SIGTERM");
    assert_eq!(got.trim(), "got-term");
}

const TRICKY: &str = "it's a \"test\" with $HOME, ${X}, a \\ backslash,\ta tab\nand a second line";

fn tricky_project() -> Project {
    let p = Project::new();
    p.write(
        ".env.qa",
        "TRICKY=\"it's a \\\"test\\\" with \\$HOME, \\${X}, a \\\\ backslash,\\ta tab\\nand a second line\"\nPLAIN=simple\nEMPTY=\n",
    );
    p
}

#[test]
fn get_prints_the_value_the_user_asked_for() {
    let p = tricky_project();
    let (code, stdout, stderr) = p.env(&["get", "--env", "qa", "TRICKY"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, format!("{TRICKY}\n"));
    let (code, stdout, stderr) = p.env(&["get", "--env", "qa", "NOPE"]);
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("`NOPE` is not defined in environment `qa`"),
        "{stderr}"
    );
}

#[test]
fn export_dotenv_reads_back_unchanged() {
    let p = tricky_project();
    let (code, exported, stderr) = p.env(&["export", "--env", "qa", "--format", "dotenv"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(exported.starts_with("TRICKY=\""), "{exported}");
    let q = Project::new();
    q.write(".env.dev", &exported);
    for (key, expected) in [("TRICKY", TRICKY), ("PLAIN", "simple"), ("EMPTY", "")] {
        let (code, stdout, stderr) = q.env(&["get", "--env", "dev", key]);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(stdout, format!("{expected}\n"), "{key}");
    }
}

#[test]
fn export_shell_is_escaped_for_sh() {
    let p = tricky_project();
    let (code, exported, stderr) = p.env(&["export", "--env", "qa", "--format", "shell"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(exported.contains("export PLAIN='simple'\n"), "{exported}");
    p.write("exported.sh", &exported);
    let out = std::process::Command::new("/bin/sh")
        .args([
            "-c",
            r#". ./exported.sh; printf '%s|%s|%s' "$TRICKY" "$PLAIN" "$EMPTY""#,
        ])
        .current_dir(p.path())
        .env("HOME", "/should-not-expand")
        .output()
        .expect("sh runs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{TRICKY}|simple|")
    );
}

#[test]
fn export_json_is_an_object_of_values() {
    let p = tricky_project();
    let (code, exported, stderr) = p.env(&["export", "--env", "qa", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&exported).expect("json");
    assert_eq!(v["TRICKY"], TRICKY);
    assert_eq!(v["PLAIN"], "simple");
    assert_eq!(v["EMPTY"], "");
    assert_eq!(v.as_object().map(|o| o.len()), Some(3));
}

#[test]
fn an_unknown_or_missing_environment_is_an_input_error() {
    let p = Project::new();
    p.write(".env.dev", "A=1\n");
    let (code, _, stderr) = p.env(&["get", "--env", "staging", "A"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(".env.staging") && stderr.contains("missing"),
        "{stderr}"
    );
    let mut cmd = Command::cargo_bin("secrets-guard").expect("binary");
    cmd.args(["env", "list", "--env", "dev", "--dir"])
        .arg(p.path().join("no-such-dir"));
    let (code, _, stderr) = output(cmd);
    assert_eq!(code, 2);
    assert!(stderr.contains("no-such-dir: cannot read"), "{stderr}");

    p.write(".secrets-guard.toml", "[env]\nnames = [\"dev\"]\n");
    let (code, _, stderr) = p.env(&["get", "--env", "staging", "A"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("unknown environment `staging` (known: dev)"),
        "{stderr}"
    );
}
