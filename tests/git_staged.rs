//! End-to-end: `scan --staged` on real repositories.

#[path = "git_support.rs"]
mod support;

use support::{git_in, summary_count, Repo, TOKEN_A, TOKEN_B, TOKEN_C};

#[test]
fn a_new_repository_without_head_scans_what_is_staged() {
    let repo = Repo::init();
    repo.write("creds.txt", &format!("token: {TOKEN_A}\n"));
    repo.git(&["add", "creds.txt"]);
    let (code, findings, stderr) = repo.scan_json(&["--staged"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["path"], "creds.txt");
    assert_eq!(findings[0]["line"], 1);
    assert!(findings[0].get("commit").is_none());

    // Nothing staged at all: a clean pass, not an error.
    let empty = Repo::init();
    let (code, findings, stderr) = empty.scan_json(&["--staged"]);
    assert_eq!((code, findings.len()), (0, 0), "{stderr}");
}

#[test]
fn only_added_lines_count_unless_all_lines() {
    let repo = Repo::init();
    repo.write("settings.ini", &format!("[api]\ntoken = {TOKEN_A}\n"));
    repo.commit_all("old secret already in HEAD");
    repo.write(
        "settings.ini",
        &format!("[api]\ntoken = {TOKEN_A}\ntimeout = 30\n"),
    );
    repo.git(&["add", "settings.ini"]);

    let (code, findings, stderr) = repo.scan_json(&["--staged"]);
    assert_eq!((code, findings.len()), (0, 0), "{stderr}");
    assert_eq!(summary_count(&stderr, "staged blob(s) scanned"), 1);

    let (code, findings, _) = repo.scan_json(&["--staged", "--all-lines"]);
    assert_eq!((code, findings.len()), (1, 1));
    assert_eq!(findings[0]["line"], 2);

    // A second secret on a new line is reported on its own.
    repo.write(
        "settings.ini",
        &format!("[api]\ntoken = {TOKEN_A}\nbackup = {TOKEN_B}\n"),
    );
    repo.git(&["add", "settings.ini"]);
    let (code, findings, _) = repo.scan_json(&["--staged"]);
    assert_eq!((code, findings.len()), (1, 1));
    assert_eq!(findings[0]["line"], 3);
}

#[test]
fn partial_staging_scans_the_index_not_the_working_tree() {
    let repo = Repo::init();
    repo.write("app.py", "print('hi')\n");
    repo.commit_all("app");

    // Staged: a harmless change. Working tree only: a secret.
    repo.write("app.py", "print('hi')\nprint('bye')\n");
    repo.git(&["add", "app.py"]);
    repo.write(
        "app.py",
        &format!("print('hi')\nprint('bye')\nKEY = '{TOKEN_A}'\n"),
    );
    let (code, findings, stderr) = repo.scan_json(&["--staged"]);
    assert_eq!((code, findings.len()), (0, 0), "{stderr}");

    // The reverse: the secret is staged, then removed from the working tree only.
    repo.git(&["add", "app.py"]);
    repo.write("app.py", "print('hi')\nprint('bye')\n");
    let (code, findings, stderr) = repo.scan_json(&["--staged"]);
    assert_eq!((code, findings.len()), (1, 1), "{stderr}");
    assert_eq!(findings[0]["line"], 3);
}

#[test]
fn untouched_files_are_not_read() {
    let repo = Repo::init();
    for i in 0..30 {
        repo.write(&format!("src/file{i}.txt"), &format!("file {i}\n"));
    }
    // A secret committed long ago in a file this commit does not touch.
    repo.write("old.txt", &format!("{TOKEN_B}\n"));
    repo.commit_all("many files");
    repo.write("src/file3.txt", "changed\n");
    repo.write("new.txt", "new\n");
    repo.git(&["add", "src/file3.txt", "new.txt"]);
    repo.git(&["rm", "-q", "src/file4.txt"]);
    let (code, findings, stderr) = repo.scan_json(&["--staged", "--all-lines"]);
    assert_eq!((code, findings.len()), (0, 0), "{stderr}");
    assert_eq!(summary_count(&stderr, "staged blob(s) scanned"), 2);
}

#[test]
fn a_corrupt_index_exits_2() {
    let repo = Repo::init();
    repo.write("a.txt", "a\n");
    repo.commit_all("a");
    std::fs::write(
        repo.path().join(".git/index"),
        b"DIRC garbage, not an index",
    )
    .expect("write");
    let (code, findings, stderr) = repo.scan_json(&["--staged"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(findings.is_empty());
    assert!(stderr.contains("index"), "{stderr}");

    // A real index with one flipped bit: the checksum catches it.
    repo.git(&["read-tree", "HEAD"]);
    let index = repo.path().join(".git/index");
    let mut bytes = std::fs::read(&index).expect("index");
    bytes[40] ^= 0x01;
    std::fs::write(&index, bytes).expect("write");
    let (code, _, stderr) = repo.scan_json(&["--staged"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("checksum"), "{stderr}");
}

#[test]
fn a_staged_blob_that_is_missing_exits_2_naming_it() {
    let repo = Repo::init();
    repo.write("a.txt", &format!("{TOKEN_A}\n"));
    repo.git(&["add", "a.txt"]);
    let blob = repo.git(&["rev-parse", ":a.txt"]).trim().to_owned();
    std::fs::remove_file(
        repo.path()
            .join(".git/objects")
            .join(&blob[..2])
            .join(&blob[2..]),
    )
    .expect("loose object");
    let (code, _, stderr) = repo.scan_json(&["--staged"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&blob), "{stderr}");
}

#[test]
fn linked_worktrees_scan_their_own_index() {
    let repo = Repo::init();
    repo.write("a.txt", "a\n");
    repo.commit_all("a");
    let wt = repo.dir.path().join("wt");
    let wt_arg = wt.to_string_lossy().into_owned();
    repo.git(&["worktree", "add", "-q", "-b", "wt-branch", &wt_arg]);
    std::fs::write(wt.join("b.txt"), format!("{TOKEN_A}\n")).expect("write");
    git_in(&wt, &["add", "b.txt"]);

    let run = |dir: &std::path::Path| {
        let out = support::sg()
            .current_dir(dir)
            .args(["scan", "--staged", "--format", "json", "--config"])
            .arg(&repo.rules)
            .output()
            .expect("runs");
        let findings: Vec<serde_json::Value> =
            serde_json::from_slice(&out.stdout).unwrap_or_default();
        (out.status.code(), findings)
    };
    let (code, findings) = run(&wt);
    assert_eq!((code, findings.len()), (Some(1), 1));
    assert_eq!(findings[0]["path"], "b.txt");
    // The main worktree's index does not hold the linked worktree's staged file.
    let (code, findings) = run(&repo.path());
    assert_eq!((code, findings.len()), (Some(0), 0));
}

#[test]
fn every_index_format_gives_the_same_staged_changes() {
    // Version 2 (with the cache-tree the fast reader skips unchanged directories by),
    // version 4 (prefix-compressed paths), and version 3 (extended flags, from `add -N`).
    for setup in [
        &[][..],
        &["update-index", "--index-version", "4"][..],
        &["update-index", "--index-version", "3"][..],
    ] {
        let repo = Repo::init();
        for d in 0..6 {
            for f in 0..5 {
                repo.write(&format!("d{d}/sub{f}/file{f}.txt"), &format!("{d} {f}\n"));
            }
        }
        repo.write("top.txt", "top\n");
        repo.commit_all("tree");
        if !setup.is_empty() {
            repo.git(setup);
        }
        // Refresh the cache-tree so unchanged directories are recorded as such.
        repo.git(&["read-tree", "HEAD"]);
        repo.write("d2/sub3/file3.txt", &format!("2 3\nkey = {TOKEN_A}\n"));
        repo.write("d5/new/added.txt", &format!("{TOKEN_B}\n"));
        repo.write("top.txt", "top\nmore\n");
        repo.git(&["add", "-A"]);
        // Intent to add: no content staged, so nothing to scan (and version 3 on disk).
        repo.write("later.txt", &format!("{TOKEN_C}\n"));
        repo.git(&["add", "-N", "later.txt"]);
        let (code, findings, stderr) = repo.scan_json(&["--staged"]);
        assert_eq!(code, 1, "{setup:?}: {stderr}");
        let mut paths: Vec<&str> = findings.iter().filter_map(|f| f["path"].as_str()).collect();
        paths.sort();
        assert_eq!(
            paths,
            vec!["d2/sub3/file3.txt", "d5/new/added.txt"],
            "{setup:?}"
        );
        assert_eq!(
            summary_count(&stderr, "staged blob(s) scanned"),
            3,
            "{setup:?}: {stderr}"
        );
    }
}

#[test]
fn a_bare_repository_has_nothing_staged_and_says_so() {
    let repo = Repo::init();
    repo.write("a.txt", "a\n");
    repo.commit_all("a");
    git_in(
        repo.dir.path(),
        &["clone", "-q", "--bare", "repo", "bare.git"],
    );
    let out = support::sg()
        .args(["scan", "--staged"])
        .arg(repo.dir.path().join("bare.git"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bare"));
}

#[test]
fn a_split_index_fails_closed_and_says_how_to_fix_it() {
    let repo = Repo::init();
    repo.write("a.txt", "a\n");
    repo.commit_all("a");
    repo.git(&["config", "core.splitIndex", "true"]);
    repo.git(&["update-index", "--split-index"]);
    repo.write("b.txt", &format!("{TOKEN_A}\n"));
    repo.git(&["add", "b.txt"]);
    let (code, _, stderr) = repo.scan_json(&["--staged"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no-split-index"), "{stderr}");
}

#[test]
fn a_moved_or_copied_secret_already_in_head_does_not_block() {
    let repo = Repo::init();
    let body: String = (0..20).map(|i| format!("setting_{i} = {i}\n")).collect();
    repo.write("conf/old.ini", &format!("{body}token = {TOKEN_A}\n"));
    repo.commit_all("secret already committed");

    // A pure rename, and a rename with a small edit.
    repo.git(&["mv", "conf/old.ini", "conf/new.ini"]);
    let (code, findings, stderr) = repo.scan_json(&["--staged"]);
    assert_eq!((code, findings.len()), (0, 0), "{stderr}");
    repo.write(
        "conf/new.ini",
        &format!("{body}token = {TOKEN_A}\nextra = 1\n"),
    );
    repo.git(&["add", "-A"]);
    let (code, findings, stderr) = repo.scan_json(&["--staged"]);
    assert_eq!((code, findings.len()), (0, 0), "{stderr}");

    // A copy of a file still in HEAD.
    repo.commit_all("moved");
    std::fs::copy(
        repo.path().join("conf/new.ini"),
        repo.path().join("conf/copy.ini"),
    )
    .expect("copy");
    repo.git(&["add", "conf/copy.ini"]);
    let (code, findings, stderr) = repo.scan_json(&["--staged"]);
    assert_eq!((code, findings.len()), (0, 0), "{stderr}");

    // A new secret in the moved file still blocks, on its own line.
    repo.write(
        "conf/copy.ini",
        &format!("{body}token = {TOKEN_A}\nextra = 1\nsecond = {TOKEN_B}\n"),
    );
    repo.git(&["add", "conf/copy.ini"]);
    let (code, findings, stderr) = repo.scan_json(&["--staged"]);
    assert_eq!((code, findings.len()), (1, 1), "{stderr}");
    assert_eq!(findings[0]["line"], 23);
}

#[test]
fn a_sparse_index_is_read() {
    let repo = Repo::init();
    repo.write("inside/app.py", "print('hi')\n");
    repo.write("outside/old.ini", &format!("token = {TOKEN_A}\n"));
    repo.commit_all("base");
    repo.git(&["sparse-checkout", "init", "--cone", "--sparse-index"]);
    repo.git(&["sparse-checkout", "set", "inside"]);
    assert!(
        !repo.path().join("outside/old.ini").exists(),
        "outside the cone"
    );
    repo.write("inside/new.ini", &format!("token = {TOKEN_B}\n"));
    repo.git(&["add", "inside/new.ini"]);
    let (code, findings, stderr) = repo.scan_json(&["--staged"]);
    assert_eq!((code, findings.len()), (1, 1), "{stderr}");
    assert_eq!(findings[0]["path"], "inside/new.ini");
}

#[test]
fn a_non_utf8_path_keeps_its_bytes_in_json() {
    use std::os::unix::ffi::OsStrExt;
    let repo = Repo::init();
    repo.write("readme.md", "hello\n");
    repo.commit_all("base");
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.env");
    std::fs::write(repo.path().join(name), format!("token = {TOKEN_A}\n")).expect("write");
    repo.git(&["add", "-A"]);
    let (code, findings, stderr) = repo.scan_json(&["--staged"]);
    assert_eq!((code, findings.len()), (1, 1), "{stderr}");
    assert_eq!(findings[0]["path"], "caf\u{FFFD}.env");
    assert_eq!(
        findings[0]["path_bytes"],
        serde_json::json!([99, 97, 102, 233, 46, 101, 110, 118])
    );
}
