//! Report writers: human text, JSON and SARIF 2.1.0, plus the stderr summary. Writers
//! redact secrets to their first four characters unless asked to show them; SARIF, which
//! ends up in code-scanning dashboards, never carries a full secret.

use crate::error::EngineError;
use crate::finding::{Finding, ScanStats};
use crate::unread::{escape_controls, Skipped, Unreadable};
use serde_json::{json, Map, Value};
use sg_rules::{Rule, RuleSet};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// The report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Human,
    /// The findings as a JSON array.
    Json,
    /// `{"findings": [...], "skipped": [...], "errors": [...]}`: the findings and, by name,
    /// what the scan skipped or could not read.
    JsonReport,
    Sarif,
}

/// What a scan did not read, by name, for the report formats that carry it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unread<'a> {
    pub skipped: &'a [Skipped],
    pub errors: &'a [Unreadable],
}

/// How to write a report.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportOptions {
    /// Print secrets in full (human and JSON only).
    pub show_secrets: bool,
    /// ANSI colour in the human format.
    pub color: bool,
    /// SARIF: describe every rule of the rule set, not only the rules that fired.
    pub sarif_all_rules: bool,
}

const TOOL_NAME: &str = "secrets-guard";
const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
const TOOL_URI: &str = "https://example.invalid/secrets-guard";
const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const SARIF_FINGERPRINT: &str = "secretsGuard/v1";

/// The secret as reports show it by default: its first four characters, then `…`. A
/// secret of eight characters or fewer shows at most half of itself, so the redaction
/// never gives the whole of a short secret away.
pub fn redact(secret: &str) -> String {
    let count = secret.chars().count();
    if count == 0 {
        return String::new();
    }
    let shown = if count <= 8 { (count / 2).min(4) } else { 4 };
    let mut out: String = secret.chars().take(shown).collect();
    out.push('…');
    out
}

/// Renders `findings` in `format`. `rules` supplies SARIF's rule metadata (impact,
/// references); without it SARIF rules carry only what the findings say.
pub fn render(
    format: ReportFormat,
    findings: &[Finding],
    rules: Option<&RuleSet>,
    options: ReportOptions,
) -> Result<Vec<u8>, EngineError> {
    render_with_unread(format, findings, Unread::default(), rules, options)
}

/// [`render`], with what the scan skipped or could not read: listed by `json-report`, and
/// in SARIF as the invocation's notifications (an unreadable input makes the invocation
/// unsuccessful).
pub fn render_with_unread(
    format: ReportFormat,
    findings: &[Finding],
    unread: Unread<'_>,
    rules: Option<&RuleSet>,
    options: ReportOptions,
) -> Result<Vec<u8>, EngineError> {
    let mut out = Vec::new();
    match format {
        ReportFormat::Human => write_human(&mut out, findings, options),
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &json_findings(findings, options))?;
            out.push(b'\n');
        }
        ReportFormat::JsonReport => {
            let report = json!({
                "findings": json_findings(findings, options),
                "skipped": unread.skipped,
                "errors": unread.errors,
            });
            serde_json::to_writer_pretty(&mut out, &report)?;
            out.push(b'\n');
        }
        ReportFormat::Sarif => {
            let rules_shown = match (rules, options.sarif_all_rules) {
                (Some(set), true) => SarifRules::All(set),
                (Some(set), false) => SarifRules::Fired(set),
                (None, _) => SarifRules::None,
            };
            serde_json::to_writer_pretty(&mut out, &sarif_log(findings, rules_shown, unread))?;
            out.push(b'\n');
        }
    }
    Ok(out)
}

/// `path:line:col  rule-id  description`, then the secret (redacted) indented on the next
/// line, then the environment, commit and access-store status when known.
pub fn write_human(out: &mut Vec<u8>, findings: &[Finding], options: ReportOptions) {
    let (bold, red, dim, reset) = if options.color {
        ("\x1b[1m", "\x1b[1;31m", "\x1b[2m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    for f in findings {
        let secret = shown_secret(f, options.show_secrets);
        // Writing to a Vec cannot fail.
        let _ = writeln!(
            out,
            "{bold}{}:{}:{}{reset}  {red}{}{reset}  {}",
            escape_controls(&f.path),
            f.line,
            f.column,
            f.rule_id,
            f.description
        );
        if !secret.is_empty() {
            let _ = writeln!(out, "    {secret}");
        }
        if let Some(env) = &f.environment {
            let _ = writeln!(out, "    {dim}environment:{reset} {env}");
        }
        if !f.decoded.is_empty() {
            let _ = writeln!(
                out,
                "    {dim}decoded from:{reset} {}",
                f.decoded.join(" → ")
            );
        }
        if let Some(c) = &f.commit {
            let short = &c.id[..c.id.len().min(12)];
            let _ = writeln!(
                out,
                "    {dim}commit:{reset} {short} {} <{}> {}: {}",
                c.author, c.email, c.date, c.summary
            );
        }
        if let Some(a) = &f.access {
            let mut parts = vec![a.status.clone()];
            for (label, value) in [
                ("subaccount", &a.subaccount),
                ("environment", &a.environment),
                ("key", &a.key_id),
                ("name", &a.key_name),
            ] {
                if let Some(v) = value {
                    parts.push(format!("{label} {v}"));
                }
            }
            let _ = writeln!(out, "    {dim}access:{reset} {}", parts.join(", "));
        }
    }
}

fn shown_secret(f: &Finding, show_secrets: bool) -> String {
    if show_secrets {
        f.secret.clone()
    } else {
        redact(&f.secret)
    }
}

/// The JSON report: the findings as [`Finding`] serialises them, secrets redacted unless
/// `show_secrets`.
pub fn json_findings(findings: &[Finding], options: ReportOptions) -> Vec<Finding> {
    findings
        .iter()
        .map(|f| Finding {
            secret: shown_secret(f, options.show_secrets),
            ..f.clone()
        })
        .collect()
}

/// Which rules a SARIF log describes.
#[derive(Debug, Clone, Copy)]
pub enum SarifRules<'a> {
    /// Every rule of the set (`--sarif-all-rules`).
    All(&'a RuleSet),
    /// The rules that fired, with the set's metadata.
    Fired(&'a RuleSet),
    /// The rules that fired, described from the findings alone.
    None,
}

/// A SARIF 2.1.0 log that GitHub code scanning accepts, describing every rule of `rules`.
pub fn sarif(findings: &[Finding], rules: Option<&RuleSet>) -> Value {
    let rules = rules.map_or(SarifRules::None, SarifRules::All);
    sarif_log(findings, rules, Unread::default())
}

/// A SARIF 2.1.0 log: the results, the rules `rules` asks for, and one invocation whose
/// `executionSuccessful` is false when an input could not be read; each unread input is a
/// `toolExecutionNotifications` entry (`error` for unreadable, `note` for skipped).
pub fn sarif_log(findings: &[Finding], rules: SarifRules<'_>, unread: Unread<'_>) -> Value {
    let mut ids: Vec<&str> = Vec::new();
    let mut descriptors: Vec<Value> = Vec::new();
    let set = match rules {
        SarifRules::All(set) | SarifRules::Fired(set) => Some(set),
        SarifRules::None => None,
    };
    if let SarifRules::All(set) = rules {
        for rule in set.rules.iter().filter(|r| !r.skip_report) {
            ids.push(&rule.id);
            descriptors.push(rule_descriptor(&rule.id, &rule.description, Some(rule)));
        }
    }
    for f in findings {
        if !ids.contains(&f.rule_id.as_str()) {
            ids.push(&f.rule_id);
            let rule = set.and_then(|s| s.get(&f.rule_id));
            descriptors.push(rule_descriptor(&f.rule_id, &f.description, rule));
        }
    }
    let generic: Vec<bool> = match set {
        Some(set) => ids
            .iter()
            .map(|id| {
                set.get(id)
                    .is_some_and(|r| r.tags.iter().any(|t| t == "generic"))
            })
            .collect(),
        None => vec![false; ids.len()],
    };
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let index = ids.iter().position(|id| *id == f.rule_id).unwrap_or(0);
            sarif_result(f, index, generic.get(index).copied().unwrap_or(false))
        })
        .collect();
    let notification = |level: &str, path: &str, text: String| {
        json!({
            "level": level,
            "message": { "text": text },
            "locations": [{
                "physicalLocation": { "artifactLocation": { "uri": artifact_uri(path) } }
            }],
        })
    };
    let notifications: Vec<Value> = unread
        .errors
        .iter()
        .map(|e| notification("error", &e.path, format!("{}: {}", e.path, e.reason)))
        .chain(
            unread
                .skipped
                .iter()
                .map(|s| notification("note", &s.path, format!("{}: {}", s.name(), s.reason))),
        )
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": TOOL_NAME,
                    "version": TOOL_VERSION,
                    "semanticVersion": TOOL_VERSION,
                    "informationUri": TOOL_URI,
                    "rules": descriptors,
                }
            },
            "invocations": [{
                "executionSuccessful": unread.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }]
    })
}

fn rule_descriptor(id: &str, description: &str, rule: Option<&Rule>) -> Value {
    let impact = rule.and_then(|r| r.impact.as_deref());
    let full = impact.map_or_else(|| description.to_owned(), |i| format!("{description}. {i}"));
    let mut help = full.clone();
    let references: Vec<&String> = rule
        .map(|r| r.references.iter().collect())
        .unwrap_or_default();
    if !references.is_empty() {
        help.push_str("\n\nReferences:");
        for r in &references {
            help.push_str("\n- ");
            help.push_str(r);
        }
    }
    let mut d = Map::new();
    d.insert("id".into(), json!(id));
    d.insert("name".into(), json!(camel_case(id)));
    d.insert("shortDescription".into(), json!({ "text": description }));
    d.insert("fullDescription".into(), json!({ "text": full }));
    d.insert("help".into(), json!({ "text": help }));
    // SARIF wants an absolute URI here; relative references stay in the help text.
    if let Some(uri) = references
        .iter()
        .find(|r| r.starts_with("https://") || r.starts_with("http://"))
    {
        d.insert("helpUri".into(), json!(uri));
    }
    let tags: Vec<&String> = rule.map(|r| r.tags.iter().collect()).unwrap_or_default();
    let mut props = json!({ "tags": tags });
    props["security-severity"] = json!("8.0");
    d.insert("properties".into(), props);
    Value::Object(d)
}

fn sarif_result(f: &Finding, rule_index: usize, generic: bool) -> Value {
    let redacted = redact(&f.secret);
    let text = if redacted.is_empty() {
        format!("{} in {}", f.description, f.path)
    } else {
        format!("{}: {redacted}", f.description)
    };
    let mut result = json!({
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": if generic { "warning" } else { "error" },
        "message": { "text": text },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": artifact_uri(&f.path) },
                "region": {
                    "startLine": f.line,
                    "startColumn": f.column,
                    "endLine": f.end_line,
                    "endColumn": f.end_column,
                }
            }
        }],
        "partialFingerprints": { SARIF_FINGERPRINT: f.fingerprint },
    });
    let mut props = Map::new();
    if let Some(c) = &f.commit {
        props.insert(
            "commit".into(),
            json!({
                "id": c.id,
                "author": c.author,
                "email": c.email,
                "date": c.date,
                "summary": c.summary,
            }),
        );
    }
    if let Some(env) = &f.environment {
        props.insert("environment".into(), json!(env));
    }
    if let Some(a) = &f.access {
        props.insert("access".into(), json!(a));
    }
    props.insert("validated".into(), json!(f.validated));
    result["properties"] = Value::Object(props);
    result
}

/// `github-pat` → `GithubPat`: SARIF's friendly rule name.
fn camel_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// A relative path as a URI reference (percent-encoded); an absolute path as a `file://` URI.
fn artifact_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The one-line summary printed on stderr after every scan.
pub fn summary(
    stats: &ScanStats,
    skipped_generated: u64,
    findings: usize,
    elapsed: Duration,
) -> String {
    let secs = elapsed.as_secs_f64();
    let mb = stats.bytes as f64 / 1_000_000.0;
    let rate = if secs > 0.0 { mb / secs } else { 0.0 };
    let plural = if findings == 1 { "" } else { "s" };
    format!(
        "scanned {} files ({mb:.1} MB) in {secs:.2}s ({rate:.0} MB/s); skipped {} binary, {} large, {skipped_generated} generated; {} unreadable; {findings} finding{plural}",
        stats.files, stats.skipped_binary, stats.skipped_large, stats.errors
    )
}

/// How a report reaches its target path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteStrategy {
    /// A temporary file in the same directory, then a rename over the target.
    TempAndRename,
    /// Straight into the target: it is a device, a FIFO or a socket, which a rename would
    /// replace with a regular file (`--output /dev/null` must stay `/dev/null`).
    Direct,
}

fn write_strategy(path: &Path) -> WriteStrategy {
    match std::fs::symlink_metadata(path) {
        // A rename would replace the link itself. `/dev/stdout` links to
        // `/proc/self/fd/1`, whose target is whatever stdout is (a pipe, a terminal, a
        // redirected file): write through the link, never over it.
        Ok(meta) if meta.file_type().is_symlink() => WriteStrategy::Direct,
        Ok(meta) if !meta.is_file() && !meta.is_dir() => WriteStrategy::Direct,
        _ => WriteStrategy::TempAndRename,
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename,
/// so the file is never seen half-written. A target that exists and is not a regular file
/// (a device, a FIFO, a symlink such as `/dev/stdout`) is written directly instead.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    let write_err = |source| EngineError::Write {
        path: path.to_path_buf(),
        reason: source,
    };
    if write_strategy(path) == WriteStrategy::Direct {
        let mut target = std::fs::OpenOptions::new()
            .write(true)
            // Through a link to a regular file, the report replaces the old content.
            .truncate(std::fs::metadata(path).is_ok_and(|m| m.is_file()))
            .open(path)
            .map_err(write_err)?;
        target.write_all(bytes).map_err(write_err)?;
        return target.flush().map_err(write_err);
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".secrets-guard-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(write_err)?;
    tmp.write_all(bytes).map_err(write_err)?;
    tmp.as_file().sync_all().map_err(write_err)?;
    tmp.persist(path).map_err(|e| write_err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{fingerprint, CommitInfo};

    fn finding() -> Finding {
        Finding {
            rule_id: "demo-token".into(),
            description: "Demo token".into(),
            path: "dir with space/a.env".into(),
            line: 2,
            column: 5,
            end_line: 2,
            end_column: 29,
            secret: "dtk_Ab3De6Gh9Jk2Mn5Pq8St".into(),
            fingerprint: fingerprint("demo-token", "a.env", b"dtk_Ab3De6Gh9Jk2Mn5Pq8St"),
            entropy: 4.1,
            validated: false,
            environment: Some("prod".into()),
            commit: Some(CommitInfo {
                id: "0123456789abcdef0123456789abcdef01234567".into(),
                author: "Ann".into(),
                email: "ann@example.com".into(),
                date: "2026-11-27T00:00:00Z".into(),
                summary: "add config".into(),
            }),
            access: None,
            decoded: Vec::new(),
            path_bytes: None,
        }
    }

    #[test]
    fn redaction_keeps_four_characters_and_hides_short_secrets() {
        assert_eq!(redact("dtk_Ab3De6Gh9Jk2"), "dtk_…");
        assert_eq!(redact("abcdef"), "abc…");
        assert_eq!(redact("ab"), "a…");
        assert_eq!(redact("é€ab1234567"), "é€ab…");
        assert_eq!(redact(""), "");
    }

    #[test]
    fn human_lines() {
        let text = render(
            ReportFormat::Human,
            &[finding()],
            None,
            ReportOptions::default(),
        )
        .expect("renders");
        let text = String::from_utf8(text).expect("utf-8");
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("dir with space/a.env:2:5  demo-token  Demo token")
        );
        assert_eq!(lines.next(), Some("    dtk_…"));
        assert_eq!(lines.next(), Some("    environment: prod"));
        assert!(lines.next().is_some_and(|l| l.contains("0123456789ab Ann")));
        assert!(!text.contains("Ab3De6"));
    }

    #[test]
    fn sarif_has_what_code_scanning_needs_and_no_secret() {
        let log = sarif(&[finding()], None);
        assert_eq!(log["version"], "2.1.0");
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "demo-token");
        assert_eq!(run["tool"]["driver"]["rules"][0]["name"], "DemoToken");
        let r = &run["results"][0];
        assert_eq!(r["ruleIndex"], 0);
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "dir%20with%20space/a.env");
        assert_eq!(loc["region"]["startColumn"], 5);
        assert_eq!(loc["region"]["endColumn"], 29);
        assert_eq!(r["properties"]["commit"]["author"], "Ann");
        assert!(r["partialFingerprints"][SARIF_FINGERPRINT]
            .as_str()
            .is_some_and(|s| s.starts_with("demo-token:")));
        assert!(!log.to_string().contains("Ab3De6"));
    }

    #[test]
    fn atomic_write_replaces_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.json");
        write_atomically(&path, b"one").expect("write");
        write_atomically(&path, b"two").expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    }

    #[test]
    fn regular_files_and_new_paths_go_through_a_rename() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new.json");
        assert_eq!(write_strategy(&path), WriteStrategy::TempAndRename);
        std::fs::write(&path, b"old").expect("write");
        assert_eq!(write_strategy(&path), WriteStrategy::TempAndRename);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_written_through_not_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("real.json");
        std::fs::write(&target, b"a much longer old report").expect("write");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert_eq!(write_strategy(&link), WriteStrategy::Direct);
        write_atomically(&link, b"new").expect("write through the link");
        assert!(std::fs::symlink_metadata(&link)
            .expect("stat")
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).expect("read"), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_receives_the_report() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("pipe");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
        assert_eq!(write_strategy(&fifo), WriteStrategy::Direct);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(&fifo).expect("read fifo"))
        };
        write_atomically(&fifo, b"report bytes").expect("write to fifo");
        assert_eq!(reader.join().expect("reader"), b"report bytes");
        let meta = std::fs::symlink_metadata(&fifo).expect("stat");
        assert!(!meta.is_file(), "the FIFO was not replaced by a file");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    }
}
