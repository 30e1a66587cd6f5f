//! End-to-end: history and range scans name every blob they skip (issue 12): by path,
//! commit and blob id, in the summary, in `json-report`'s `skipped` and in SARIF, and
//! `--fail-on-skip` makes them exit 2.

#[path = "git_support.rs"]
mod support;

use serde_json::{json, Value};
use support::{Repo, TOKEN_A, TOKEN_B};

/// A history with a binary blob (commit 1), an oversized one (commit 2), the binary blob
/// again at a second path (commit 3) and a small text file. Returns the repository, the
/// base commit before them, and the two skipped entries `json-report` must list.
fn history_with_skips() -> (Repo, String, Vec<Value>) {
    let repo = Repo::init();
    repo.write("README.md", "hello\n");
    let base = repo.commit_all("base");
    let mut binary = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR ".to_vec();
    binary.extend_from_slice(TOKEN_A.as_bytes());
    std::fs::create_dir_all(repo.path().join("assets")).expect("mkdir");
    std::fs::write(repo.path().join("assets/logo.png"), &binary).expect("write");
    let first = repo.commit_all("add the logo");
    let mut big = "x".repeat(5000);
    big.push_str(&format!("\n{TOKEN_B}\n"));
    repo.write("data/big.txt", &big);
    let second = repo.commit_all("add the data");
    std::fs::write(repo.path().join("assets/logo-copy.png"), &binary).expect("write");
    repo.write("small.txt", "nothing here\n");
    repo.commit_all("copy the logo");
    let logo = repo
        .git(&["rev-parse", "HEAD:assets/logo.png"])
        .trim()
        .to_owned();
    let data = repo
        .git(&["rev-parse", "HEAD:data/big.txt"])
        .trim()
        .to_owned();
    let expected = vec![
        json!({
            "path": "assets/logo.png",
            "kind": "binary",
            "reason": "binary (NUL bytes): not read",
            "commit": first,
            "blob": logo,
        }),
        json!({
            "path": "data/big.txt",
            "kind": "large",
            "reason": format!("{} bytes, over --max-file-size 1000: not read", big.len()),
            "commit": second,
            "blob": data,
        }),
    ];
    (repo, base, expected)
}

/// `scan <args> --format FORMAT`: (exit code, parsed stdout, stderr).
fn scan(repo: &Repo, args: &[&str], format: &str) -> (i32, Value, String) {
    let mut all = args.to_vec();
    all.extend(["--format", format]);
    let out = repo.scan(&all).get_output().clone();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("report: {e}\n{stdout}\n{stderr}"));
    (out.status.code().unwrap_or(-1), report, stderr)
}

fn skipped_line(entry: &Value) -> String {
    format!(
        "skipped: {} (commit {}, blob {}): {}",
        entry["path"].as_str().unwrap_or_default(),
        entry["commit"].as_str().unwrap_or_default(),
        entry["blob"].as_str().unwrap_or_default(),
        entry["reason"].as_str().unwrap_or_default(),
    )
}

#[test]
fn a_history_scan_names_each_skipped_blob_by_path_commit_and_id() {
    let (repo, _, expected) = history_with_skips();
    // Loose objects (read through libgit2), then packed ones (the pack reader), and the
    // libgit2 reader over the packs: the same entries each time.
    for (step, args) in [
        ("loose", vec!["--git", "--max-file-size", "1000"]),
        ("packed", vec!["--git", "--max-file-size", "1000"]),
        (
            "packed, odb reader",
            vec!["--git", "--max-file-size", "1000", "--git-reader", "odb"],
        ),
    ] {
        if step == "packed" {
            repo.git(&["gc", "-q"]);
        }
        let (code, report, stderr) = scan(&repo, &args, "json-report");
        assert_eq!(code, 0, "{step}: {stderr}");
        assert_eq!(report["skipped"], json!(expected), "{step}: {stderr}");
        assert_eq!(report["errors"], json!([]), "{step}");
        for entry in &expected {
            assert!(stderr.contains(&skipped_line(entry)), "{step}: {stderr}");
        }
        assert!(
            stderr.contains("1 binary and 1 over --max-file-size skipped"),
            "{step}: {stderr}"
        );
    }

    let (code, sarif, stderr) = scan(&repo, &["--git", "--max-file-size", "1000"], "sarif");
    assert_eq!(code, 0, "{stderr}");
    let notes = &sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"];
    let uris: Vec<&str> = notes
        .as_array()
        .expect("notifications")
        .iter()
        .map(|n| {
            assert_eq!(n["level"], "note");
            n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(uris, ["assets/logo.png", "data/big.txt"]);
    let text = notes[0]["message"]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains(expected[0]["commit"].as_str().unwrap_or("?")),
        "{text}"
    );
}

#[test]
fn fail_on_skip_makes_history_and_range_scans_exit_2_naming_the_blobs() {
    let (repo, base, expected) = history_with_skips();
    let range = format!("{base}..HEAD");
    for args in [
        vec!["--git", "--max-file-size", "1000", "--fail-on-skip"],
        vec![
            "--git",
            "--range",
            range.as_str(),
            "--max-file-size",
            "1000",
            "--fail-on-skip",
        ],
    ] {
        let (code, report, stderr) = scan(&repo, &args, "json-report");
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(report["skipped"], json!(expected), "{args:?}: {stderr}");
        assert!(
            stderr.contains("2 file(s) skipped and --fail-on-skip is set (exit 2)"),
            "{args:?}: {stderr}"
        );
        let named = format!(
            "assets/logo.png (commit {}, blob {})",
            expected[0]["commit"].as_str().unwrap_or("?"),
            expected[0]["blob"].as_str().unwrap_or("?")
        );
        assert!(stderr.contains(&named), "{args:?}: {stderr}");
    }
    // Without the limit the big blob is scanned (its secret found); the binary one is
    // still skipped and named.
    let (code, report, stderr) = scan(&repo, &["--git"], "json-report");
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(report["findings"][0]["path"], "data/big.txt");
    assert_eq!(
        report["skipped"].as_array().map(Vec::len),
        Some(1),
        "{stderr}"
    );
}
