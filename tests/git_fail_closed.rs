//! End-to-end: git scans fail closed (issue 12). A damaged loose object must end the scan
//! with exit 2 within seconds (libgit2 1.9.7 loops forever on a truncated zlib stream), and
//! `--staged` refuses what it cannot scan, with the fix.

#[path = "git_support.rs"]
mod support;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{Repo, TOKEN_A};

/// Runs `secrets-guard scan <args> --config rules <repo>` and waits at most `deadline`;
/// a scan still running then is killed and the test fails.
fn scan_within(repo: &Repo, args: &[&str], deadline: Duration) -> (i32, String) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("secrets-guard"))
        .current_dir(repo.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", support::NO_GLOBAL_CONFIG)
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .arg("scan")
        .args(args)
        .arg("--config")
        .arg(&repo.rules)
        .arg(repo.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut stderr = String::new();
            if let Some(mut err) = child.stderr.take() {
                let _ = err.read_to_string(&mut stderr);
            }
            return (status.code().unwrap_or(-1), stderr);
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`scan {args:?}` still running after {deadline:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The loose object file of `id`.
fn loose_path(repo: &Repo, id: &str) -> PathBuf {
    repo.path()
        .join(".git/objects")
        .join(&id[..2])
        .join(&id[2..])
}

/// Drops the last 8 bytes of a loose object (the repro of libgit2 #7342).
fn truncate(path: &PathBuf) {
    let bytes = std::fs::read(path).expect("read object");
    let mut perms = std::fs::metadata(path).expect("stat").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(path, perms).expect("chmod");
    std::fs::write(path, &bytes[..bytes.len() - 8]).expect("truncate");
}

#[test]
fn a_truncated_loose_object_exits_2_within_seconds_in_every_mode() {
    let repo = Repo::init();
    repo.write("app.py", "print('hello')\n");
    let base = repo.commit_all("base");
    // Large enough that the stream needs more than one inflate call.
    let body: String = (0..4000)
        .map(|i| format!("line {i} = {}\n", i * 7919))
        .collect();
    repo.write("data.txt", &body);
    repo.commit_all("data");
    let id = repo.git(&["rev-parse", "HEAD:data.txt"]).trim().to_owned();
    // Staged as well: a new file whose blob is the damaged one's sibling.
    repo.write("new.txt", &format!("{body}x\n"));
    repo.git(&["add", "new.txt"]);
    let staged_id = repo.git(&["rev-parse", ":new.txt"]).trim().to_owned();
    truncate(&loose_path(&repo, &id));
    truncate(&loose_path(&repo, &staged_id));

    let range = format!("{base}..HEAD");
    for args in [
        vec!["--staged"],
        vec!["--git"],
        vec!["--git", "--range", range.as_str()],
    ] {
        let (code, stderr) = scan_within(&repo, &args, Duration::from_secs(60));
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains("damaged loose git object"),
            "{args:?}: {stderr}"
        );
        // Each mode names the damaged object it went to read: the staged blob for
        // `--staged`, the committed one for the history and the range.
        let named = if args == ["--staged"] {
            &staged_id
        } else {
            &id
        };
        assert!(
            stderr.contains(named.as_str()),
            "names the object: {stderr}"
        );
        assert!(stderr.contains("truncated zlib stream"), "{stderr}");
    }
}

#[test]
fn only_the_objects_a_scan_reads_are_checked() {
    let repo = Repo::init();
    repo.write("app.py", "print('hello')\n");
    let base = repo.commit_all("base");
    let body: String = (0..4000)
        .map(|i| format!("line {i} = {}\n", i * 7919))
        .collect();
    // A loose object no scan below reads (as `git stash` or an abandoned `git add` leave).
    let outside = repo.dir.path().join("stray.txt");
    std::fs::write(&outside, &body).expect("write");
    let stray = repo
        .git(&["hash-object", "-w", &outside.display().to_string()])
        .trim()
        .to_owned();
    truncate(&loose_path(&repo, &stray));
    repo.write("more.py", "print('more')\n");
    repo.commit_all("more");
    repo.write("new.py", "print('new')\n");
    repo.git(&["add", "new.py"]);
    let range = format!("{base}..HEAD");
    for args in [
        vec!["--staged"],
        vec!["--git"],
        vec!["--git", "--range", range.as_str()],
    ] {
        let (code, stderr) = scan_within(&repo, &args, Duration::from_secs(60));
        assert_eq!(code, 0, "{args:?}: {stderr}");
    }

    // A damaged commit is read by the history walk itself (inside libgit2): still exit 2.
    let head = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    truncate(&loose_path(&repo, &head));
    for args in [vec!["--git"], vec!["--git", "--range", range.as_str()]] {
        let (code, stderr) = scan_within(&repo, &args, Duration::from_secs(60));
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(&head), "{args:?}: {stderr}");
        assert!(
            stderr.contains("truncated zlib stream"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn staged_oversized_and_binary_files_are_refused_with_the_fix() {
    let repo = Repo::init();
    repo.write("readme.md", "hello\n");
    repo.commit_all("base");
    repo.write("big.txt", &"a".repeat(5000));
    std::fs::write(
        repo.path().join("logo.png"),
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
    )
    .expect("write");
    repo.write("creds.txt", &format!("token: {TOKEN_A}\n"));
    repo.git(&["add", "-A"]);
    let (code, stderr) = scan_within(
        &repo,
        &["--staged", "--max-file-size", "1000"],
        Duration::from_secs(60),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("big.txt: staged file is 5000 bytes, over --max-file-size 1000"),
        "{stderr}"
    );
    assert!(stderr.contains("raise --max-file-size"), "{stderr}");
    assert!(
        stderr.contains("logo.png: staged file is binary"),
        "{stderr}"
    );
    assert!(stderr.contains("allow the path"), "{stderr}");

    // Raising the limit and allowing the image's path: the secret alone decides.
    let rules = std::fs::read_to_string(&repo.rules).expect("rules");
    std::fs::write(
        &repo.rules,
        format!("{rules}\n[allowlist]\npaths = ['''\\.png$''']\n"),
    )
    .expect("rules");
    let (code, stderr) = scan_within(&repo, &["--staged"], Duration::from_secs(60));
    assert_eq!(code, 1, "{stderr}");
}

#[test]
fn staged_utf16_text_is_decoded_and_scanned() {
    let repo = Repo::init();
    repo.write("readme.md", "hello\n");
    repo.commit_all("base");
    let mut bytes = vec![0xFF, 0xFE];
    for u in format!("a=1\r\ntoken: {TOKEN_A}\r\n").encode_utf16() {
        bytes.extend(u.to_le_bytes());
    }
    std::fs::write(repo.path().join("win.ini"), bytes).expect("write");
    repo.git(&["add", "win.ini"]);
    let (code, findings, stderr) = repo.scan_json(&["--staged"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(findings[0]["path"], "win.ini");
    assert_eq!(findings[0]["line"], 2);
}

#[test]
fn a_staged_archive_is_opened_not_refused() {
    let repo = Repo::init();
    repo.write("readme.md", "hello\n");
    repo.commit_all("base");
    let script = format!(
        "import zipfile\nwith zipfile.ZipFile('deploy.zip', 'w', zipfile.ZIP_DEFLATED) as z:\n    z.writestr('conf/prod.env', 'token: {TOKEN_A}\\n')\n"
    );
    let ok = Command::new("python3")
        .arg("-c")
        .arg(&script)
        .current_dir(repo.path())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "python3 builds the zip");
    repo.git(&["add", "deploy.zip"]);
    let (code, findings, stderr) = repo.scan_json(&["--staged"]);
    assert_eq!((code, findings.len()), (1, 1), "{stderr}");
    assert_eq!(findings[0]["path"], "deploy.zip!conf/prod.env");
}

#[test]
fn fail_on_skip_fails_a_history_scan_that_skipped_a_binary_blob() {
    let repo = Repo::init();
    std::fs::write(
        repo.path().join("logo.png"),
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
    )
    .expect("write");
    repo.commit_all("image");
    let (code, stderr) = scan_within(&repo, &["--git"], Duration::from_secs(60));
    assert_eq!(code, 0, "{stderr}");
    let (code, stderr) = scan_within(&repo, &["--git", "--fail-on-skip"], Duration::from_secs(60));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--fail-on-skip"), "{stderr}");
}
