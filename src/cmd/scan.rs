//! `secrets-guard scan`: the working-tree scan, and `report`, which every scan mode
//! (working tree, staged, range, history) goes through.

use anyhow::Context;
use clap::{Args, ValueEnum};
use sg_engine::report::{self, ReportFormat, ReportOptions};
use sg_engine::{Baseline, Finding, ScanStats, Scanner, WalkOptions};
use sg_rules::RuleSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The baseline file `secrets-guard baseline` writes by default.
pub const DEFAULT_BASELINE: &str = ".secrets-guard-baseline.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
    Sarif,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GitReaderArg {
    Packs,
    Odb,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan (working-tree mode), or the repository (git modes).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Rule config (`.secrets-guard.toml` or a gitleaks config). Default: `.secrets-guard.toml` at the scan root, if present.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Report only findings that are not in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Report format: `path:line:col` lines for people, a JSON array, or SARIF 2.1.0 for code scanning.
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print secrets in full instead of redacted.
    #[arg(long)]
    pub show_secrets: bool,
    /// Skip files (and blobs) larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_file_size: u64,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Exit code to use when there are findings.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub exit_code: u8,
    /// Scan what the index holds for the paths staged for commit.
    #[arg(long, conflicts_with_all = ["git"])]
    pub staged: bool,
    /// With --staged: report secrets on every line of the staged files, not only added lines.
    #[arg(long, requires = "staged")]
    pub all_lines: bool,
    /// Scan git history (all refs, or --branch, or --range / --since).
    #[arg(long)]
    pub git: bool,
    /// With --git: only history reachable from this ref.
    #[arg(long, requires = "git")]
    pub branch: Option<String>,
    /// With --git: only the lines added by the commits in BASE..HEAD.
    #[arg(long, requires = "git", conflicts_with = "since")]
    pub range: Option<String>,
    /// With --git: the same as --range REF..HEAD.
    #[arg(long, requires = "git")]
    pub since: Option<String>,
    /// With --git: when the repository lacks blobs (a partial clone), scan what is present
    /// and list the missing blobs as skipped instead of failing.
    #[arg(long, requires = "git")]
    pub allow_missing_objects: bool,
    /// With --git: how history blobs are read: `packs` decodes each pack once with its
    /// deltas resolved in parallel; `odb` looks each blob up through libgit2 (the former reader).
    #[arg(
        long,
        value_enum,
        requires = "git",
        default_value = "packs",
        hide = true
    )]
    pub git_reader: GitReaderArg,
    /// Look up every secrets-guard key found in this access store.
    #[arg(long, env = "SECRETS_GUARD_DB")]
    pub access_db: Option<PathBuf>,
    /// Look up every secrets-guard key found on this access server (only the keys' hashes
    /// are sent), as the current access session's user.
    #[arg(long, value_name = "URL", conflicts_with = "access_db")]
    pub access_server: Option<String>,
    /// Revoke every live leaked secrets-guard key, as the current access session's user.
    #[arg(long)]
    pub revoke_leaked: bool,
}

pub fn run(args: &ScanArgs) -> anyhow::Result<ExitCode> {
    if args.staged || args.git {
        return super::scan_git::run(args);
    }
    let started = Instant::now();
    let (outcome, scanner) = walk(
        &args.paths,
        args.config.as_deref(),
        args.baseline.iter().cloned().collect(),
        args.threads,
        args.max_file_size,
    )?;
    for problem in &outcome.problems {
        eprintln!("warning: {problem}");
    }
    report(
        args,
        outcome.findings,
        &outcome.stats,
        outcome.skipped_generated,
        scanner.rules(),
        started.elapsed(),
    )
}

/// The working-tree scan shared by `scan` and `baseline`: config discovery at the first
/// path, then the parallel walk. The config in use and baselines (`exclude`, plus the
/// default baseline file at the root) are not scanned: rule examples would report
/// themselves, and a baseline's fingerprints look like `api-key:path:hex` assignments.
pub(crate) fn walk(
    paths: &[PathBuf],
    config: Option<&Path>,
    mut exclude: Vec<PathBuf>,
    threads: Option<usize>,
    max_file_size: u64,
) -> anyhow::Result<(sg_engine::WalkOutcome, Scanner)> {
    let root = scan_root(paths);
    let config_in_use = config
        .map(Path::to_path_buf)
        .or_else(|| Some(root.join(".secrets-guard.toml")).filter(|p| p.is_file()));
    let scanner = build_scanner(config, &root)?;
    exclude.extend(config_in_use);
    exclude.push(root.join(DEFAULT_BASELINE));
    let options = WalkOptions {
        threads: threads.unwrap_or(0),
        max_file_size,
        exclude,
    };
    let outcome = sg_engine::scan_paths(&scanner, paths, &options)?;
    Ok((outcome, scanner))
}

/// Where `.secrets-guard.toml` is looked for: the first path if it is a directory, else
/// the directory holding it.
fn scan_root(paths: &[PathBuf]) -> PathBuf {
    let first = paths.first().cloned().unwrap_or_else(|| PathBuf::from("."));
    if first.is_dir() {
        first
    } else {
        match first.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

/// Builds the scanner for a scan rooted at `root`: `--config` if given, else
/// `.secrets-guard.toml` in `root` if present, else the default rules. Shared by every scan mode.
pub fn load_scanner(args: &ScanArgs, root: &Path) -> anyhow::Result<Scanner> {
    build_scanner(args.config.as_deref(), root)
}

fn build_scanner(config: Option<&Path>, root: &Path) -> anyhow::Result<Scanner> {
    let discovered = root.join(".secrets-guard.toml");
    let rules = match (config, discovered.is_file()) {
        (Some(path), _) => RuleSet::from_config_file(path)?,
        (None, true) => RuleSet::from_config_file(&discovered)?,
        (None, false) => RuleSet::default_rules().context("the built-in rules")?,
    };
    Ok(Scanner::new(rules))
}

/// Reports findings the same way for every scan mode: findings enrichment (access-store
/// lookups), baseline filtering, revocation, the chosen format, the summary on stderr, and
/// the exit code. `rules` are the scanner's own (SARIF's rule metadata), and
/// `skipped_generated` counts files skipped as generated, where the mode knows it.
pub fn report(
    args: &ScanArgs,
    findings: Vec<Finding>,
    stats: &ScanStats,
    skipped_generated: u64,
    rules: &RuleSet,
    elapsed: Duration,
) -> anyhow::Result<ExitCode> {
    // 1. Enrichment: what the access store knows about leaked secrets-guard keys.
    let mut findings = findings;
    let store =
        super::leaks::open_access(args.access_db.as_deref(), args.access_server.as_deref())?;
    if let Some(access) = &store {
        super::leaks::attach_access_status(access, &mut findings)?;
        super::leaks::report_leaks(access, &findings)?;
    } else if args.revoke_leaked {
        anyhow::bail!("--revoke-leaked needs --access-db PATH or --access-server URL");
    }
    // 2. Baseline: drop what the team has accepted, except live leaked keys, which must be
    // revoked rather than accepted.
    let mut findings = match &args.baseline {
        Some(path) => {
            let baseline = Baseline::load(path)?;
            let (live, rest): (Vec<Finding>, Vec<Finding>) =
                findings.into_iter().partition(super::leaks::is_live_leak);
            let mut kept = live;
            kept.extend(baseline.filter(rest));
            kept
        }
        None => findings,
    };
    // 3. Revocation, when asked: every live leaked key in one transaction.
    let mut refused = None;
    if let (true, Some(store)) = (args.revoke_leaked, &store) {
        match super::leaks::revoke_live_leaks(store, &mut findings)? {
            super::leaks::Revocation::Revoked(keys) => {
                for key in &keys {
                    let place = match &key.commit {
                        Some(commit) => format!("{} at commit {commit}", key.path),
                        None => key.path.clone(),
                    };
                    eprintln!(
                        "revoked key {} ({}, subaccount {}, {}) leaked in {place}",
                        key.key_id, key.key_name, key.subaccount, key.environment
                    );
                }
            }
            super::leaks::Revocation::Refused(reason) => refused = Some(reason),
        }
    }
    super::leaks::live_first(&mut findings);
    // 4. The report itself.
    let format = match args.format {
        OutputFormat::Human => ReportFormat::Human,
        OutputFormat::Json => ReportFormat::Json,
        OutputFormat::Sarif => ReportFormat::Sarif,
    };
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let options = ReportOptions {
        show_secrets: args.show_secrets,
        color: to_terminal && !matches!(std::env::var_os("NO_COLOR"), Some(v) if !v.is_empty()),
    };
    let bytes = report::render(format, &findings, Some(rules), options)?;
    match &args.output {
        Some(path) => report::write_atomically(path, &bytes)?,
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(&bytes).and_then(|()| out.flush()) {
                // A reader that stops early (`| head`) is not an error of the scan.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other.context("writing the report to stdout")?,
            }
        }
    }
    // 5. Summary and exit code.
    eprintln!(
        "{}",
        report::summary(stats, skipped_generated, findings.len(), elapsed)
    );
    if let Some(reason) = refused {
        eprintln!("error: nothing was revoked: {reason}");
        return Ok(ExitCode::from(super::EXIT_REFUSED));
    }
    Ok(if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(args.exit_code)
    })
}
