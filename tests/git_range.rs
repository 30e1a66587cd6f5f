//! End-to-end: `scan --git --range BASE..HEAD` and `--since REF`, as CI runs them.

#[path = "git_support.rs"]
mod support;

use support::{git_in, summary_count, Repo, TOKEN_A, TOKEN_B, TOKEN_C};

fn ids(findings: &[serde_json::Value]) -> Vec<String> {
    let mut ids: Vec<String> = findings
        .iter()
        .map(|f| f["commit"]["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn range_reports_only_commits_inside_it() {
    let repo = Repo::init();
    repo.write("a.txt", &format!("{TOKEN_A}\n"));
    let c1 = repo.commit_all("before the range");
    repo.write("b.txt", &format!("{TOKEN_B}\n"));
    let c2 = repo.commit_all("in the range");
    // Editing a.txt keeps its old secret; only the new line is in the range.
    repo.write("a.txt", &format!("{TOKEN_A}\nmore\n{TOKEN_C}\n"));
    let c3 = repo.commit_all("also in the range");

    let (code, findings, stderr) = repo.scan_json(&["--git", "--range", &format!("{c1}..{c3}")]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(findings.len(), 2, "{findings:#?}");
    let mut expected = vec![c2.clone(), c3.clone()];
    expected.sort();
    assert_eq!(ids(&findings), expected);
    assert_eq!(summary_count(&stderr, "commit(s)"), 2);
    let c3_finding = findings
        .iter()
        .find(|f| f["commit"]["id"] == c3.as_str())
        .expect("c3 finding");
    assert_eq!(
        (c3_finding["path"].as_str(), c3_finding["line"].as_u64()),
        (Some("a.txt"), Some(3))
    );

    let (code, findings, _) = repo.scan_json(&["--git", "--since", &c2]);
    assert_eq!(code, 1);
    assert_eq!(ids(&findings), vec![c3.clone()]);
    let (code, findings, _) = repo.scan_json(&["--git", "--range", "HEAD.."]);
    assert_eq!((code, findings.len()), (0, 0));

    let (code, _, stderr) = repo.scan_json(&["--git", "--range", "main"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("BASE..HEAD"), "{stderr}");
}

#[test]
fn a_merge_in_the_range_reports_the_branch_commit_once() {
    let repo = Repo::init();
    repo.write("base.txt", "base\n");
    let base = repo.commit_all("base");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("f.txt", &format!("{TOKEN_A}\n"));
    let leak = repo.commit_all("feature leaks");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("m.txt", "main work\n");
    repo.commit_all("main work");
    repo.git(&["merge", "-q", "--no-ff", "-m", "merge feature", "feature"]);

    let (code, findings, stderr) = repo.scan_json(&["--git", "--range", &format!("{base}..HEAD")]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(ids(&findings), vec![leak]);
}

#[test]
fn a_shallow_clone_without_the_base_is_an_error_not_a_pass() {
    let repo = Repo::init();
    repo.write("a.txt", "one\n");
    let c1 = repo.commit_all("one");
    repo.write("a.txt", "two\n");
    repo.commit_all("two");
    repo.write("b.txt", &format!("{TOKEN_B}\n"));
    repo.commit_all("three");
    let url = format!("file://{}", repo.path().display());
    git_in(
        repo.dir.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let shallow = repo.dir.path().join("shallow");

    for range in [format!("{c1}..HEAD"), "HEAD~2..HEAD".to_owned()] {
        let out = support::sg()
            .current_dir(&shallow)
            .args(["scan", "--git", "--range", &range, "--config"])
            .arg(&repo.rules)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{range}: {stderr}");
        assert!(stderr.contains("shallow"), "{stderr}");
        assert!(stderr.contains("fetch"), "{stderr}");
    }

    // A history scan of the same clone scans what is there, and says what is not.
    let out = support::sg()
        .current_dir(&shallow)
        .args(["scan", "--git", "--format", "json", "--config"])
        .arg(&repo.rules)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("shallow clone"), "{stderr}");
    let findings: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["path"], "b.txt");
}

#[test]
fn a_base_present_but_cut_off_by_the_shallow_boundary_is_an_error() {
    let repo = Repo::init();
    repo.write("a.txt", "one\n");
    repo.commit_all("one");
    repo.git(&["tag", "v1"]);
    for i in 0..3 {
        repo.write("a.txt", &format!("{i}\n"));
        repo.commit_all(&format!("c{i}"));
    }
    let url = format!("file://{}", repo.path().display());
    git_in(
        repo.dir.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            "--no-single-branch",
            &url,
            "shallow",
        ],
    );
    let shallow = repo.dir.path().join("shallow");
    // Fetch the tag's commit alone: the base exists but the history to it does not.
    git_in(
        &shallow,
        &["fetch", "-q", "--depth", "1", "origin", "tag", "v1"],
    );
    let out = support::sg()
        .current_dir(&shallow)
        .args(["scan", "--git", "--range", "v1..HEAD", "--config"])
        .arg(&repo.rules)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("shallow") && stderr.contains("fetch"),
        "{stderr}"
    );
}

#[test]
fn a_range_that_allows_its_own_secret_is_judged_by_the_base_config() {
    let repo = Repo::init();
    std::fs::copy(&repo.rules, repo.path().join(".secrets-guard.toml")).expect("config");
    repo.write("README", "base\n");
    let base = repo.commit_all("base with the team's config");
    // The pull request adds a secret and an allowlist that lets everything through.
    let rules = std::fs::read_to_string(&repo.rules).expect("rules");
    repo.write(
        ".secrets-guard.toml",
        &format!("{rules}\n[allowlist]\npaths = ['''.*''']\n"),
    );
    repo.write("deploy.env", &format!("TOKEN={TOKEN_A}\n"));
    repo.commit_all("add deploy config");

    let out = support::sg()
        .current_dir(repo.path())
        .args(["scan", "--git", "--format", "json", "--range"])
        .arg(format!("{base}..HEAD"))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("changes .secrets-guard.toml"),
        "warned: {stderr}"
    );
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["path"], "deploy.env");

    // A range that leaves the config alone uses it, without a warning.
    let head = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    repo.write("notes.txt", "hello\n");
    repo.commit_all("notes");
    let out = support::sg()
        .current_dir(repo.path())
        .args(["scan", "--git", "--range"])
        .arg(format!("{head}..HEAD"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}
