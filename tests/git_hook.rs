//! End-to-end: `hook install` and the installed pre-commit hook blocking real commits.

#[path = "git_support.rs"]
mod support;

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use support::{Repo, NO_GLOBAL_CONFIG, TOKEN_A};

fn install(repo: &Path, force: bool) -> std::process::Output {
    let mut cmd = support::sg();
    cmd.args(["hook", "install"]);
    if force {
        cmd.arg("--force");
    }
    cmd.arg(repo).output().expect("runs")
}

/// The directory holding the built binary, for PATH.
fn binary_dir() -> PathBuf {
    let bin = assert_cmd::cargo::cargo_bin("secrets-guard");
    bin.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// `git commit` with PATH set to `path`, so the hook finds (or does not find) the binary.
fn commit(repo: &Repo, message: &str, path: &str) -> std::process::Output {
    commit_args(repo, &["-m", message], path)
}

fn commit_args(repo: &Repo, args: &[&str], path: &str) -> std::process::Output {
    let mut cmd = Command::new("git");
    cmd.current_dir(repo.path())
        .env("PATH", path)
        .env("GIT_AUTHOR_NAME", "Alice Example")
        .env("GIT_AUTHOR_EMAIL", "alice@example.com")
        .env("GIT_COMMITTER_NAME", "Alice Example")
        .env("GIT_COMMITTER_EMAIL", "alice@example.com")
        .env("GIT_CONFIG_GLOBAL", NO_GLOBAL_CONFIG)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["-c", "commit.gpgsign=false", "commit", "-q"])
        .args(args);
    cmd.output().expect("git runs")
}

fn path_with_binary() -> String {
    let system = std::env::var("PATH").unwrap_or_default();
    format!("{}:{system}", binary_dir().display())
}

#[test]
fn the_installed_hook_blocks_a_staged_secret_and_passes_a_clean_commit() {
    let repo = Repo::init();
    // The hook runs with the repository's own config, so the test rules go there.
    std::fs::copy(&repo.rules, repo.path().join(".secrets-guard.toml")).expect("copy rules");
    let out = install(&repo.path(), false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hook = repo.path().join(".git/hooks/pre-commit");
    let text = std::fs::read_to_string(&hook).expect("hook installed");
    assert!(text.contains("managed by secrets-guard"));

    repo.write("README.md", "hello\n");
    repo.git(&["add", "README.md", ".secrets-guard.toml"]);
    let out = commit(&repo, "clean", &path_with_binary());
    assert!(
        out.status.success(),
        "clean commit blocked: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    repo.write("config/prod.yaml", &format!("api_token: {TOKEN_A}\n"));
    repo.git(&["add", "config/prod.yaml"]);
    let out = commit(&repo, "leak", &path_with_binary());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let all = format!("{stdout}{stderr}");
    assert!(!out.status.success(), "the secret was committed: {all}");
    assert!(all.contains("config/prod.yaml"), "{all}");
    assert!(all.contains("test-token"), "{all}");
    assert!(all.contains("--no-verify"), "{all}");
    assert!(all.contains("secrets-guard:allow"), "{all}");
    assert!(!all.contains(TOKEN_A), "the hook printed the secret: {all}");
    let head = repo.git(&["log", "--format=%s"]);
    assert_eq!(head.lines().collect::<Vec<_>>(), vec!["clean"]);

    // `git commit -a` commits from a temporary index (GIT_INDEX_FILE): the hook sees it.
    repo.git(&["reset", "-q", "config/prod.yaml"]);
    repo.write("README.md", &format!("hello\ntoken {TOKEN_A}\n"));
    let out = commit_args(&repo, &["-a", "-m", "commit -a leak"], &path_with_binary());
    let all =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "commit -a let the secret through: {all}"
    );
    assert!(all.contains("README.md"), "{all}");
    repo.write("README.md", "hello\n");

    // Without the binary the hook fails closed and says how to install it.
    let out = commit(&repo, "leak", "/usr/local/bin:/usr/bin:/bin");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("not on PATH") && stderr.contains("cargo install"),
        "{stderr}"
    );
}

#[test]
fn install_refuses_a_foreign_hook_unless_forced_and_updates_its_own() {
    let repo = Repo::init();
    let hook = repo.path().join(".git/hooks/pre-commit");
    std::fs::create_dir_all(hook.parent().expect("parent")).expect("mkdir");
    std::fs::write(&hook, "#!/bin/sh\necho someone else's hook\n").expect("write");

    let out = install(&repo.path(), false);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--force") && stderr.contains("pre-commit"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&hook).expect("hook"),
        "#!/bin/sh\necho someone else's hook\n"
    );

    let out = install(&repo.path(), true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read_to_string(&hook)
        .expect("hook")
        .contains("managed by secrets-guard"));
    let backup = hook.with_file_name("pre-commit.secrets-guard-backup");
    assert_eq!(
        std::fs::read_to_string(backup).expect("backup kept"),
        "#!/bin/sh\necho someone else's hook\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&hook).expect("meta").permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "hook is executable");
    }

    // Our own hook is replaced without --force.
    let out = install(&repo.path(), false);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("updated"));
}

#[test]
fn install_honours_core_hooks_path() {
    let repo = Repo::init();
    repo.git(&["config", "core.hooksPath", ".githooks"]);
    let sub = repo.path().join("deep/dir");
    std::fs::create_dir_all(&sub).expect("mkdir");
    // Run from a subdirectory: the relative hooksPath is still the repository's top.
    let out = install(&sub, false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(repo.path().join(".githooks/pre-commit").is_file());
    assert!(!repo.path().join(".git/hooks/pre-commit").exists());

    let elsewhere = repo.dir.path().join("shared-hooks");
    repo.git(&["config", "core.hooksPath", &elsewhere.to_string_lossy()]);
    let out = install(&repo.path(), false);
    assert!(out.status.success());
    assert!(elsewhere.join("pre-commit").is_file());
}

#[test]
fn the_repository_ships_a_pre_commit_framework_manifest() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml");
    let text = std::fs::read_to_string(manifest).expect(".pre-commit-hooks.yaml");
    assert!(text.contains("id: secrets-guard"));
    assert!(text.contains("scan --staged"));
}

#[test]
fn a_clean_merge_is_checked_by_the_pre_merge_commit_hook() {
    let repo = Repo::init();
    std::fs::copy(&repo.rules, repo.path().join(".secrets-guard.toml")).expect("copy rules");
    repo.write("README.md", "hello\n");
    repo.commit_all("base");
    // The secret reaches a branch without the hook (committed elsewhere, --no-verify).
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("config/prod.yaml", &format!("api_token: {TOKEN_A}\n"));
    repo.commit_all("leak on a branch");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("docs.md", "docs\n");
    repo.commit_all("diverge");

    let out = install(&repo.path(), false);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("pre-merge-commit hook"), "{stdout}");
    assert!(repo.path().join(".git/hooks/pre-merge-commit").exists());

    // `git merge` commits a clean merge without running pre-commit: pre-merge-commit runs.
    let out = Command::new("git")
        .current_dir(repo.path())
        .env("PATH", path_with_binary())
        .env("GIT_AUTHOR_NAME", "Alice Example")
        .env("GIT_AUTHOR_EMAIL", "alice@example.com")
        .env("GIT_COMMITTER_NAME", "Alice Example")
        .env("GIT_COMMITTER_EMAIL", "alice@example.com")
        .env("GIT_CONFIG_GLOBAL", NO_GLOBAL_CONFIG)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args([
            "-c",
            "commit.gpgsign=false",
            "merge",
            "--no-ff",
            "-m",
            "merge",
            "feature",
        ])
        .output()
        .expect("git runs");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "the merge went through: {all}");
    assert!(all.contains("config/prod.yaml"), "{all}");
    let head_parents = repo.git(&["rev-list", "--parents", "-n", "1", "HEAD"]);
    assert_eq!(
        head_parents.split_whitespace().count(),
        2,
        "no merge commit was made"
    );
}
