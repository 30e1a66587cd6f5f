//! End-to-end regression tests for the env loader's second round: protection that follows
//! the content, the usual conventions, check suppression and classification, monorepos,
//! and the parent-directory search. Each repro of issue 11 is a test here (or in
//! env_run.rs / the sg-env crate's tests).

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

const STRIPE_LIVE: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
const DB_PROD: &str = "postgres://app:Vq8Zr2LmW0xVbN4tYc7H@db.prod.internal/app";

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn plain() -> Project {
        Project {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn repo() -> Project {
        let p = Project::plain();
        let status = std::process::Command::new("git")
            .args(["init", "-q", "-b", "main"])
            .current_dir(p.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", p.path())
            .status()
            .expect("git runs");
        assert!(status.success());
        p
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

    /// `secrets-guard env ARGS` run in `cwd` (relative to the project), no --dir.
    fn env_in(&self, cwd: &str, args: &[&str]) -> (i32, String, String) {
        let dir = self.path().join(cwd);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let out = Command::cargo_bin("secrets-guard")
            .expect("binary")
            .arg("env")
            .args(args)
            .current_dir(dir)
            .env_remove("SECRETS_GUARD_DB")
            .env_remove("SECRETS_GUARD_ALLOW_PROTECTED")
            .env_remove("CI")
            .output()
            .expect("runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn env(&self, args: &[&str]) -> (i32, String, String) {
        self.env_in(".", args)
    }

    /// `env check --format json`, in `cwd`.
    fn check_in(&self, cwd: &str, extra: &[&str]) -> (i32, Vec<Value>, String) {
        let mut args = vec!["check", "--format", "json"];
        args.extend_from_slice(extra);
        let (code, stdout, stderr) = self.env_in(cwd, &args);
        let findings: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
        (
            code,
            findings.as_array().cloned().unwrap_or_default(),
            stderr,
        )
    }

    /// `env run ARGS -- sh -c SCRIPT`: exit code, stdout, stderr.
    fn run_sh(&self, args: &[&str], script: &str) -> (i32, String, String) {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--", "/bin/sh", "-c", script]);
        self.env(&all)
    }
}

fn of_kind<'a>(findings: &'a [Value], kind: &str) -> Vec<&'a Value> {
    findings.iter().filter(|f| f["kind"] == kind).collect()
}

// --- 1. Protection by content -------------------------------------------------------

#[test]
fn env_production_is_protected_by_default() {
    let p = Project::plain();
    p.write(".env.production", &format!("DATABASE_URL={DB_PROD}\n"));
    let (code, stdout, stderr) =
        p.run_sh(&["--env", "production"], "printf '%s' \"$DATABASE_URL\"");
    assert_eq!(code, 3, "{stderr}");
    assert!(!stdout.contains("db.prod"), "{stdout}");
    for name in ["prd", "live"] {
        p.write(&format!(".env.{name}"), "A=1\n");
        assert_eq!(p.run_sh(&["--env", name], "true").0, 3, "{name}");
    }
}

#[test]
fn a_custom_environment_loading_prods_file_is_protected() {
    let p = Project::plain();
    p.write(".env", "LOG_LEVEL=info\n");
    p.write(".env.prod", &format!("DATABASE_URL={DB_PROD}\n"));
    p.write(".env.dev", "DATABASE_URL=postgres://localhost/dev\n");
    p.write(
        ".secrets-guard.toml",
        "[env.environments.deploy]\nfiles = [\".env\", \".env.prod\"]\n",
    );
    let (code, stdout, stderr) = p.run_sh(&["--env", "deploy"], "printf '%s' \"$DATABASE_URL\"");
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(stderr.contains("`.env.prod`"), "{stderr}");
    // `.env` is shared by design: it protects nothing, so dev still runs.
    assert_eq!(p.run_sh(&["--env", "dev"], "true").0, 0);
    assert_eq!(
        p.run_sh(&["--env", "deploy", "--allow-protected"], "true")
            .0,
        0
    );
}

#[cfg(unix)]
#[test]
fn a_symlink_to_prods_file_is_protected() {
    let p = Project::plain();
    p.write(".env.prod", &format!("DATABASE_URL={DB_PROD}\n"));
    std::os::unix::fs::symlink(".env.prod", p.path().join(".env.dev")).expect("symlink");
    let (code, stdout, stderr) = p.run_sh(&["--env", "dev"], "printf '%s' \"$DATABASE_URL\"");
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let (code, stdout, _) = p.env(&["export", "--env", "dev"]);
    assert_eq!(code, 3);
    assert!(!stdout.contains("db.prod"), "{stdout}");
}

#[test]
fn export_and_get_of_a_protected_environment_need_allow_protected() {
    let p = Project::plain();
    p.write(".env.prod", &format!("DATABASE_URL={DB_PROD}\n"));
    for args in [
        vec!["export", "--env", "prod"],
        vec!["export", "--env", "prod", "--format", "json"],
        vec!["get", "--env", "prod", "DATABASE_URL"],
    ] {
        let (code, stdout, stderr) = p.env(&args);
        assert_eq!(code, 3, "{args:?}: {stderr}");
        assert!(
            !stdout.contains("db.prod") && !stderr.contains("db.prod"),
            "{args:?}"
        );
        let mut allowed = args.clone();
        allowed.insert(1, "--allow-protected");
        let (code, stdout, stderr) = p.env(&allowed);
        assert_eq!(code, 0, "{allowed:?}: {stderr}");
        assert!(stdout.contains("db.prod"), "{allowed:?}: {stdout}");
    }
    // `list` shows redacted values: no gate.
    assert_eq!(p.env(&["list", "--env", "prod"]).0, 0);
}

#[test]
fn a_live_key_or_a_prod_key_protects_any_environment() {
    let p = Project::plain();
    p.write(".env.staging", &format!("STRIPE_KEY={STRIPE_LIVE}\n"));
    let (code, stdout, stderr) = p.env(&["export", "--env", "staging"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(!stdout.contains(STRIPE_LIVE));
    assert!(stderr.contains("STRIPE_KEY"), "{stderr}");
    assert!(!stderr.contains(STRIPE_LIVE), "{stderr}");

    let prod_key = sg_keyformat::ApiKey::generate("prod").expect("key");
    p.write(".env.qa", &format!("SG_KEY={}\n", prod_key.expose()));
    assert_eq!(p.env(&["get", "--env", "qa", "SG_KEY"]).0, 3);

    // A publishable key is public: no protection.
    p.write(
        ".env.demo",
        "STRIPE_PUBLISHABLE_KEY=pk_live_51Dm7w4suUssSCQtHkFVRsbQhSDnHY\n",
    );
    assert_eq!(p.env(&["export", "--env", "demo"]).0, 0);
}

#[test]
fn an_ad_hoc_file_of_prod_is_protected() {
    let p = Project::plain();
    p.write(".env.prod", &format!("DATABASE_URL={DB_PROD}\n"));
    let (code, stdout, _) = p.env(&["export", "-f", ".env.prod"]);
    assert_eq!(code, 3);
    assert!(!stdout.contains("db.prod"));
}

#[test]
fn a_protected_entry_that_matches_nothing_is_exit_2() {
    let p = Project::plain();
    p.write(".env.prod", "A=1\n");
    p.write(".env.dev", "A=1\n");
    p.write(
        ".secrets-guard.toml",
        "[env]\nprotected = [\"prodution\"]\n",
    );
    for args in [vec!["check"], vec!["list", "--env", "dev"]] {
        let (code, _, stderr) = p.env(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("`prodution`"), "{stderr}");
    }
}

// --- 2. Conventions ---------------------------------------------------------------

#[test]
fn a_nextjs_project_works_without_configuration() {
    let p = Project::plain();
    p.write("next.config.js", "module.exports = {};\n");
    p.write(".env", "ORDER=env\nA=env\nB=env\nC=env\n");
    p.write(".env.development", "ORDER=mode\nA=mode\nB=mode\n");
    p.write(".env.local", "ORDER=local\nA=local\n");
    p.write(".env.development.local", "ORDER=mode-local\n");
    p.write(".env.test", "ORDER=test\n");
    p.write(".env.production", "ORDER=prod\n");
    // Next.js: .env < .env.[mode] < .env.local < .env.[mode].local.
    let (code, stdout, stderr) = p.run_sh(
        &["--env", "dev"],
        "printf '%s|%s|%s|%s' \"$ORDER\" \"$A\" \"$B\" \"$C\"",
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "mode-local|local|mode|env");
    // `.env.local` is skipped for test.
    let (_, stdout, _) = p.run_sh(&["--env", "test"], "printf '%s|%s' \"$ORDER\" \"$A\"");
    assert_eq!(stdout, "test|env");
    let (code, _, stderr) = p.env(&["list", "--env", "development"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("convention: nextjs (detected"), "{stderr}");
    let (code, _, stderr) = p.env(&["check"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("development") && stderr.contains("production"),
        "{stderr}"
    );
}

#[test]
fn a_vite_project_works_without_configuration() {
    let p = Project::plain();
    p.write("vite.config.ts", "export default {};\n");
    p.write(".env", "ORDER=env\nA=env\nB=env\n");
    p.write(".env.local", "ORDER=local\nA=local\nB=local\n");
    p.write(".env.development", "ORDER=mode\nA=mode\n");
    p.write(".env.development.local", "ORDER=mode-local\n");
    p.write(".env.test", "T=1\n");
    // dotenv-flow/Vite: .env < .env.local < .env.[mode] < .env.[mode].local.
    let (code, stdout, stderr) = p.run_sh(
        &["--env", "development"],
        "printf '%s|%s|%s' \"$ORDER\" \"$A\" \"$B\"",
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "mode-local|mode|local");
    let (_, stdout, _) = p.run_sh(&["--env", "test"], "printf '%s' \"$B\"");
    assert_eq!(stdout, "env", ".env.local is skipped for test");
    let (_, _, stderr) = p.env(&["list", "--env", "dev"]);
    assert!(
        stderr.contains("convention: dotenv-flow (detected"),
        "{stderr}"
    );
    // The long names alone are found (repro: only .env.dev/.qa/.prod were).
    let q = Project::plain();
    q.write(".env.development", "A=1\n");
    q.write(".env.staging", "A=2\n");
    let (code, stdout, stderr) = q.run_sh(&["--env", "stage"], "printf '%s' \"$A\"");
    assert_eq!((code, stdout.as_str()), (0, "2"), "{stderr}");
}

#[test]
fn the_convention_option_and_setting_override_detection() {
    let p = Project::plain();
    p.write(".env.local", "ORDER=local\n");
    p.write(".env.development", "ORDER=mode\n");
    // Detected: dotenv-flow (mode beats .env.local).
    assert_eq!(
        p.run_sh(&["--env", "dev"], "printf %s \"$ORDER\"").1,
        "mode"
    );
    assert_eq!(
        p.run_sh(
            &["--env", "dev", "--convention", "nextjs"],
            "printf %s \"$ORDER\""
        )
        .1,
        "local"
    );
    p.write(".secrets-guard.toml", "[env]\nconvention = \"next\"\n");
    assert_eq!(
        p.run_sh(&["--env", "dev"], "printf %s \"$ORDER\"").1,
        "local"
    );
    let (code, _, stderr) = p.env(&["list", "--env", "dev", "--convention", "rails"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown convention"), "{stderr}");
}

#[test]
fn aliases_name_the_same_environment() {
    let p = Project::plain();
    p.write(".env.dev", "A=dev\n");
    p.write(".env.prod", "A=prod\n");
    assert_eq!(
        p.run_sh(&["--env", "development"], "printf %s \"$A\"").1,
        "dev"
    );
    let (code, stdout, _) = p.env(&["get", "--env", "production", "--allow-protected", "A"]);
    assert_eq!((code, stdout.trim()), (0, "prod"));
    assert_eq!(p.env(&["get", "--env", "production", "A"]).0, 3);
}

#[test]
fn dash_f_loads_ad_hoc_files_in_order() {
    let p = Project::plain();
    p.write(".env.dev", "A=dev\nB=dev\nC=dev\n");
    p.write("one.env", "A=one\nB=one\n");
    p.write("two.env", "A=two\n");
    let (code, stdout, stderr) = p.run_sh(
        &["-f", "one.env", "-f", "two.env"],
        "printf '%s|%s|%s' \"$A\" \"$B\" \"$C\"",
    );
    assert_eq!((code, stdout.as_str()), (0, "two|one|"), "{stderr}");
    let (_, stdout, _) = p.run_sh(
        &["--env", "dev", "--file", "one.env"],
        "printf '%s|%s|%s' \"$A\" \"$B\" \"$C\"",
    );
    assert_eq!(stdout, "one|one|dev");
    let (code, _, stderr) = p.env(&["export", "-f", "missing.env"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("missing.env"), "{stderr}");
}

#[test]
fn the_project_is_found_in_a_parent_directory_up_to_the_repository_root() {
    let p = Project::repo();
    p.write("app/.env.dev", "A=found\n");
    // Repro: from a subdirectory, "missing: environment `dev` declares it".
    let (code, stdout, stderr) = p.env_in(
        "app/src/components",
        &[
            "run",
            "--env",
            "dev",
            "--",
            "/bin/sh",
            "-c",
            "printf %s \"$A\"",
        ],
    );
    assert_eq!((code, stdout.as_str()), (0, "found"), "{stderr}");
    assert!(stderr.contains("using the env files in"), "{stderr}");
    assert!(stderr.contains("app"), "{stderr}");
    // No env files up to the repository root: a clear error, exit 2.
    let (code, _, stderr) = p.env_in("lib/deep", &["list", "--env", "dev"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no environment files here or in a parent"),
        "{stderr}"
    );
}

// --- 5. env check ---------------------------------------------------------------------

#[test]
fn public_values_are_not_shared_secrets() {
    let p = Project::plain();
    let shared = "STRIPE_PUBLISHABLE_KEY=pk_live_51Dm7w4suUssSCQtHkFVRsbQhSDnHY\n\
        DATABASE_URL=postgres://postgres:postgres@localhost:5432/app\n\
        SENTRY_DSN=https://0123456789abcdef0123456789abcdef@o4505.ingest.sentry.io/4505\n\
        NEXT_PUBLIC_ANALYTICS_KEY=q8Zr2LmW0xVbN4tYc7Hs\n\
        GIT_SHA=3ac9823e01b99ec1a7f3c9b4a2ba2f321c7feab0\n";
    p.write(".env.dev", shared);
    p.write(".env.prod", shared);
    let (code, findings, stderr) = p.check_in(".", &[]);
    assert!(
        of_kind(&findings, "shared-secret").is_empty(),
        "{findings:?}"
    );
    assert_eq!(code, 0, "{findings:?} {stderr}");
    // A real secret still is.
    p.write(".env.dev", &format!("{shared}TOKEN=Xq7Lp2Vz9Rt4Wm8Kc3Bn\n"));
    p.write(
        ".env.prod",
        &format!("{shared}TOKEN=Xq7Lp2Vz9Rt4Wm8Kc3Bn\n"),
    );
    let (code, findings, _) = p.check_in(".", &[]);
    assert_eq!(code, 1);
    assert_eq!(of_kind(&findings, "shared-secret").len(), 2, "{findings:?}");
}

#[test]
fn allow_comments_and_allowlists_silence_findings() {
    let p = Project::plain();
    p.write(".env.dev", "TOKEN=Xq7Lp2Vz9Rt4Wm8Kc3Bn # secrets-guard:allow\nOTHER=Hb5Nm2Qw8Er4Ty6Ui0Op\nSEED=Zz9Yy8Xx7Ww6Vv5Uu4Tt\n");
    p.write(
        ".env.prod",
        "TOKEN=Xq7Lp2Vz9Rt4Wm8Kc3Bn\nOTHER=Hb5Nm2Qw8Er4Ty6Ui0Op\nSEED=Zz9Yy8Xx7Ww6Vv5Uu4Tt\n",
    );
    let (code, findings, _) = p.check_in(".", &[]);
    assert_eq!(code, 1);
    let keys: Vec<&str> = of_kind(&findings, "shared-secret")
        .iter()
        .filter_map(|f| f["key"].as_str())
        .collect();
    assert!(!keys.contains(&"TOKEN"), "{findings:?}");
    assert!(
        keys.contains(&"OTHER") && keys.contains(&"SEED"),
        "{findings:?}"
    );

    // By key name, and by the value's SHA-256 (never the value).
    let hash: String = sg_env::SecretValue::new("Zz9Yy8Xx7Ww6Vv5Uu4Tt")
        .digest()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    p.write(
        ".secrets-guard.toml",
        &format!(
            "[[env.allowlists]]\ndescription = \"fixtures\"\nkeys = [\"OTHER\"]\n\n[[env.allowlists]]\nhashes = [\"sha256:{hash}\"]\n"
        ),
    );
    let (code, findings, stderr) = p.check_in(".", &[]);
    assert_eq!(code, 0, "{findings:?} {stderr}");

    // By path.
    p.write(".env.qa", "SEED=Zz9Yy8Xx7Ww6Vv5Uu4Tt\nTOKEN=x\nOTHER=y\n");
    p.write(
        ".secrets-guard.toml",
        "[[env.allowlists]]\nkeys = [\"OTHER\"]\n[[env.allowlists]]\npaths = [\".env.qa\", \".env.dev\"]\n",
    );
    let (_, findings, _) = p.check_in(".", &[]);
    assert!(
        findings
            .iter()
            .all(|f| f["file"] != ".env.qa" && f["file"] != ".env.dev"),
        "{findings:?}"
    );
    // A value in `hashes` is refused: only digests belong there.
    p.write(
        ".secrets-guard.toml",
        "[[env.allowlists]]\nhashes = [\"Zz9Yy8Xx7Ww6Vv5Uu4Tt\"]\n",
    );
    let (code, _, stderr) = p.env(&["check"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("Zz9Yy8Xx"), "{stderr}");
}

#[test]
fn optional_and_only_keys_are_not_missing() {
    let p = Project::plain();
    p.write(
        ".env.dev",
        "DATABASE_URL=postgres://localhost/dev\nDEBUG=1\nPROFILER=on\n",
    );
    p.write(".env.prod", "DATABASE_URL=postgres://db/prod\n");
    // Repro: a dev-only DEBUG=1 was a missing key in the other environments.
    let (code, findings, _) = p.check_in(".", &[]);
    assert_eq!(code, 1);
    assert_eq!(of_kind(&findings, "missing-key").len(), 2, "{findings:?}");
    p.write(
        ".secrets-guard.toml",
        "[env.environments.dev]\nonly = [\"DEBUG\"]\n[env.environments.prod]\noptional = [\"PROFILER\"]\n",
    );
    let (code, findings, stderr) = p.check_in(".", &[]);
    assert_eq!(code, 0, "{findings:?} {stderr}");
}

// --- Monorepos ------------------------------------------------------------------------

#[test]
fn a_repository_root_checks_every_project_and_across_projects() {
    let p = Project::repo();
    p.write(
        "apps/api/.env.dev",
        "DATABASE_URL=postgres://localhost/api\n",
    );
    p.write("apps/api/.env.prod", &format!("DATABASE_URL={DB_PROD}\n"));
    p.write(
        "apps/web/.env.dev",
        &format!("API_DATABASE_URL={DB_PROD}\n"),
    );
    p.write(
        "apps/web/.env.prod",
        "API_DATABASE_URL=postgres://localhost/web\n",
    );
    p.write("node_modules/pkg/.env.dev", &format!("X={DB_PROD}\n"));
    // Repro: exit 2, "no environment files".
    let (code, findings, stderr) = p.check_in(".", &[]);
    assert_eq!(code, 1, "{stderr}");
    // Repro: per-app runs missed the API's prod DATABASE_URL in apps/web/.env.dev.
    let shared = of_kind(&findings, "shared-secret");
    let web = shared
        .iter()
        .find(|f| f["file"] == "apps/web/.env.dev")
        .unwrap_or_else(|| panic!("{findings:?}"));
    assert_eq!(web["project"], "apps/web");
    assert!(
        web["message"]
            .as_str()
            .is_some_and(|m| m.contains("apps/api/.env.prod")),
        "{web}"
    );
    assert!(
        findings
            .iter()
            .all(|f| f["file"].as_str().is_some_and(|p| p.starts_with("apps/"))),
        "{findings:?}"
    );
    let (code, human, summary) = p.env(&["check"]);
    assert_eq!(code, 1);
    assert!(summary.contains("apps/api (dev, prod)"), "{summary}");
    assert!(!summary.contains("node_modules"), "{summary}");
    let text = format!("{findings:?}{stderr}{human}{summary}");
    assert!(!text.contains("Vq8Zr2Lm"), "{text}");
}

#[test]
fn paths_are_repository_relative_like_the_fix_commands() {
    let p = Project::repo();
    p.write("apps/web/.env.dev", "TOKEN=Xq7Lp2Vz9Rt4Wm8Kc3Bn\n");
    // Repro: finding paths were app-relative while fix commands were repo-relative.
    let (code, findings, stderr) = p.check_in("apps/web", &[]);
    assert_eq!(code, 1, "{stderr}");
    let exposed = of_kind(&findings, "exposed-file");
    assert_eq!(exposed.len(), 1, "{findings:?}");
    assert_eq!(exposed[0]["file"], "apps/web/.env.dev");
    assert!(
        exposed[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("add the line `apps/web/.env.dev`")),
        "{exposed:?}"
    );
}

// --- 3, 4, 8: expansion, errors, help -------------------------------------------------

#[test]
fn path_extends_itself_in_run_export_and_check() {
    // Repro: `PATH=${PATH}:/opt/bin` was an "expansion cycle" with --override, export and
    // check, or silently ignored.
    let p = Project::plain();
    p.write(".env.dev", "PATH=${PATH}:/opt/sg-test/bin\n");
    let path = std::env::var("PATH").expect("PATH");
    let (code, stdout, stderr) = p.run_sh(&["--env", "dev", "--override"], "printf %s \"$PATH\"");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, format!("{path}:/opt/sg-test/bin"));
    let (code, stdout, stderr) = p.env(&["export", "--env", "dev", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(":/opt/sg-test/bin"), "{stdout}");
    let (code, _, stderr) = p.env(&["check"]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn cli_errors_never_show_the_secret() {
    let p = Project::plain();
    for text in [
        format!("\n{STRIPE_LIVE}\n"),
        format!("{STRIPE_LIVE}-x=1\n"),
        "DB_PASSWORD=Tr0ub4dor$Horse3Battery\n".to_owned(),
        format!("A=\"{STRIPE_LIVE}\n"),
    ] {
        p.write(".env.dev", &text);
        for args in [
            vec!["check"],
            vec!["list", "--env", "dev"],
            vec!["export", "--env", "dev"],
        ] {
            let (code, stdout, stderr) = p.env(&args);
            assert_eq!(code, 2, "{text:?} {args:?}: {stderr}");
            let shown = format!("{stdout}{stderr}");
            assert!(shown.contains(".env.dev:"), "{shown}");
            assert!(!shown.contains(&STRIPE_LIVE[..12]), "{shown}");
            assert!(!shown.contains("Horse3Battery"), "{shown}");
        }
    }
}

#[test]
fn help_points_to_the_env_schema_in_the_readme() {
    let p = Project::plain();
    for sub in ["run", "check", "list", "export", "get"] {
        let (code, stdout, _) = p.env(&[sub, "--help"]);
        assert_eq!(code, 0);
        assert!(stdout.contains("README.md"), "{sub}: {stdout}");
        assert!(stdout.contains("--convention"), "{sub}: {stdout}");
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    for needle in [
        "[env.environments.",
        "convention = \"nextjs\"",
        "convention = \"dotenv-flow\"",
        "[[env.allowlists]]",
        "SECRETS_GUARD_ALLOW_PROTECTED",
    ] {
        assert!(readme.contains(needle), "README lacks {needle}");
    }
}
