//! End-to-end: the pack reader of `scan --git` (each pack decoded once, deltas resolved in
//! parallel) against the former reader (libgit2's object database, one blob at a time),
//! and scans of repositories that lack objects (partial clones).

#[path = "git_support.rs"]
mod support;

use support::{git_in, summary_count, Repo, TOKEN_A, TOKEN_B, TOKEN_C};

/// A source-like file of `lines` lines in which commit `rev` changed a few lines, so
/// successive versions delta well against each other.
fn source(name: &str, lines: usize, rev: usize) -> String {
    let mut out = String::new();
    for i in 0..lines {
        if i % 17 == rev % 17 {
            out.push_str(&format!(
                "    let {name}_{i} = revision({rev}); // edited\n"
            ));
        } else {
            out.push_str(&format!("    let {name}_{i} = compute({i}, \"{name}\");\n"));
        }
    }
    out
}

fn phase(repo: &Repo, from: usize, to: usize, token: &str) {
    for rev in from..to {
        for name in ["alpha", "beta", "gamma"] {
            let mut text = source(name, 300, rev);
            // Secrets come and go: each phase leaks its token in one file for a few commits.
            if name == "beta" && (from + 2..from + 5).contains(&rev) {
                text.push_str(&format!("TOKEN = \"{token}\"\n"));
            }
            repo.write(&format!("src/{name}.rs"), &text);
        }
        if rev == from + 3 {
            // The same blob at a second path, then a rename.
            repo.write(
                &format!("copies/{rev}.env"),
                &format!("KEY={token}\nREV={rev}\n"),
            );
        }
        if rev == from + 6 {
            repo.git(&[
                "mv",
                &format!("copies/{}.env", from + 3),
                &format!("moved-{from}.env"),
            ]);
        }
        repo.commit_all(&format!("revision {rev}"));
    }
}

fn findings_with(repo: &Repo, reader: &str) -> (i32, Vec<serde_json::Value>, String) {
    repo.scan_json(&["--git", "--git-reader", reader])
}

#[test]
fn pack_and_odb_readers_find_the_same_on_deltas_packs_and_loose_objects() {
    let repo = Repo::init();
    // Phase 1: packed with deep deltas; phase 2: a second pack; phase 3: loose objects.
    phase(&repo, 0, 24, TOKEN_A);
    repo.git(&["gc", "-q", "--aggressive"]);
    phase(&repo, 24, 40, TOKEN_B);
    repo.git(&["repack", "-q"]);
    phase(&repo, 40, 52, TOKEN_C);
    // A side branch merged back, so blobs come from more than the first-parent line.
    repo.git(&["checkout", "-q", "-b", "side", "HEAD~5"]);
    repo.write("side.env", &format!("SIDE={TOKEN_A}\n"));
    repo.commit_all("side leak");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["merge", "-q", "--no-ff", "-m", "merge side", "side"]);

    // The layout the test is about: several packs, delta entries in them, loose objects.
    let counts = repo.git(&["count-objects", "-v"]);
    let count = |key: &str| -> u64 {
        counts
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    assert!(count("packs:") >= 2, "{counts}");
    assert!(count("count:") > 0, "{counts}");
    let deltas = repo
        .git(&[
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objecttype) %(deltabase)",
        ])
        .lines()
        .filter(|l| l.starts_with("blob ") && !l.ends_with(&"0".repeat(40)))
        .count();
    assert!(deltas > 20, "only {deltas} blob(s) stored as deltas");

    let (code_packs, packs, stderr_packs) = findings_with(&repo, "packs");
    let (code_odb, odb, stderr_odb) = findings_with(&repo, "odb");
    assert_eq!(
        (code_packs, code_odb),
        (1, 1),
        "{stderr_packs}\n{stderr_odb}"
    );
    // Same findings, same attribution, same order, same JSON.
    assert_eq!(packs, odb);
    let summary = |stderr: &str| -> String {
        stderr
            .lines()
            .find(|l| l.starts_with("git: "))
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(summary(&stderr_packs), summary(&stderr_odb));
    // Every blob git knows is scanned, and each phase's secrets are found where they came in.
    let blobs = repo
        .git(&[
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objecttype)",
        ])
        .lines()
        .filter(|l| *l == "blob")
        .count() as u64;
    assert_eq!(
        summary_count(&stderr_packs, "distinct blob(s) scanned"),
        blobs
    );
    let paths: std::collections::BTreeSet<&str> =
        packs.iter().filter_map(|f| f["path"].as_str()).collect();
    for path in [
        "src/beta.rs",
        "copies/3.env",
        "copies/27.env",
        "copies/43.env",
        "moved-0.env",
        "moved-40.env",
        "side.env",
    ] {
        assert!(paths.contains(path), "{path} missing from {paths:?}");
    }
    let introduced = repo
        .git(&[
            "log",
            "--format=%H",
            "--diff-filter=A",
            "--",
            "copies/43.env",
        ])
        .trim()
        .to_owned();
    assert!(packs
        .iter()
        .any(|f| f["path"] == "copies/43.env" && f["commit"]["id"] == introduced.as_str()));

    // Any thread count gives the same report.
    let (_, one_thread, _) = repo.scan_json(&["--git", "--threads", "1"]);
    assert_eq!(one_thread, packs);
}

/// A pack completed by `git index-pack --fix-thin`, as a fetch leaves it: its deltas name
/// their bases by id, and the bases were appended after them, at the end of the pack.
#[test]
fn a_fixed_thin_pack_reads_the_same_with_both_readers() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let repo = Repo::init();
    phase(&repo, 0, 12, TOKEN_A);
    let base = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let origin = repo.path().display().to_string();
    git_in(
        repo.dir.path(),
        &["clone", "-q", "--bare", &origin, "fixed.git"],
    );
    let fixed = repo.dir.path().join("fixed.git");
    phase(&repo, 12, 24, TOKEN_B);
    let head = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();

    let pipe = |dir: &std::path::Path, args: &[&str], input: &[u8]| -> Vec<u8> {
        let mut child = Command::new("git")
            .current_dir(dir)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("git runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("writes");
        let out = child.wait_with_output().expect("git finishes");
        assert!(out.status.success(), "git {args:?} failed");
        out.stdout
    };
    let thin = pipe(
        &repo.path(),
        &["pack-objects", "--thin", "--stdout", "--revs", "-q"],
        format!("{head}\n^{base}\n").as_bytes(),
    );
    let sent = u32::from_be_bytes(thin[8..12].try_into().expect("pack header"));
    let written = pipe(&fixed, &["index-pack", "--stdin", "--fix-thin"], &thin);
    let name = String::from_utf8_lossy(&written)
        .split_whitespace()
        .last()
        .expect("pack name")
        .to_owned();
    git_in(&fixed, &["update-ref", "refs/heads/main", &head]);
    // The layout the test is about: bases the thin pack left out, appended to it.
    let idx = fixed.join(format!("objects/pack/pack-{name}.idx"));
    let listed = pipe(
        &fixed,
        &["show-index"],
        &std::fs::read(&idx).expect("index"),
    );
    let held = String::from_utf8_lossy(&listed).lines().count() as u32;
    assert!(held > sent, "no base appended: {held} objects, {sent} sent");

    let (code_packs, packs, stderr_packs) = scan_partial(&repo, &fixed, &["--git-reader", "packs"]);
    let (code_odb, odb, stderr_odb) = scan_partial(&repo, &fixed, &["--git-reader", "odb"]);
    assert_eq!(
        (code_packs, code_odb),
        (1, 1),
        "{stderr_packs}\n{stderr_odb}"
    );
    assert_eq!(packs, odb);
    assert!(packs.contains("src/beta.rs"), "{packs}");
    let found: Vec<serde_json::Value> = serde_json::from_str(&packs).expect("JSON report");
    let introduced = repo.git(&["rev-parse", "HEAD~9"]).trim().to_owned();
    assert!(
        found
            .iter()
            .any(|f| f["path"] == "src/beta.rs" && f["commit"]["id"] == introduced.as_str()),
        "the second phase's leak (commit {introduced}) is missing: {packs}"
    );
}

/// A bare partial clone of a repository whose big blob (holding TOKEN_B) is left out by
/// `--filter=blob:limit=1k`, while a small blob holding TOKEN_A is present.
fn partial_clone() -> (Repo, std::path::PathBuf, String) {
    let repo = Repo::init();
    repo.write("small.env", &format!("A={TOKEN_A}\n"));
    repo.commit_all("small");
    let mut big = source("big", 200, 0);
    big.push_str(&format!("B = \"{TOKEN_B}\"\n"));
    repo.write("big.rs", &big);
    repo.commit_all("big");
    repo.write("big.rs", &source("big", 200, 1));
    repo.commit_all("big again");
    let first_big = repo.git(&["rev-parse", "HEAD~1:big.rs"]).trim().to_owned();
    repo.git(&["config", "uploadpack.allowFilter", "true"]);
    let url = format!("file://{}", repo.path().display());
    git_in(
        repo.dir.path(),
        &[
            "clone",
            "-q",
            "--bare",
            "--filter=blob:limit=1k",
            &url,
            "partial.git",
        ],
    );
    let clone = repo.dir.path().join("partial.git");
    (repo, clone, first_big)
}

fn scan_partial(repo: &Repo, clone: &std::path::Path, extra: &[&str]) -> (i32, String, String) {
    let out = support::sg()
        .args(["scan", "--git", "--format", "json"])
        .args(extra)
        .arg("--config")
        .arg(&repo.rules)
        .arg(clone)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_partial_clone_fails_closed_naming_the_first_missing_blob() {
    let (repo, clone, first_big) = partial_clone();
    let missing = git_in(
        &clone,
        &["rev-list", "--objects", "--all", "--missing=print"],
    );
    assert!(
        missing.lines().any(|l| l == format!("?{first_big}")),
        "{missing}"
    );

    for reader in ["packs", "odb"] {
        let (code, stdout, stderr) = scan_partial(&repo, &clone, &["--git-reader", reader]);
        assert_eq!(code, 2, "{reader}: {stderr}");
        assert!(stdout.trim().is_empty(), "nothing half-written: {stdout}");
        assert!(stderr.contains(&first_big), "{reader}: {stderr}");
        assert!(stderr.contains("--allow-missing-objects"), "{stderr}");
        assert!(stderr.contains("1 more blob"), "{stderr}");
    }
}

#[test]
fn allow_missing_objects_scans_what_is_present_and_lists_what_is_not() {
    let (repo, clone, first_big) = partial_clone();
    let second_big = repo.git(&["rev-parse", "HEAD:big.rs"]).trim().to_owned();

    let (code, stdout, stderr) = scan_partial(&repo, &clone, &["--allow-missing-objects"]);
    assert_eq!(code, 1, "{stderr}");
    let findings: Vec<serde_json::Value> = serde_json::from_str(&stdout).expect("json report");
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["path"], "small.env");
    let skipped: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("skipped (missing from the repository): blob "))
        .collect();
    assert_eq!(skipped.len(), 2, "{stderr}");
    assert!(skipped[0].contains(&first_big) && skipped[0].contains("big.rs"));
    assert!(skipped[1].contains(&second_big));
    assert_eq!(summary_count(&stderr, "distinct blob(s) scanned"), 1);
}
