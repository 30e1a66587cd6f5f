//! End-to-end tests of the working-tree scan: the real binary on real temporary trees.

use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::path::Path;

/// Test rules: one token format the default rules know nothing about, so these tests do
/// not depend on the default rule content.
const RULES: &str = r#"
[[rules]]
id = "demo-token"
description = "Demo token"
impact = "Opens the demo vault."
references = ["https://example.com/demo-tokens"]
regex = '''\b(dtk_[A-Za-z0-9]{20})\b'''
secretGroup = 1
keywords = ["dtk_"]
"#;

const T1: &str = "dtk_Ab3De6Gh9Jk2Mn5Pq8St";
const T2: &str = "dtk_Zr4Vb7Nm1Qw5Ty8Ui2Op";
const T3: &str = "dtk_Lk9Jh6Gf3Ds1Pa4Sd7Fg";

/// Deterministic, distinct, placeholder-free tokens for bulk trees.
fn token(n: usize) -> String {
    const ALPHA: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut state = (n as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut s = String::from("dtk_");
    for _ in 0..20 {
        state ^= state >> 29;
        state = state.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        s.push(ALPHA[(state % ALPHA.len() as u64) as usize] as char);
    }
    s
}

fn write(root: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(path, content).expect("write");
}

/// A config outside the scanned tree.
fn config() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rules.toml");
    fs::write(&path, RULES).expect("write config");
    (dir, path)
}

fn sg(cwd: &Path) -> Command {
    let mut cmd = Command::cargo_bin("secrets-guard").expect("binary");
    cmd.current_dir(cwd).env("NO_COLOR", "1");
    cmd
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn json_scan(cwd: &Path, cfg: &Path, extra: &[&str]) -> (i32, Vec<Value>, String) {
    let r = run(sg(cwd)
        .args(["scan", "--format", "json", "--config"])
        .arg(cfg)
        .args(extra));
    let parsed: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("JSON report parses: {e}\n{}\n{}", r.stdout, r.stderr));
    let list = parsed.as_array().expect("a JSON array").clone();
    (r.code, list, r.stderr)
}

fn paths(findings: &[Value]) -> Vec<String> {
    findings
        .iter()
        .map(|f| f["path"].as_str().expect("path").to_owned())
        .collect()
}

#[test]
fn gitignored_files_are_skipped_and_dotfiles_scanned() {
    let (_c, cfg) = config();
    let tree = tempfile::tempdir().expect("tempdir");
    let root = tree.path();
    // Not a git repository: .gitignore must still be honoured.
    write(root, ".gitignore", "ignored.txt\nbuild/\n");
    write(root, ".ignore", "also-ignored.txt\n");
    write(root, ".env", format!("TOKEN={T1}\n"));
    write(root, ".npmrc", format!("//registry/:_authToken={T2}\n"));
    write(root, "src/a.rs", format!("let t = \"{T3}\";\n"));
    write(root, "ignored.txt", format!("{T1}\n"));
    write(root, "also-ignored.txt", format!("{T1}\n"));
    write(root, "build/out.txt", format!("{T1}\n"));
    let (code, found, _) = json_scan(root, &cfg, &[]);
    assert_eq!(code, 1);
    assert_eq!(paths(&found), vec![".env", ".npmrc", "src/a.rs"]);

    // A file named explicitly is scanned even though .gitignore lists it.
    let (code, found, _) = json_scan(root, &cfg, &["ignored.txt"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&found), vec!["ignored.txt"]);
}

#[test]
fn inside_a_git_repository_dot_git_is_skipped() {
    let (_c, cfg) = config();
    let tree = tempfile::tempdir().expect("tempdir");
    let root = tree.path();
    let status = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(root)
        .env("GIT_AUTHOR_NAME", "T")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "T")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .status()
        .expect("git runs");
    assert!(status.success());
    write(root, ".git/leftover.txt", format!("{T1}\n"));
    write(root, ".git/info/exclude", "excluded.env\n");
    write(root, "excluded.env", format!("{T1}\n"));
    write(root, "config.env", format!("{T2}\n"));
    let (_, found, _) = json_scan(root, &cfg, &[]);
    assert_eq!(paths(&found), vec!["config.env"]);
}

#[test]
fn paths_are_the_root_as_named_joined_with_the_file() {
    let (_c, cfg) = config();
    let tree = tempfile::tempdir().expect("tempdir");
    let root = tree.path();
    write(root, "sub/deep/a.env", format!("{T1}\n"));
    write(root, "file.env", format!("{T2}\n"));
    for (arg, expected) in [
        (".", vec!["file.env", "sub/deep/a.env"]),
        ("./", vec!["file.env", "sub/deep/a.env"]),
        ("sub", vec!["sub/deep/a.env"]),
        ("./sub/", vec!["sub/deep/a.env"]),
        ("file.env", vec!["file.env"]),
        ("./sub/deep/a.env", vec!["sub/deep/a.env"]),
    ] {
        let (_, found, _) = json_scan(root, &cfg, &[arg]);
        assert_eq!(paths(&found), expected, "scan {arg}");
    }
    let (_, found, _) = json_scan(root, &cfg, &["sub", "file.env"]);
    assert_eq!(paths(&found), vec!["file.env", "sub/deep/a.env"]);
    // Overlapping roots report each finding once.
    let (_, found, _) = json_scan(root, &cfg, &[".", "sub", "file.env"]);
    assert_eq!(paths(&found), vec!["file.env", "sub/deep/a.env"]);
}

#[test]
fn binary_skipped_invalid_utf8_and_crlf_positions() {
    let (_c, cfg) = config();
    let tree = tempfile::tempdir().expect("tempdir");
    let root = tree.path();
    let mut binary = b"\x00\x01\x02ELF".to_vec();
    binary.extend_from_slice(T1.as_bytes());
    write(root, "blob.bin", binary);
    // Invalid UTF-8 before the token on the same line counts one column per byte.
    let mut latin1 = b"caf\xe9\r\nk\xe9y = ".to_vec();
    latin1.extend_from_slice(T2.as_bytes());
    latin1.extend_from_slice(b"\r\n");
    write(root, "latin1.txt", latin1);
    write(
        root,
        "crlf.env",
        format!("A=1\r\nB=2\r\n  TOKEN = {T3}\r\nC=3\r\n"),
    );
    // Multi-byte UTF-8 counts one column per character.
    write(root, "utf8.txt", format!("é€ {T1}\n"));
    let (code, found, stderr) = json_scan(root, &cfg, &[]);
    assert_eq!(code, 1);
    let got: Vec<(String, u64, u64, u64, u64)> = found
        .iter()
        .map(|f| {
            (
                f["path"].as_str().expect("path").to_owned(),
                f["line"].as_u64().expect("line"),
                f["column"].as_u64().expect("column"),
                f["end_line"].as_u64().expect("end_line"),
                f["end_column"].as_u64().expect("end_column"),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("crlf.env".into(), 3, 11, 3, 35),
            ("latin1.txt".into(), 2, 7, 2, 31),
            ("utf8.txt".into(), 1, 4, 1, 28),
        ]
    );
    assert!(stderr.contains("skipped 1 binary"), "{stderr}");
    assert!(stderr.contains("scanned 3 files"), "{stderr}");
}

#[test]
fn allow_comments_suppress_their_line_only() {
    let (_c, cfg) = config();
    let tree = tempfile::tempdir().expect("tempdir");
    let root = tree.path();
    write(
        root,
        "a.py",
        format!(
            "x = \"{T1}\"  # secrets-guard:allow\ny = \"{T2}\"  # gitleaks:allow\nz = \"{T3}\"  # pragma: allowlist secret\nw = \"{}\"\n",
            token(1)
        ),
    );
    let (code, found, _) = json_scan(root, &cfg, &[]);
    assert_eq!(code, 1);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["line"], 4);
}

#[test]
fn lockfile_hashes_do_not_fire_and_generated_files_keep_format_specific_findings() {
    let (_c, cfg) = config();
    let tree = tempfile::tempdir().expect("tempdir");
    let root = tree.path();
    write(
        root,
        "package-lock.json",
        format!(
            "{{\n  \"packages\": {{\n    \"node_modules/x\": {{\n      \"resolved\": \"https://registry.npmjs.org/x/-/{}.tgz\",\n      \"integrity\": \"sha512-{}==\",\n      \"note\": \"{}\"\n    }}\n  }}\n}}\n",
            token(1),
            token(2),
            token(3)
        ),
    );
    write(root, "Cargo.lock", format!("checksum = \"{}\"\n", token(4)));
    write(
        root,
        "go.sum",
        format!("github.com/a/b v1.0.0 h1:{}=\n", token(5)),
    );
    write(
        root,
        "dist/app.js.map",
        format!("{{\"mappings\":\"{}\"}}\n", token(6)),
    );
    write(
        root,
        "dist/app.min.js",
        format!("var k=\"{}\";\n", token(7)),
    );
    let minified = format!(
        "!function(){{{}var k=\"{}\";}}();\n",
        "var a=1,b=2,c=3;".repeat(400),
        token(8)
    );
    write(root, "dist/bundle.js", minified);
    write(root, "src/app.js", format!("const k = \"{}\";\n", token(9)));
    let (_, found, stderr) = json_scan(root, &cfg, &[]);
    let got: Vec<(String, u64)> = found
        .iter()
        .map(|f| {
            (
                f["path"].as_str().expect("path").to_owned(),
                f["line"].as_u64().expect("line"),
            )
        })
        .collect();
    // The lockfile's non-checksum field is still scanned. Generated files (judged by
    // content: a source map, a minified bundle; the one-line `app.min.js` is neither) are
    // still scanned by format-specific rules such as the demo token's.
    assert_eq!(
        got,
        vec![
            ("dist/app.js.map".into(), 1),
            ("dist/app.min.js".into(), 1),
            ("dist/bundle.js".into(), 1),
            ("package-lock.json".into(), 6),
            ("src/app.js".into(), 1)
        ]
    );
    assert!(stderr.contains("2 generated"), "{stderr}");
}

#[test]
fn large_files_are_skipped_and_counted() {
    let (_c, cfg) = config();
    let tree = tempfile::tempdir().expect("tempdir");
    let root = tree.path();
    write(root, "big.txt", format!("{}{T1}\n", "a\n".repeat(600)));
    write(root, "small.txt", format!("{T2}\n"));
    let (_, found, stderr) = json_scan(root, &cfg, &["--max-file-size", "1000"]);
    assert_eq!(paths(&found), vec!["small.txt"]);
    assert!(stderr.contains("1 large"), "{stderr}");
}

#[test]
fn unreadable_directory_is_reported_and_counted() {
    use std::os::unix::fs::PermissionsExt;
    let (c, cfg) = config();
    let tree = tempfile::tempdir().expect("tempdir");
    let root = tree.path();
    write(root, "locked/a.env", format!("{T1}\n"));
    write(root, "open.env", format!("{T2}\n"));
    let locked = root.join("locked");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).expect("chmod");
    let mut cmd = if fs::read_dir(&locked).is_ok() {
        // Running as root, which reads anything: run the scan as `nobody` instead, over a
        // tree it may read except for `locked`.
        for dir in [root, c.path()] {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(assert_cmd::cargo::cargo_bin("secrets-guard"))
            .current_dir(root)
            .env("NO_COLOR", "1");
        cmd
    } else {
        sg(root)
    };
    let r = run(cmd.args(["scan", "--format", "json", "--config"]).arg(&cfg));
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).expect("chmod");
    // Fails closed: the rest is scanned and reported, then exit 2.
    assert_eq!(r.code, 2, "{}", r.stderr);
    let found: Vec<Value> = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(paths(&found), vec!["open.env"]);
    assert!(r.stderr.contains("locked"), "{}", r.stderr);
    assert!(r.stderr.contains("1 unreadable"), "{}", r.stderr);
}

#[test]
fn exit_codes() {
    let (_c, cfg) = config();
    let tree = tempfile::tempdir().expect("tempdir");
    let root = tree.path();
    write(root, "clean.txt", "nothing to see\n");
    let r = run(sg(root).args(["scan", "--config"]).arg(&cfg));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert!(r.stderr.contains("0 findings"), "{}", r.stderr);

    write(root, "leak.env", format!("{T1}\n"));
    assert_eq!(run(sg(root).args(["scan", "--config"]).arg(&cfg)).code, 1);
    let r = run(sg(root)
        .args(["scan", "--exit-code", "7", "--config"])
        .arg(&cfg));
    assert_eq!(r.code, 7);

    let r = run(sg(root).args(["scan", "no-such-dir", "--config"]).arg(&cfg));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no-such-dir"), "{}", r.stderr);

    write(root, "bad.toml", "[[rules]]\nid = \"x\"\nregex = \n");
    let r = run(sg(root).args(["scan", "--config", "bad.toml"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("bad.toml:3"), "{}", r.stderr);

    let r = run(sg(root).args(["scan", "--format", "xml"]));
    assert_eq!(r.code, 2);
}

#[test]
fn discovered_config_applies_and_does_not_report_itself() {
    let tree = tempfile::tempdir().expect("tempdir");
    let root = tree.path();
    // The config's own text holds a token-shaped string; it must not be a finding.
    write(
        root,
        ".secrets-guard.toml",
        format!("{RULES}\n# e.g. {}\n", token(11)),
    );
    write(root, "app.env", format!("{T1}\n"));
    let r = run(sg(root).args(["scan", "--format", "json"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let found: Vec<Value> = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(paths(&found), vec!["app.env"]);
    assert_eq!(found[0]["rule_id"], "demo-token");
}

#[test]
fn json_report_fields() {
    let (_c, cfg) = config();
    let tree = tempfile::tempdir().expect("tempdir");
    let root = tree.path();
    write(root, "app.env", format!("A=1\nTOKEN={T1}\n"));
    let (_, found, _) = json_scan(root, &cfg, &[]);
    assert_eq!(found.len(), 1);
    let f = found[0].as_object().expect("object");
    let mut keys: Vec<&str> = f.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        vec![
            "column",
            "description",
            "end_column",
            "end_line",
            "entropy",
            "fingerprint",
            "line",
            "path",
            "rule_id",
            "secret",
            "validated"
        ]
    );
    assert_eq!(f["rule_id"], "demo-token");
    assert_eq!(f["description"], "Demo token");
    assert_eq!(f["path"], "app.env");
    assert_eq!(
        (&f["line"], &f["column"]),
        (&Value::from(2), &Value::from(7))
    );
    assert_eq!(
        (&f["end_line"], &f["end_column"]),
        (&Value::from(2), &Value::from(31))
    );
    assert_eq!(f["secret"], "dtk_…");
    assert!(f["fingerprint"]
        .as_str()
        .is_some_and(|s| s.starts_with("demo-token:app.env:") && !s.contains(T1)));
    assert!(f["entropy"].as_f64().is_some_and(|e| e > 3.0));
    assert_eq!(f["validated"], false);

    let (_, found, _) = json_scan(root, &cfg, &["--show-secrets"]);
    assert_eq!(found[0]["secret"], T1);
}

#[test]
fn sarif_report_has_the_required_fields() {
    let (_c, cfg) = config();
    let tree = tempfile::tempdir().expect("tempdir");
    let root = tree.path();
    write(root, "dir one/app.env", format!("TOKEN={T1}\n"));
    let r = run(sg(root)
        .args(["scan", "--format", "sarif", "--show-secrets", "--config"])
        .arg(&cfg));
    assert_eq!(r.code, 1);
    assert!(!r.stdout.contains(T1), "SARIF never holds the full secret");
    let log: Value = serde_json::from_str(&r.stdout).expect("SARIF parses");
    assert!(log["$schema"].as_str().is_some_and(|s| s.contains("sarif")));
    assert_eq!(log["version"], "2.1.0");
    let driver = &log["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "secrets-guard");
    assert!(driver["version"].is_string());
    assert!(driver["informationUri"].is_string());
    let rule = &driver["rules"][0];
    assert_eq!(rule["id"], "demo-token");
    assert_eq!(rule["name"], "DemoToken");
    assert_eq!(rule["shortDescription"]["text"], "Demo token");
    assert!(rule["fullDescription"]["text"]
        .as_str()
        .is_some_and(|t| t.contains("Opens the demo vault")));
    assert_eq!(rule["helpUri"], "https://example.com/demo-tokens");
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "demo-token");
    assert_eq!(result["ruleIndex"], 0);
    assert_eq!(result["level"], "error");
    assert!(result["message"]["text"]
        .as_str()
        .is_some_and(|t| t.contains("dtk_…")));
    let loc = &result["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "dir%20one/app.env");
    assert_eq!(loc["region"]["startLine"], 1);
    assert_eq!(loc["region"]["startColumn"], 7);
    assert_eq!(loc["region"]["endLine"], 1);
    assert_eq!(loc["region"]["endColumn"], 31);
    assert!(result["partialFingerprints"]["secretsGuard/v1"]
        .as_str()
        .is_some_and(|s| s.starts_with("demo-token:dir one/app.env:")));
}

#[test]
fn output_file_gets_the_report_and_stdout_stays_empty() {
    let (_c, cfg) = config();
    let tree = tempfile::tempdir().expect("tempdir");
    let root = tree.path();
    write(root, "app.env", format!("TOKEN={T1}\n"));
    let out = tempfile::tempdir().expect("tempdir");
    let report = out.path().join("report.json");
    let r = run(sg(root)
        .args(["scan", "--format", "json", "--output"])
        .arg(&report)
        .arg("--config")
        .arg(&cfg));
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, "");
    let found: Vec<Value> =
        serde_json::from_str(&fs::read_to_string(&report).expect("report written")).expect("json");
    assert_eq!(found.len(), 1);
    // Only the report: no temporary file left behind.
    assert_eq!(fs::read_dir(out.path()).expect("list").count(), 1);
}

#[test]
fn baseline_round_trip() {
    let (_c, cfg) = config();
    let tree = tempfile::tempdir().expect("tempdir");
    let root = tree.path();
    write(root, "a.env", format!("A=1\nTOKEN={T1}\n"));
    write(root, "b/c.py", format!("k = \"{T2}\"\n"));
    let r = run(sg(root)
        .args(["baseline", ".", "--output", "bl.json", "--config"])
        .arg(&cfg));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = fs::read_to_string(root.join("bl.json")).expect("baseline written");
    assert!(!text.contains(T1) && !text.contains(T2), "{text}");
    assert!(!text.contains("line"), "{text}");
    let doc: Value = serde_json::from_str(&text).expect("json");
    let entries = doc["findings"].as_array().expect("findings");
    assert_eq!(entries.len(), 2);
    for e in entries {
        let mut keys: Vec<&str> = e
            .as_object()
            .expect("obj")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, vec!["fingerprint", "path", "rule_id"]);
    }
    // Writing it again gives the same bytes.
    run(sg(root)
        .args(["baseline", ".", "--output", "bl.json", "--config"])
        .arg(&cfg));
    assert_eq!(
        fs::read_to_string(root.join("bl.json")).expect("read"),
        text
    );

    let (code, found, _) = json_scan(root, &cfg, &["--baseline", "bl.json"]);
    assert_eq!((code, found.len()), (0, 0));

    // Lines move: still accepted.
    write(root, "a.env", format!("# moved\n\n\nA=1\nTOKEN={T1}\n"));
    let (code, found, _) = json_scan(root, &cfg, &["--baseline", "bl.json"]);
    assert_eq!((code, found.len()), (0, 0));

    // A different secret on the same line is new.
    write(
        root,
        "a.env",
        format!("# moved\n\n\nA=1\nTOKEN={T1} {T3}\n"),
    );
    let (code, found, _) = json_scan(root, &cfg, &["--baseline", "bl.json"]);
    assert_eq!(code, 1);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["line"], 5);
    assert_eq!(found[0]["column"], 32);

    write(root, "broken.json", "{\"version\": 1,\n \"findings\": [\n");
    let r = run(sg(root)
        .args(["scan", "--baseline", "broken.json", "--config"])
        .arg(&cfg));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("broken.json"), "{}", r.stderr);
}

#[test]
fn same_output_whatever_the_thread_count() {
    let (_c, cfg) = config();
    let tree = tempfile::tempdir().expect("tempdir");
    let root = tree.path();
    let mut expected = 0;
    for i in 0..400 {
        let mut text = String::new();
        for j in 0..(i % 4) {
            text.push_str(&format!("line {j}\nkey_{j} = \"{}\"\n", token(i * 10 + j)));
            expected += 1;
        }
        text.push_str("fn main() {}\n");
        write(root, &format!("d{}/e{}/f{i}.txt", i % 7, i % 3), text);
    }
    let one = run(sg(root)
        .args(["scan", "--format", "json", "--threads", "1", "--config"])
        .arg(&cfg));
    let two = run(sg(root)
        .args(["scan", "--format", "json", "--threads", "2", "--config"])
        .arg(&cfg));
    assert_eq!(one.code, 1);
    assert_eq!(one.stdout, two.stdout);
    let found: Vec<Value> = serde_json::from_str(&one.stdout).expect("json");
    assert_eq!(found.len(), expected);
    let keys: Vec<(String, u64)> = found
        .iter()
        .map(|f| {
            (
                f["path"].as_str().expect("path").to_owned(),
                f["line"].as_u64().expect("line"),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "sorted by path, then position");
}

#[test]
fn default_rules_find_a_github_token() {
    let tree = tempfile::tempdir().expect("tempdir");
    let root = tree.path();
    write(
        root,
        ".env",
        "GITHUB_TOKEN=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\n",
    );
    let r = run(sg(root).args(["scan", "--format", "json"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let found: Vec<Value> = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["rule_id"], "github-pat");
    assert_eq!(found[0]["validated"], true);
    assert_eq!(found[0]["secret"], "ghp_…");
    assert_eq!(found[0]["column"], 14);

    // A baseline in the tree (its fingerprints read like `api-key:path:hex`) is never
    // itself a finding, and accepts the token.
    let r = run(sg(root).args(["baseline", "."]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(root.join(".secrets-guard-baseline.json").is_file());
    let r = run(sg(root).args(["scan", "--format", "json"]));
    let found: Vec<Value> = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(paths(&found), vec![".env"]);
    let r = run(sg(root).args(["scan", "--baseline", ".secrets-guard-baseline.json"]));
    assert_eq!(r.code, 0, "{}", r.stdout);
}
