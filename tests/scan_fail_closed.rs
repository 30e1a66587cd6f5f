//! End-to-end: the working-tree scan never passes what it did not read (issue 12). Every
//! input that cannot be read makes the scan exit 2 once the rest is scanned and reported,
//! named in the summary, in `--format json-report` and in SARIF's invocation.
//!
//! CI runs as root, which reads mode-000 files: the permission tests drop to `nobody`
//! with `setpriv` when running as root. The other inputs (FIFOs, dangling links, link loops,
//! `/dev/stdin`) fail for root too.

use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const RULES: &str = r#"
[[rules]]
id = "demo-token"
description = "Demo token"
regex = '''\b(dtk_[A-Za-z0-9]{20})\b'''
secretGroup = 1
keywords = ["dtk_"]
"#;

const T1: &str = "dtk_Ab3De6Gh9Jk2Mn5Pq8St";

struct Tree {
    dir: tempfile::TempDir,
    rules: PathBuf,
}

impl Tree {
    /// A tree under a directory readable by everyone (for the unprivileged runs), with the
    /// rules beside it.
    fn new() -> Tree {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        fs::create_dir(dir.path().join("t")).expect("mkdir");
        let rules = dir.path().join("rules.toml");
        fs::write(&rules, RULES).expect("rules");
        Tree { dir, rules }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("t")
    }

    fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.root().join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(&path, content).expect("write");
        path
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("JSON: {e}\n{}\n{}", self.stdout, self.stderr))
    }
}

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("secrets-guard")
}

fn scan(tree: &Tree, args: &[&str]) -> Run {
    scan_with(Command::new(binary()), tree, args)
}

fn scan_with(mut cmd: Command, tree: &Tree, args: &[&str]) -> Run {
    cmd.current_dir(tree.root())
        .env("NO_COLOR", "1")
        .arg("scan")
        .arg("--config")
        .arg(&tree.rules)
        .args(args)
        .timeout(Duration::from_secs(60));
    let out = cmd.output().expect("runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The binary as an unprivileged user: itself when not root, else through `setpriv` as
/// `nobody`. `None` when root and `setpriv` is missing.
fn unprivileged() -> Option<Command> {
    if !is_root() {
        return Some(Command::new(binary()));
    }
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    // The binary must be reachable by `nobody`: target/ normally is (0755 directories).
    let mut cmd = Command::new(setpriv);
    cmd.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
    ])
    .arg(binary());
    Some(cmd)
}

fn error_paths(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["path"].as_str().expect("path").to_owned())
        .collect()
}

#[test]
fn mode_000_file_and_directory_fail_the_scan_after_the_rest_is_scanned() {
    let tree = Tree::new();
    tree.write("ok.env", format!("TOKEN={T1}\n"));
    let locked = tree.write("locked.env", format!("TOKEN={T1}\n"));
    tree.write("private/inner.env", format!("TOKEN={T1}\n"));
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).expect("chmod");
    fs::set_permissions(
        tree.root().join("private"),
        fs::Permissions::from_mode(0o000),
    )
    .expect("chmod");
    fs::set_permissions(&tree.rules, fs::Permissions::from_mode(0o644)).expect("chmod");
    let Some(cmd) = unprivileged() else {
        eprintln!("skipped: running as root without setpriv, mode 000 cannot be tested");
        return;
    };
    let r = scan_with(cmd, &tree, &["--format", "json-report"]);
    // Restore so the temp dir can be removed.
    fs::set_permissions(
        tree.root().join("private"),
        fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    assert_eq!(r.code, 2, "{}", r.stderr);
    let report = r.json();
    // The readable file is still scanned and reported.
    assert_eq!(report["findings"].as_array().expect("findings").len(), 1);
    assert_eq!(report["findings"][0]["path"], "ok.env");
    assert_eq!(error_paths(&report), vec!["locked.env", "private"]);
    assert!(
        report["errors"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("permission denied")),
        "{report}"
    );
    for name in ["locked.env", "private"] {
        assert!(
            r.stderr
                .lines()
                .any(|l| l.starts_with("error: ") && l.contains(name)),
            "summary names {name}: {}",
            r.stderr
        );
    }
    assert!(r.stderr.contains("2 unreadable"), "{}", r.stderr);
    // No doubled error text.
    assert!(
        !r.stderr.contains("denied: Permission denied"),
        "{}",
        r.stderr
    );
}

#[test]
fn dangling_links_loops_and_fifos_fail_closed_and_skip_unreadable_restores_the_warning() {
    let tree = Tree::new();
    tree.write("ok.env", format!("TOKEN={T1}\n"));
    let root = tree.root();
    std::os::unix::fs::symlink("missing-target", root.join("dangling")).expect("symlink");
    std::os::unix::fs::symlink("loop-b", root.join("loop-a")).expect("symlink");
    std::os::unix::fs::symlink("loop-a", root.join("loop-b")).expect("symlink");
    let status = std::process::Command::new("mkfifo")
        .arg(root.join("sub-fifo"))
        .status()
        .expect("mkfifo");
    assert!(status.success());

    // Named explicitly: each is an error, the file beside them still scanned.
    let started = Instant::now();
    let r = scan(
        &tree,
        &[
            "--format",
            "json-report",
            "ok.env",
            "dangling",
            "loop-a",
            "sub-fifo",
        ],
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "a FIFO never blocks"
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    let report = r.json();
    assert_eq!(report["findings"][0]["path"], "ok.env");
    assert_eq!(error_paths(&report), vec!["dangling", "loop-a", "sub-fifo"]);
    let reasons: Vec<&str> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["reason"].as_str().expect("reason"))
        .collect();
    assert!(reasons[0].contains("dangling symbolic link"), "{reasons:?}");
    assert!(reasons[1].contains("loop"), "{reasons:?}");
    assert!(reasons[2].contains("FIFO"), "{reasons:?}");

    // Found inside a walked directory, a FIFO is an error too (links are not followed).
    let r = scan(&tree, &["--format", "json-report"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(error_paths(&r.json()), vec!["sub-fifo"]);

    // --skip-unreadable: today's behaviour, explicitly: a warning, and the findings decide.
    let r = scan(&tree, &["--skip-unreadable", "ok.env", "dangling"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("warning: dangling"), "{}", r.stderr);
    let r = scan(&tree, &["--skip-unreadable", "dangling"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn dev_stdin_is_refused_with_a_pointer_to_scan_dash_and_scan_dash_reads_stdin() {
    let tree = Tree::new();
    let r = scan(&tree, &["/dev/stdin"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("scan -"), "{}", r.stderr);

    let mut cmd = Command::new(binary());
    cmd.current_dir(tree.root())
        .args(["scan", "--format", "json", "--config"])
        .arg(&tree.rules)
        .args(["-", "--stdin-name", "config/app.env"])
        .write_stdin(format!("a=1\nTOKEN={T1}\n"));
    let out = cmd.output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let found: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(found[0]["path"], "config/app.env");
    assert_eq!(found[0]["line"], 2);
}

#[test]
fn default_json_stays_an_array_and_sarif_carries_the_invocation() {
    let tree = Tree::new();
    tree.write("ok.env", format!("TOKEN={T1}\n"));
    std::os::unix::fs::symlink("missing", tree.root().join("dangling")).expect("symlink");

    let r = scan(&tree, &["--format", "json", "ok.env", "dangling"]);
    assert_eq!(r.code, 2);
    assert!(r.json().is_array(), "{}", r.stdout);

    let r = scan(&tree, &["--format", "sarif", "ok.env", "dangling"]);
    assert_eq!(r.code, 2);
    let log = r.json();
    let invocation = &log["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let notes = invocation["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["level"], "error");
    assert_eq!(
        notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "dangling"
    );
    // Only the rule that fired is described, unless asked for all.
    assert_eq!(
        log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    let r = scan(&tree, &["--format", "sarif", "ok.env"]);
    assert_eq!(r.code, 1);
    let log = r.json();
    assert_eq!(
        log["runs"][0]["invocations"][0]["executionSuccessful"],
        true
    );

    // The default rules with --sarif-all-rules describe every rule; without, only fired ones.
    let mut cmd = Command::new(binary());
    let out = cmd
        .current_dir(tree.root())
        .args(["scan", "--format", "sarif", "--sarif-all-rules", "ok.env"])
        .output()
        .expect("runs");
    let all: Value = serde_json::from_slice(&out.stdout).expect("sarif");
    assert!(
        all["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .is_some_and(|r| r.len() > 50),
        "every default rule described"
    );
}

#[test]
fn threads_zero_is_an_error_and_huge_counts_are_capped_with_a_note() {
    let tree = Tree::new();
    tree.write("ok.env", format!("TOKEN={T1}\n"));
    let r = scan(&tree, &["--threads", "0"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("at least 1"), "{}", r.stderr);

    let r = scan(&tree, &["--threads", "100000"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("--threads 100000 lowered to"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_oversized_custom_regex_is_refused_naming_the_limit() {
    let tree = Tree::new();
    fs::write(
        &tree.rules,
        "[[rules]]\nid = \"huge\"\nregex = '''(x{1000}){1000}'''\nkeywords = [\"x\"]\n",
    )
    .expect("rules");
    tree.write("a.txt", "x".repeat(1 << 20));
    let started = Instant::now();
    let r = scan(&tree, &[]);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("size limit of 1048576 bytes"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("huge"), "{}", r.stderr);

    let out = Command::new(binary())
        .current_dir(tree.root())
        .args(["rules", "check", "--config"])
        .arg(&tree.rules)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("size limit of 1048576 bytes"));
}

#[test]
fn skipped_files_are_named_and_fail_on_skip_fails() {
    let tree = Tree::new();
    tree.write("ok.env", "nothing here\n");
    tree.write("big.txt", "a".repeat(2000));
    tree.write("blob.bin", b"\x7fELF\0\0\0\0binary");
    let r = scan(
        &tree,
        &["--format", "json-report", "--max-file-size", "1000"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    let skipped: Vec<(String, String)> = report["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| {
            (
                s["path"].as_str().expect("path").to_owned(),
                s["kind"].as_str().expect("kind").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        vec![
            ("big.txt".to_owned(), "large".to_owned()),
            ("blob.bin".to_owned(), "binary".to_owned())
        ]
    );
    assert!(
        r.stderr.contains("skipped: big.txt: 2000 bytes"),
        "{}",
        r.stderr
    );
    let r = scan(&tree, &["--max-file-size", "1000", "--fail-on-skip"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--fail-on-skip"), "{}", r.stderr);
}

#[test]
fn utf16_text_is_decoded_and_scanned() {
    let tree = Tree::new();
    let text = format!("first\r\nTOKEN={T1}\r\n");
    let mut le = vec![0xFF, 0xFE];
    let mut be = Vec::new();
    for u in text.encode_utf16() {
        le.extend(u.to_le_bytes());
        be.extend(u.to_be_bytes());
    }
    tree.write("win.env", le);
    tree.write("nobom.env", be);
    let r = scan(&tree, &["--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let found = r.json();
    let places: Vec<(String, u64)> = found
        .as_array()
        .expect("array")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().expect("path").to_owned(),
                f["line"].as_u64().expect("line"),
            )
        })
        .collect();
    assert_eq!(
        places,
        vec![("nobom.env".to_owned(), 2), ("win.env".to_owned(), 2)]
    );
}

#[test]
fn generated_file_detection_looks_at_content() {
    let tree = Tree::new();
    // Hand-written, one line, named .min.js: scanned by every rule.
    tree.write("config.min.js", format!("window.cfg={{token:\"{T1}\"}};\n"));
    // A real minified bundle: named as generated, and its format-specific findings kept.
    let bundle = format!(
        "!function(){{{}var k=\"{T1}\";}}();\n",
        "var a=1;".repeat(2000)
    );
    tree.write("dist/app.js", bundle);
    let r = scan(&tree, &["--format", "json-report"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report = r.json();
    let paths: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["path"].as_str().expect("path"))
        .collect();
    assert_eq!(paths, vec!["config.min.js", "dist/app.js"]);
    assert_eq!(report["skipped"][0]["path"], "dist/app.js");
    assert_eq!(report["skipped"][0]["kind"], "generated");
}

#[test]
fn backslashes_are_kept_and_control_characters_escaped() {
    let tree = Tree::new();
    tree.write("dir\\name.env", format!("TOKEN={T1}\n"));
    tree.write("evil\n\u{1b}[2Jname.env", format!("TOKEN={T1}\n"));
    let r = scan(&tree, &["--format", "json"]);
    let found = r.json();
    let paths: Vec<&str> = found
        .as_array()
        .expect("array")
        .iter()
        .map(|f| f["path"].as_str().expect("path"))
        .collect();
    assert_eq!(paths, vec!["dir\\name.env", "evil\n\u{1b}[2Jname.env"]);
    assert!(found[0]["fingerprint"]
        .as_str()
        .is_some_and(|f| f.contains("dir\\name.env")));
    let r = scan(&tree, &[]);
    assert!(
        r.stdout.contains("evil\\n\\x1b[2Jname.env:1:7"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains('\u{1b}'),
        "no raw escape reaches the terminal"
    );
}

#[test]
fn the_config_is_found_from_the_scanned_path_up_to_the_repository_root() {
    let tree = Tree::new();
    let root = tree.root();
    fs::create_dir_all(root.join(".git")).expect("a repository root");
    fs::write(root.join(".secrets-guard.toml"), RULES).expect("config");
    tree.write("src/deep/c.py", format!("TOKEN = \"{T1}\"\n"));
    for target in ["src", "src/deep/c.py"] {
        let out = Command::new(binary())
            .current_dir(&root)
            .args(["scan", "--format", "json", target])
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{target}: {stderr}");
        assert!(
            stderr.contains("config: ") && stderr.contains(".secrets-guard.toml"),
            "the summary names the config: {stderr}"
        );
    }
    // From inside the subdirectory too.
    let out = Command::new(binary())
        .current_dir(root.join("src"))
        .args(["scan", "--format", "json", "deep"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn errors_are_not_doubled_and_unknown_disabled_rules_are_refused() {
    let tree = Tree::new();
    let out = Command::new(binary())
        .current_dir(tree.root())
        .args(["scan", "--config", "missing.toml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );

    fs::write(
        tree.root().join(".secrets-guard.toml"),
        "[extend]\nuseDefault = true\ndisabledRules = [\"no-such-rule\"]\n",
    )
    .expect("config");
    let out = Command::new(binary())
        .current_dir(tree.root())
        .args(["scan", "."])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-rule"));
}

#[test]
fn completions_for_each_shell_and_a_man_page() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef secrets-guard"),
        ("fish", "complete -c secrets-guard"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = Command::new(binary())
            .args(["completions", shell])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(marker), "{shell}: {text}");
        assert!(
            text.contains("skip-unreadable"),
            "{shell} completes scan's flags"
        );
    }
    let out = Command::new(binary()).arg("man").output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains(".TH secrets-guard"), "{page}");
    let out = Command::new(binary())
        .args(["completions", "tcsh"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

/// Builds archives with the system's `zip`-free tools: Python's zipfile/tarfile/gzip.
fn python(script: &str, cwd: &Path) -> bool {
    std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .current_dir(cwd)
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn archives_are_opened_and_members_named_with_limits_in_skipped() {
    let tree = Tree::new();
    let root = tree.root();
    let script = format!(
        r#"
import gzip, io, tarfile, zipfile
secret = "TOKEN={T1}\n"
with zipfile.ZipFile("inner.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("conf/app.env", secret)
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    data = open("inner.zip", "rb").read()
    info = tarfile.TarInfo("nested/inner.zip"); info.size = len(data)
    t.addfile(info, io.BytesIO(data))
open("bundle.tar", "wb").write(buf.getvalue())
with tarfile.open("release.tgz", "w:gz") as t:
    info = tarfile.TarInfo("etc/settings.ini"); info.size = len(secret)
    t.addfile(info, io.BytesIO(secret.encode()))
open("dump.sql.gz", "wb").write(gzip.compress(secret.encode()))
with zipfile.ZipFile("app.jar", "w", zipfile.ZIP_STORED) as z:
    z.writestr("META-INF/app.properties", secret)
# Depth 4: zip in zip in zip in zip.
data = secret.encode()
for level in range(4):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("deep.env" if level == 0 else "l%d.zip" % level, data)
    data = b.getvalue()
open("deep.zip", "wb").write(data)
"#
    );
    assert!(python(&script, &root), "python3 builds the archives");
    fs::remove_file(root.join("inner.zip")).expect("rm");
    let r = scan(&tree, &["--format", "json-report"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report = r.json();
    let mut paths: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["path"].as_str().expect("path"))
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            "app.jar!META-INF/app.properties",
            "bundle.tar!nested/inner.zip!conf/app.env",
            "dump.sql.gz!dump.sql",
            "release.tgz!etc/settings.ini",
        ]
    );
    let limits: Vec<(&str, &str)> = report["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| {
            (
                s["path"].as_str().expect("path"),
                s["kind"].as_str().expect("kind"),
            )
        })
        .collect();
    assert_eq!(limits, vec![("deep.zip!l3.zip!l2.zip!l1.zip", "limit")]);
}

#[test]
fn a_zip_bomb_stops_at_the_size_limit_and_says_so() {
    let tree = Tree::new();
    // 64 MiB of zeros compresses to ~64 KiB; over a 1 MiB --max-file-size per member.
    let script = r#"
import zipfile
with zipfile.ZipFile("bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("zeros.txt", b"a" * (64 << 20))
"#;
    assert!(python(script, &tree.root()));
    let started = Instant::now();
    let r = scan(
        &tree,
        &["--format", "json-report", "--max-file-size", "1048576"],
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    assert_eq!(report["skipped"][0]["path"], "bomb.zip!zeros.txt");
    assert_eq!(report["skipped"][0]["kind"], "large");
}

#[test]
fn a_non_utf8_file_name_keeps_its_bytes_in_json() {
    use std::os::unix::ffi::OsStrExt;
    let tree = Tree::new();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.env");
    fs::write(tree.root().join(name), format!("TOKEN={T1}\n")).expect("write");
    let r = scan(&tree, &["--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let found = r.json();
    assert_eq!(found[0]["path"], "caf\u{FFFD}.env");
    assert_eq!(
        found[0]["path_bytes"],
        serde_json::json!([99, 97, 102, 233, 46, 101, 110, 118])
    );
}
