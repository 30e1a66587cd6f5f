//! End-to-end: `secrets-guard env check` on temporary projects with real git repositories.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

const STRIPE_LIVE: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
const STRIPE_TEST: &str = "sk_test_9bF2kQm7XwPz3LrT8vYc1NdA";
const STRIPE_RESTRICTED_LIVE: &str = "rk_live_51HqLyjWDarjtT1zdp7dcQ2x";
const RANDOM_PASSWORD: &str = "q8Zr2LmW0xVbN4tYc7Hs";

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// A project that is a git repository with no commits yet.
    fn repo() -> Project {
        let p = Project::plain();
        p.git(&["init", "-q", "-b", "main"]);
        p
    }

    fn plain() -> Project {
        Project {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, name: &str, text: &str) {
        let path: PathBuf = self.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
    }

    fn git(&self, args: &[&str]) {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(self.path())
            .env("GIT_AUTHOR_NAME", "Alice Example")
            .env("GIT_AUTHOR_EMAIL", "alice@example.com")
            .env("GIT_COMMITTER_NAME", "Alice Example")
            .env("GIT_COMMITTER_EMAIL", "alice@example.com")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.path())
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    fn env(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::cargo_bin("secrets-guard")
            .expect("binary")
            .arg("env")
            .args(args)
            .arg("--dir")
            .arg(self.path())
            .env_remove("SECRETS_GUARD_DB")
            .env_remove("CI")
            .output()
            .expect("runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `env check --format json [extra]`: exit code and findings.
    fn check(&self, extra: &[&str]) -> (i32, Vec<Value>, String) {
        let mut args = vec!["check", "--format", "json"];
        args.extend_from_slice(extra);
        let (code, stdout, stderr) = self.env(&args);
        let findings: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
        let findings = findings.as_array().cloned().unwrap_or_default();
        (code, findings, stderr)
    }
}

fn of_kind<'a>(findings: &'a [Value], kind: &str) -> Vec<&'a Value> {
    findings.iter().filter(|f| f["kind"] == kind).collect()
}

fn key(env: &str) -> String {
    sg_keyformat::ApiKey::generate(env)
        .expect("valid environment")
        .expose()
        .to_owned()
}

#[test]
fn a_clean_project_passes() {
    let p = Project::repo();
    p.write(".gitignore", ".env.*\n");
    p.write(".env", "LOG_LEVEL=info\nPORT=8080\n");
    p.write(
        ".env.dev",
        &format!(
            "STRIPE_KEY={STRIPE_TEST}\nSG_KEY={}\nDEBUG=true\n",
            key("dev")
        ),
    );
    p.write(
        ".env.qa",
        &format!(
            "STRIPE_KEY=sk_test_Qa7yEe2zI7BXKy9Pf34qY6Nb\nSG_KEY={}\nDEBUG=true\n",
            key("qa")
        ),
    );
    p.write(
        ".env.prod",
        &format!(
            "STRIPE_KEY={STRIPE_LIVE}\nSG_KEY={}\nDEBUG=false\n",
            key("prod")
        ),
    );
    let (code, findings, stderr) = p.check(&[]);
    assert_eq!(findings, Vec::<Value>::new(), "{stderr}");
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = p.env(&["check"]);
    assert_eq!(code, 0);
    assert_eq!(stdout, "");
    assert!(stderr.contains("no problems in dev, qa, prod"), "{stderr}");
}

#[test]
fn a_secret_shared_by_two_environments_is_flagged_but_settings_are_not() {
    let p = Project::repo();
    p.write(".gitignore", ".env*\n");
    // Same settings everywhere are fine; the same password in dev and prod is not.
    p.write(
        ".env.dev",
        &format!("LOG_LEVEL=info\nPORT=8080\nDB_PASSWORD={RANDOM_PASSWORD}\n"),
    );
    p.write(
        ".env.prod",
        &format!("LOG_LEVEL=info\nPORT=8080\n\nDB_PASSWORD=\"{RANDOM_PASSWORD}\"\n"),
    );
    let (code, findings, stderr) = p.check(&[]);
    assert_eq!(code, 1, "{stderr}");
    let shared = of_kind(&findings, "shared-secret");
    assert_eq!(shared.len(), 2, "{findings:#?}");
    assert_eq!(shared[0]["environment"], "dev");
    assert_eq!(shared[0]["file"], ".env.dev");
    assert_eq!(shared[0]["line"], 3);
    assert_eq!(shared[0]["key"], "DB_PASSWORD");
    assert!(
        shared[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(".env.prod:4 (prod)")),
        "{findings:#?}"
    );
    assert_eq!(shared[1]["environment"], "prod");
    assert_eq!(shared[1]["line"], 4);
    assert_eq!(
        findings.len(),
        2,
        "nothing about LOG_LEVEL or PORT: {findings:#?}"
    );
}

#[test]
fn a_secret_in_the_shared_env_file_is_flagged_once() {
    let p = Project::repo();
    p.write(".gitignore", ".env*\n");
    p.write(
        ".env",
        &format!("LOG_LEVEL=info\nSTRIPE_KEY={STRIPE_TEST}\n"),
    );
    p.write(".env.dev", "A=1\n");
    p.write(".env.qa", "A=2\n");
    let (code, findings, _) = p.check(&[]);
    assert_eq!(code, 1);
    let shared = of_kind(&findings, "shared-secret");
    assert_eq!(shared.len(), 1, "{findings:#?}");
    assert_eq!(shared[0]["file"], ".env");
    assert_eq!(shared[0]["line"], 2);
    assert_eq!(shared[0]["environment"], "dev,qa");
}

#[test]
fn keys_whose_format_names_another_environment_are_flagged() {
    let p = Project::repo();
    p.write(".gitignore", ".env*\n");
    let prod_key = key("prod");
    let dev_key = key("dev");
    p.write(".env.dev", &format!("OK_STRIPE={STRIPE_TEST}\nSTRIPE_KEY={STRIPE_LIVE}\nSG_KEY={prod_key}\nOWN_KEY={dev_key}\n"));
    p.write(
        ".env.qa",
        &format!("STRIPE_RESTRICTED={STRIPE_RESTRICTED_LIVE}\nSG_KEY={prod_key}\n"),
    );
    p.write(
        ".env.prod",
        &format!("STRIPE_KEY={STRIPE_TEST}\nSG_KEY={dev_key}\n"),
    );
    let (code, findings, stderr) = p.check(&[]);
    assert_eq!(code, 1, "{stderr}");
    let wrong: Vec<(String, String, i64, String)> = of_kind(&findings, "wrong-environment")
        .iter()
        .map(|f| {
            (
                f["environment"].as_str().unwrap_or("").to_owned(),
                f["file"].as_str().unwrap_or("").to_owned(),
                f["line"].as_i64().unwrap_or(0),
                f["key"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected = [
        ("dev", ".env.dev", 2, "STRIPE_KEY"),
        ("dev", ".env.dev", 3, "SG_KEY"),
        ("qa", ".env.qa", 1, "STRIPE_RESTRICTED"),
        ("qa", ".env.qa", 2, "SG_KEY"),
        ("prod", ".env.prod", 1, "STRIPE_KEY"),
        ("prod", ".env.prod", 2, "SG_KEY"),
    ];
    let expected: Vec<(String, String, i64, String)> = expected
        .iter()
        .map(|(e, f, l, k)| ((*e).to_owned(), (*f).to_owned(), *l, (*k).to_owned()))
        .collect();
    assert_eq!(wrong, expected, "{findings:#?}");
    // The label names the rule and the environment the format carries.
    let dev_stripe = &of_kind(&findings, "wrong-environment")[0];
    assert!(
        dev_stripe["message"]
            .as_str()
            .is_some_and(|m| m.contains("STRIPE_KEY: stripe") && m.contains("(live)")),
        "{dev_stripe}"
    );
    let sg = &of_kind(&findings, "wrong-environment")[1];
    assert!(
        sg["message"]
            .as_str()
            .is_some_and(|m| m.contains("issued for `prod`")),
        "{sg}"
    );
}

#[test]
fn missing_required_and_parity_keys_are_listed_per_environment() {
    let p = Project::repo();
    p.write(".gitignore", ".env*\n");
    p.write(
        ".secrets-guard.toml",
        "[env]\nrequired = [\"DATABASE_URL\"]\n[env.environments.prod]\nrequired = [\"SENTRY_DSN\"]\n",
    );
    p.write(
        ".env.dev",
        "DATABASE_URL=postgres://localhost/dev\nFEATURE_X=on\nDEBUG=1\n",
    );
    p.write(".env.qa", "DATABASE_URL=postgres://qa/app\nDEBUG=1\n");
    p.write(".env.prod", "FEATURE_X=on\n");
    let (code, findings, stderr) = p.check(&[]);
    assert_eq!(code, 1, "{stderr}");
    let missing: Vec<(String, String)> = of_kind(&findings, "missing-key")
        .iter()
        .map(|f| {
            assert!(f["line"].is_null());
            (
                f["environment"].as_str().unwrap_or("").to_owned(),
                f["key"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let mut missing_sorted = missing.clone();
    missing_sorted.sort();
    let mut expected: Vec<(String, String)> = [
        ("qa", "FEATURE_X"),
        ("prod", "DATABASE_URL"),
        ("prod", "SENTRY_DSN"),
        ("prod", "DEBUG"),
    ]
    .iter()
    .map(|(e, k)| ((*e).to_owned(), (*k).to_owned()))
    .collect();
    expected.sort();
    assert_eq!(missing_sorted, expected, "{findings:#?}");
    let prod_db = of_kind(&findings, "missing-key")
        .into_iter()
        .find(|f| f["environment"] == "prod" && f["key"] == "DATABASE_URL")
        .cloned()
        .unwrap_or_default();
    assert_eq!(prod_db["file"], ".env.prod");
    assert!(
        prod_db["message"]
            .as_str()
            .is_some_and(|m| m.contains("required")),
        "{prod_db}"
    );
    let qa_feature = of_kind(&findings, "missing-key")
        .into_iter()
        .find(|f| f["environment"] == "qa")
        .cloned()
        .unwrap_or_default();
    assert!(
        qa_feature["message"]
            .as_str()
            .is_some_and(|m| m.contains("defined in dev, prod")),
        "{qa_feature}"
    );
}

#[test]
fn env_files_with_secrets_must_be_untracked_and_ignored() {
    let p = Project::repo();
    p.write(".env", "LOG_LEVEL=info\n");
    p.write(".env.dev", &format!("STRIPE_KEY={STRIPE_TEST}\n"));
    p.write(".env.prod", &format!("STRIPE_KEY={STRIPE_LIVE}\n"));
    p.git(&["add", ".env", ".env.prod"]);
    p.git(&["commit", "-q", "-m", "add env files"]);

    let (code, findings, _) = p.check(&[]);
    assert_eq!(code, 1);
    let exposed = of_kind(&findings, "exposed-file");
    assert_eq!(exposed.len(), 2, "{findings:#?}");
    assert_eq!(exposed[0]["file"], ".env.dev");
    assert!(
        exposed[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not ignored")
                && m.contains("add the line `.env.dev` to .gitignore")),
        "{exposed:#?}"
    );
    assert_eq!(exposed[1]["file"], ".env.prod");
    assert!(
        exposed[1]["message"].as_str().is_some_and(
            |m| m.contains("tracked by git") && m.contains("git rm --cached .env.prod")
        ),
        "{exposed:#?}"
    );
    // `.env` holds no secret: committing it is fine.

    // Following the advice clears the findings.
    p.write(".gitignore", ".env.dev\n.env.prod\n");
    p.git(&["rm", "-q", "--cached", ".env.prod"]);
    let (code, findings, stderr) = p.check(&[]);
    assert_eq!(findings, Vec::<Value>::new(), "{stderr}");
    assert_eq!(code, 0);
}

#[test]
fn a_committed_local_override_file_is_exposed_even_without_secrets() {
    let p = Project::repo();
    p.write(".gitignore", ".env.dev\n");
    p.write(".env.dev", "A=1\n");
    p.write(".env.dev.local", "A=2\n");
    // Untracked and not ignored, without secrets: fine.
    let (code, findings, stderr) = p.check(&[]);
    assert_eq!((code, findings.len()), (0, 0), "{findings:#?} {stderr}");
    p.git(&["add", ".env.dev.local"]);
    let (code, findings, _) = p.check(&[]);
    assert_eq!(code, 1);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["kind"], "exposed-file");
    assert_eq!(findings[0]["file"], ".env.dev.local");
    assert!(
        findings[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("git rm --cached .env.dev.local")),
        "{findings:#?}"
    );
}

#[test]
fn without_git_there_is_no_exposure_check() {
    let p = Project::plain();
    p.write(".env.dev", &format!("STRIPE_KEY={STRIPE_TEST}\n"));
    let (code, findings, stderr) = p.check(&[]);
    assert_eq!((code, findings.len()), (0, 0), "{stderr}");
}

#[test]
fn env_option_reports_one_environment_against_the_others() {
    let p = Project::repo();
    p.write(".gitignore", ".env*\n");
    p.write(
        ".env.dev",
        &format!("DB_PASSWORD={RANDOM_PASSWORD}\nSTRIPE_KEY={STRIPE_LIVE}\n"),
    );
    p.write(
        ".env.prod",
        &format!("DB_PASSWORD={RANDOM_PASSWORD}\nSTRIPE_KEY={STRIPE_LIVE}\n"),
    );
    let (code, findings, _) = p.check(&["--env", "prod"]);
    assert_eq!(code, 1);
    assert!(
        findings.iter().all(|f| f["environment"] == "prod"),
        "{findings:#?}"
    );
    // Shared with dev: both keys. The live key itself is right for prod.
    assert_eq!(
        of_kind(&findings, "shared-secret").len(),
        2,
        "{findings:#?}"
    );
    assert_eq!(
        of_kind(&findings, "wrong-environment").len(),
        0,
        "{findings:#?}"
    );
}

#[test]
fn no_value_appears_in_check_or_list_output() {
    let p = Project::repo();
    let prod_key = key("prod");
    let values = [
        STRIPE_LIVE,
        RANDOM_PASSWORD,
        prod_key.as_str(),
        "postgres://app:hunter2secret@db/app",
    ];
    p.write(
        ".env.dev",
        &format!(
            "STRIPE_KEY={}\nDB_PASSWORD={}\nSG_KEY={}\nDATABASE_URL={}\n",
            values[0], values[1], values[2], values[3]
        ),
    );
    p.write(
        ".env.prod",
        &format!("DB_PASSWORD={}\nSG_KEY={}\n", values[1], values[2]),
    );
    let mut outputs = Vec::new();
    for args in [
        vec!["check"],
        vec!["check", "--format", "json"],
        vec!["list", "--env", "dev"],
        vec!["list", "--env", "dev", "--format", "json"],
    ] {
        let (code, stdout, stderr) = p.env(&args);
        assert!(code == 0 || code == 1, "{args:?}: {stderr}");
        outputs.push(format!("{stdout}{stderr}"));
    }
    for out in &outputs {
        for v in values {
            assert!(!out.contains(v), "value leaked:\n{out}");
        }
        assert!(!out.contains("hunter2secret"), "{out}");
    }
    // The checks did find things, so the outputs were not trivially empty.
    assert!(outputs[0].contains("wrong-environment"), "{}", outputs[0]);
    assert!(outputs[0].contains("shared-secret"), "{}", outputs[0]);
}

#[test]
fn list_labels_each_secret_with_its_rule() {
    let p = Project::plain();
    p.write(".env", "LOG_LEVEL=info\n");
    p.write(
        ".env.dev",
        &format!("STRIPE_KEY={STRIPE_LIVE}\nPORT=8080\nSESSION_SECRET={RANDOM_PASSWORD}\n"),
    );
    let (code, stdout, stderr) = p.env(&["list", "--env", "dev", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let rows: Value = serde_json::from_str(&stdout).expect("json");
    let rows = rows.as_array().cloned().unwrap_or_default();
    let keys: Vec<&str> = rows.iter().filter_map(|r| r["key"].as_str()).collect();
    assert_eq!(keys, ["LOG_LEVEL", "STRIPE_KEY", "PORT", "SESSION_SECRET"]);
    assert_eq!(rows[0]["file"], ".env");
    assert_eq!(rows[0]["secret"], false);
    assert!(rows[0]["kind"].is_null());
    assert_eq!(rows[1]["file"], ".env.dev");
    assert_eq!(rows[1]["line"], 1);
    assert_eq!(rows[1]["secret"], true);
    let kind = rows[1]["kind"].as_str().unwrap_or("");
    assert!(
        kind.starts_with("stripe") && kind.ends_with("(live)"),
        "{kind}"
    );
    assert_eq!(rows[1]["value"], "sk_l…(32 chars)");
    assert_eq!(rows[2]["secret"], false);
    assert_eq!(rows[3]["secret"], true);
    assert!(rows[3]["kind"].is_string(), "{}", rows[3]);

    let (_, human, _) = p.env(&["list", "--env", "dev"]);
    let line = human
        .lines()
        .find(|l| l.starts_with("STRIPE_KEY"))
        .unwrap_or("");
    assert!(
        line.contains(".env.dev:1") && line.contains("(live)"),
        "{human}"
    );
}

#[test]
fn input_errors_exit_2_and_name_the_place_not_the_value() {
    let p = Project::plain();
    p.write(".env.dev", "OK=1\nTOKEN=\"sekretvalue\nNEXT=2\n");
    let (code, stdout, stderr) = p.env(&["check"]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains(".env.dev:2:7: in `TOKEN`: unterminated double quote"),
        "{stderr}"
    );
    assert!(!stderr.contains("sekretvalue"), "{stderr}");

    // A declared environment whose file is missing is an error, not an empty environment.
    let p = Project::plain();
    p.write(".secrets-guard.toml", "[env]\nnames = [\"dev\", \"qa\"]\n");
    p.write(".env.dev", "A=1\n");
    let (code, _, stderr) = p.env(&["check"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(".env.qa") && stderr.contains("missing"),
        "{stderr}"
    );

    // A project with no env files at all.
    let p = Project::plain();
    let (code, _, stderr) = p.env(&["check"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no environment files"), "{stderr}");

    // A key that is not an identifier.
    let p = Project::plain();
    p.write(".env.dev", "API-KEY=x\n");
    let (code, _, stderr) = p.env(&["check"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(".env.dev:1:1: `API-KEY` is not a valid variable name"),
        "{stderr}"
    );
}

#[test]
fn duplicate_keys_warn_naming_both_lines() {
    let p = Project::plain();
    p.write(".env.dev", "A=1\nB=2\nA=3\n");
    let (code, _, stderr) = p.env(&["check"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: .env.dev:3: `A` is defined twice, on lines 1 and 3"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn an_env_symlink_pointing_outside_the_project_is_refused() {
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("credentials"), "AWS_SECRET=x\n").expect("write");
    let p = Project::plain();
    std::os::unix::fs::symlink(outside.path().join("credentials"), p.path().join(".env"))
        .expect("symlink");
    p.write(".env.dev", "A=1\n");
    let (code, _, stderr) = p.env(&["check"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("refusing a symlink that points outside the project"),
        "{stderr}"
    );
}

#[test]
fn bom_and_crlf_files_load() {
    let p = Project::plain();
    p.write(".env.dev", "\u{feff}A=1\r\nB=\"two\r\nlines\"\r\n");
    let (code, stdout, stderr) = p.env(&["get", "--env", "dev", "B"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "two\nlines\n");
    let (_, stdout, _) = p.env(&["get", "--env", "dev", "A"]);
    assert_eq!(stdout, "1\n");
}
