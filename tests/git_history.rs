//! End-to-end: `scan --git` over whole histories, on real repositories.

#[path = "git_support.rs"]
mod support;

use support::{git_in, summary_count, Repo, TOKEN_A, TOKEN_B};

#[test]
fn secret_added_then_deleted_is_attributed_to_the_commit_that_added_it() {
    let repo = Repo::init();
    repo.write("app/config.py", "DEBUG = True\n");
    repo.commit_all("first commit");
    repo.write(
        "app/config.py",
        &format!("DEBUG = True\nTOKEN = \"{TOKEN_A}\"\n"),
    );
    let added = repo.commit_all("add the api token");
    repo.write("app/config.py", "DEBUG = True\n");
    repo.commit_all("remove the token");

    let (code, findings, stderr) = repo.scan_json(&["--git"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f["rule_id"], "test-token");
    assert_eq!(f["path"], "app/config.py");
    assert_eq!(f["line"], 2);
    let commit = &f["commit"];
    assert_eq!(commit["id"], added.as_str());
    assert_eq!(commit["author"], "Alice Example");
    assert_eq!(commit["email"], "alice@example.com");
    assert_eq!(commit["summary"], "add the api token");
    assert!(
        commit["date"].as_str().is_some_and(|d| d.contains('T')),
        "{commit}"
    );
    // The report never holds the secret in full unless asked.
    assert!(!serde_json::to_string(&findings)
        .unwrap_or_default()
        .contains(TOKEN_A));
    assert_eq!(summary_count(&stderr, "commit(s)"), 3);
}

#[test]
fn a_blob_in_fifty_commits_and_a_merge_is_scanned_once_and_reported_once() {
    let repo = Repo::init();
    repo.write("secret.txt", &format!("key={TOKEN_A}\n"));
    let first = repo.commit_all("add the key");
    repo.git(&["checkout", "-q", "-b", "side"]);
    for i in 0..10 {
        repo.write("side.txt", &format!("side {i}\n"));
        repo.commit_all(&format!("side {i}"));
    }
    repo.git(&["checkout", "-q", "main"]);
    for i in 0..39 {
        repo.write("counter.txt", &format!("count {i}\n"));
        repo.commit_all(&format!("count {i}"));
    }
    repo.git(&["merge", "-q", "--no-ff", "-m", "merge side", "side"]);
    let commits: usize = repo
        .git(&["rev-list", "--count", "--all"])
        .trim()
        .parse()
        .unwrap_or(0);
    assert_eq!(commits, 51);
    // git's own count of distinct blobs in the history.
    let blobs = repo
        .git(&[
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objecttype)",
        ])
        .lines()
        .filter(|l| *l == "blob")
        .count() as u64;

    let (code, findings, stderr) = repo.scan_json(&["--git"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["commit"]["id"], first.as_str());
    assert_eq!(summary_count(&stderr, "distinct blob(s) scanned"), blobs);
    assert_eq!(summary_count(&stderr, "commit(s)"), 51);

    // The same blob at a second path is still scanned once but reported at both paths.
    repo.write("copy/secret.txt", &format!("key={TOKEN_A}\n"));
    let copied = repo.commit_all("copy the key");
    let (_, findings, stderr) = repo.scan_json(&["--git"]);
    assert_eq!(summary_count(&stderr, "distinct blob(s) scanned"), blobs);
    let mut seen: Vec<(String, String)> = findings
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or_default().to_owned(),
                f["commit"]["id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("copy/secret.txt".to_owned(), copied),
            ("secret.txt".to_owned(), first)
        ]
    );
}

#[test]
fn branch_limits_the_history() {
    let repo = Repo::init();
    repo.write("a.txt", "clean\n");
    repo.commit_all("clean");
    repo.git(&["checkout", "-q", "-b", "leaky"]);
    repo.write("b.txt", &format!("{TOKEN_B}\n"));
    repo.commit_all("leak on a branch");
    repo.git(&["checkout", "-q", "main"]);

    let (code, findings, _) = repo.scan_json(&["--git"]);
    assert_eq!((code, findings.len()), (1, 1));
    let (code, findings, stderr) = repo.scan_json(&["--git", "--branch", "main"]);
    assert_eq!((code, findings.len()), (0, 0), "{stderr}");
    assert_eq!(summary_count(&stderr, "commit(s)"), 1);
    let (code, _, stderr) = repo.scan_json(&["--git", "--branch", "no-such-branch"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no-such-branch"), "{stderr}");
}

#[test]
fn bare_repositories_and_empty_ones_scan() {
    let repo = Repo::init();
    let (code, findings, stderr) = repo.scan_json(&["--git"]);
    assert_eq!((code, findings.len()), (0, 0), "empty repository: {stderr}");

    repo.write("k.env", &format!("TOKEN={TOKEN_A}\n"));
    let id = repo.commit_all("add env");
    let bare = repo.dir.path().join("bare.git");
    git_in(
        repo.dir.path(),
        &["clone", "-q", "--bare", "repo", "bare.git"],
    );
    let out = support::sg()
        .args(["scan", "--git", "--format", "json", "--config"])
        .arg(&repo.rules)
        .arg(&bare)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["commit"]["id"], id.as_str());
    assert_eq!(findings[0]["path"], "k.env");
}

#[test]
fn binary_and_oversized_blobs_are_skipped_and_counted() {
    let repo = Repo::init();
    let mut binary = b"\x00\x01\x02 binary ".to_vec();
    binary.extend_from_slice(TOKEN_A.as_bytes());
    std::fs::write(repo.path().join("blob.bin"), &binary).expect("write");
    let mut big = "x".repeat(5000);
    big.push_str(&format!("\n{TOKEN_B}\n"));
    repo.write("big.txt", &big);
    repo.write("small.txt", "nothing here\n");
    repo.commit_all("binary, big and small");

    let (code, findings, stderr) = repo.scan_json(&["--git", "--max-file-size", "1000"]);
    assert_eq!((code, findings.len()), (0, 0), "{stderr}");
    assert_eq!(summary_count(&stderr, "binary"), 1);
    assert_eq!(summary_count(&stderr, "over --max-file-size"), 1);
    assert_eq!(summary_count(&stderr, "distinct blob(s) scanned"), 1);

    // Without the limit the big blob is scanned and its secret found.
    let (code, findings, _) = repo.scan_json(&["--git"]);
    assert_eq!((code, findings.len()), (1, 1));
    assert_eq!(findings[0]["path"], "big.txt");
}

#[cfg(unix)]
#[test]
fn non_utf8_paths_are_scanned_and_submodules_noted_once() {
    use std::os::unix::ffi::OsStrExt;
    let repo = Repo::init();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    std::fs::write(repo.path().join(name), format!("{TOKEN_A}\n")).expect("write");
    repo.commit_all("latin-1 name");
    let head = repo.git(&["rev-parse", "HEAD"]);
    for sub in ["vendor/lib", "vendor/other"] {
        repo.git(&[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{},{sub}", head.trim()),
        ]);
    }
    repo.git(&["commit", "-q", "-m", "submodules"]);

    let (code, findings, stderr) = repo.scan_json(&["--git"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["path"], "caf\u{FFFD}.txt");
    let notes: Vec<&str> = stderr.lines().filter(|l| l.contains("submodule")).collect();
    assert_eq!(notes.len(), 1, "{stderr}");
    assert!(notes[0].contains("vendor/lib") && notes[0].contains("vendor/other"));
}

#[test]
fn a_missing_object_fails_closed_naming_it() {
    let repo = Repo::init();
    repo.write("a.txt", "one\n");
    repo.commit_all("one");
    let blob = repo.git(&["rev-parse", "HEAD:a.txt"]).trim().to_owned();
    let loose = repo
        .path()
        .join(".git/objects")
        .join(&blob[..2])
        .join(&blob[2..]);
    std::fs::remove_file(&loose).expect("loose object exists");

    let (code, _, stderr) = repo.scan_json(&["--git"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&blob), "{stderr}");

    std::fs::write(&loose, b"not zlib at all").expect("write");
    let (code, _, stderr) = repo.scan_json(&["--git"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&blob), "{stderr}");
}

#[test]
fn default_rules_find_a_real_looking_key_in_history() {
    let repo = Repo::init();
    repo.write(
        "deploy.sh",
        "export AWS_ACCESS_KEY_ID=AKIAZ7Q4LRM2XP6W3KTD\n",
    );
    let id = repo.commit_all("deploy script");
    repo.write("deploy.sh", "export AWS_ACCESS_KEY_ID=$FROM_VAULT\n");
    repo.commit_all("read the key from the vault");
    let out = support::sg()
        .current_dir(repo.path())
        .args(["scan", "--git", "--format", "json", "."])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("json report");
    assert!(!findings.is_empty());
    assert!(findings
        .iter()
        .all(|f| f["commit"]["id"] == id.as_str() && f["path"] == "deploy.sh"));
    assert!(findings
        .iter()
        .any(|f| f["rule_id"].as_str().is_some_and(|r| r.contains("aws"))));
}
