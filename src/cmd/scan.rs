//! `secrets-guard scan`: the working-tree scan, and `report`, which every scan mode
//! (working tree, staged, range, history) goes through.

use anyhow::Context;
use clap::{Args, ValueEnum};
use sg_engine::report::{self, ReportFormat, ReportOptions, Unread};
use sg_engine::unread::escape_controls;
use sg_engine::{Baseline, Finding, ScanStats, Scanner, Skipped, Unreadable, WalkOptions};
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
    /// `{"findings": [...], "skipped": [{path, reason}], "errors": [{path, reason}]}`.
    JsonReport,
    Sarif,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GitReaderArg {
    Packs,
    Odb,
}

/// `--threads`: at least 1 (leave it out for one per core).
fn parse_threads(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1 (leave --threads out for one thread per core)".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan (working-tree mode; `-` reads standard input), or the
    /// repository (git modes).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Rule config (`.secrets-guard.toml` or a gitleaks config). Default: `.secrets-guard.toml` at the scan root, if present.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Report only findings that are not in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Report format: `path:line:col` lines for people, a JSON array, a JSON object that also
    /// names what was skipped or unreadable (`json-report`), or SARIF 2.1.0 for code scanning.
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
    /// Warn about inputs that cannot be read instead of failing the scan (exit 2) on them.
    #[arg(long)]
    pub skip_unreadable: bool,
    /// Fail the scan (exit 2) if any file was skipped: over --max-file-size, binary or generated.
    #[arg(long)]
    pub fail_on_skip: bool,
    /// SARIF: describe every rule, not only the rules that fired.
    #[arg(long)]
    pub sarif_all_rules: bool,
    /// With `scan -`: the path standard input is reported under (and path rules see).
    #[arg(long, value_name = "PATH")]
    pub stdin_name: Option<String>,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print secrets in full instead of redacted.
    #[arg(long)]
    pub show_secrets: bool,
    /// Skip files (and blobs) larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_file_size: u64,
    /// Worker threads (default: one per core; at most 4 per core).
    #[arg(long, value_name = "N", value_parser = parse_threads)]
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
        args.stdin_name.clone(),
    )?;
    report(
        args,
        outcome.findings,
        &outcome.stats,
        outcome.skipped_generated,
        Unread {
            skipped: &outcome.skipped,
            errors: &outcome.errors,
        },
        scanner.rules(),
        started.elapsed(),
    )
}

/// The thread count to use: `requested` capped at 4 per core, with a note when lowered.
pub fn threads(requested: Option<usize>) -> Option<usize> {
    let requested = requested?;
    let (n, capped) = sg_engine::walk::cap_threads(requested);
    if capped {
        eprintln!(
            "note: --threads {requested} lowered to {n} (4 per available core): more threads \
             only contend for the same cores"
        );
    }
    Some(n)
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
    stdin_name: Option<String>,
) -> anyhow::Result<(sg_engine::WalkOutcome, Scanner)> {
    let first = paths.first().map_or(Path::new("."), PathBuf::as_path);
    let start = if first.as_os_str() == sg_engine::walk::STDIN {
        Path::new(".")
    } else {
        first
    };
    let cwd = std::env::current_dir().context("the current directory")?;
    let config_in_use = config
        .map(Path::to_path_buf)
        .or_else(|| sg_engine::discover::find_config(start, &cwd));
    let scanner = scanner_for(config_in_use.as_deref())?;
    let root = scan_root(paths);
    exclude.extend(config_in_use);
    exclude.push(root.join(DEFAULT_BASELINE));
    let progress = std::sync::Arc::new(sg_engine::walk::WalkProgress::default());
    let options = WalkOptions {
        threads: self::threads(threads).unwrap_or(0),
        max_file_size,
        exclude,
        stdin_name,
        progress: Some(progress.clone()),
    };
    let display = WalkDisplay::start(progress);
    let outcome = sg_engine::scan_paths(&scanner, paths, &options);
    display.finish();
    Ok((outcome?, scanner))
}

/// A progress spinner on stderr for a working-tree scan that runs longer than a second,
/// when stderr is a terminal: files and bytes read so far.
struct WalkDisplay {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WalkDisplay {
    fn start(progress: std::sync::Arc<sg_engine::walk::WalkProgress>) -> WalkDisplay {
        use std::sync::atomic::{AtomicBool, Ordering};
        let done = std::sync::Arc::new(AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return WalkDisplay { done, thread: None };
        }
        let stop = done.clone();
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut bar: Option<indicatif::ProgressBar> = None;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                if started.elapsed() < Duration::from_secs(1) {
                    continue;
                }
                let bar = bar.get_or_insert_with(|| {
                    let bar = indicatif::ProgressBar::new_spinner();
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{spinner} scanning: {msg} ({elapsed})",
                        )
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                    );
                    bar
                });
                let files = progress.files.load(Ordering::Relaxed);
                let mb = progress.bytes.load(Ordering::Relaxed) as f64 / 1_000_000.0;
                bar.set_message(format!("{files} files, {mb:.1} MB"));
                bar.tick();
            }
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
        });
        WalkDisplay {
            done,
            thread: Some(thread),
        }
    }

    fn finish(self) {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread {
            let _ = thread.join();
        }
    }
}

/// Where the default baseline file is looked for: the first path if it is a directory,
/// else the directory holding it.
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
/// `.secrets-guard.toml` in `root` if present, else the default rules. Shared by the git
/// scan modes, whose root is the top of the working tree.
pub fn load_scanner(args: &ScanArgs, root: &Path) -> anyhow::Result<Scanner> {
    let discovered = root.join(sg_engine::discover::CONFIG_NAME);
    let config = args
        .config
        .clone()
        .or_else(|| Some(discovered).filter(|p| p.is_file()));
    scanner_for(config.as_deref())
}

/// The config file the scan uses, for the summary.
static CONFIG_IN_USE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn scanner_for(config: Option<&Path>) -> anyhow::Result<Scanner> {
    let rules = match config {
        Some(path) => RuleSet::from_config_file(path)?,
        None => RuleSet::default_rules().context("the built-in rules")?,
    };
    let shown = config.map_or_else(
        || "the default rules (no .secrets-guard.toml found)".to_owned(),
        |p| escape_controls(&p.display().to_string()).into_owned(),
    );
    let _ = CONFIG_IN_USE.set(shown);
    Ok(Scanner::new(rules))
}

/// Reports findings the same way for every scan mode: findings enrichment (access-store
/// lookups), baseline filtering, revocation, the chosen format, the summary on stderr, and
/// the exit code. `rules` are the scanner's own (SARIF's rule metadata),
/// `skipped_generated` counts files skipped as generated, where the mode knows it, and
/// `unread` names what was skipped or could not be read: an unreadable input fails the scan
/// (exit 2) once everything else is reported, unless `--skip-unreadable`.
pub fn report(
    args: &ScanArgs,
    findings: Vec<Finding>,
    stats: &ScanStats,
    skipped_generated: u64,
    unread: Unread<'_>,
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
        OutputFormat::JsonReport => ReportFormat::JsonReport,
        OutputFormat::Sarif => ReportFormat::Sarif,
    };
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let options = ReportOptions {
        show_secrets: args.show_secrets,
        color: to_terminal && !matches!(std::env::var_os("NO_COLOR"), Some(v) if !v.is_empty()),
        sarif_all_rules: args.sarif_all_rules,
    };
    let bytes = report::render_with_unread(format, &findings, unread, Some(rules), options)?;
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
    print_unread(unread.skipped, unread.errors, args.skip_unreadable);
    if let Some(config) = CONFIG_IN_USE.get() {
        eprintln!("config: {config}");
    }
    eprintln!(
        "{}",
        report::summary(stats, skipped_generated, findings.len(), elapsed)
    );
    if let Some(reason) = refused {
        eprintln!("error: nothing was revoked: {reason}");
        return Ok(ExitCode::from(super::EXIT_REFUSED));
    }
    if !unread.errors.is_empty() && !args.skip_unreadable {
        eprintln!(
            "error: {} input(s) could not be read, so the scan cannot vouch for them (exit 2; \
             --skip-unreadable to only warn): {}",
            unread.errors.len(),
            names(unread.errors.iter().map(|e| e.path.as_str()))
        );
        return Ok(ExitCode::from(super::EXIT_INPUT_ERROR));
    }
    // Every mode names what it skips; the counts decide too, so nothing counted but
    // unnamed can pass.
    let counted = stats.skipped_binary + stats.skipped_large + skipped_generated;
    if args.fail_on_skip && (!unread.skipped.is_empty() || counted > 0) {
        let count = (unread.skipped.len() as u64).max(counted);
        let mut shown: Vec<String> = unread
            .skipped
            .iter()
            .take(SKIPPED_SHOWN)
            .map(Skipped::name)
            .collect();
        if unread.skipped.len() > SKIPPED_SHOWN {
            shown.push(format!(
                "… and {} more",
                unread.skipped.len() - SKIPPED_SHOWN
            ));
        }
        eprintln!(
            "error: {count} file(s) skipped and --fail-on-skip is set (exit 2): {}",
            if shown.is_empty() {
                "see the counts above".to_owned()
            } else {
                names(shown.iter().map(String::as_str))
            }
        );
        return Ok(ExitCode::from(super::EXIT_INPUT_ERROR));
    }
    Ok(if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(args.exit_code)
    })
}

/// How many skipped files the summary names one by one; `--format json-report` lists all.
const SKIPPED_SHOWN: usize = 20;

/// Every unreadable input, by name, then the skipped files (the first few), on stderr.
pub fn print_unread(skipped: &[Skipped], errors: &[Unreadable], skip_unreadable: bool) {
    let level = if skip_unreadable { "warning" } else { "error" };
    for e in errors {
        eprintln!("{level}: {e}");
    }
    for s in skipped.iter().take(SKIPPED_SHOWN) {
        eprintln!("skipped: {s}");
    }
    if skipped.len() > SKIPPED_SHOWN {
        eprintln!(
            "skipped: … and {} more (--format json-report lists every one)",
            skipped.len() - SKIPPED_SHOWN
        );
    }
}

/// Paths for one line of the summary, control characters escaped.
fn names<'a>(paths: impl Iterator<Item = &'a str>) -> String {
    paths
        .map(|p| escape_controls(p).into_owned())
        .collect::<Vec<_>>()
        .join(", ")
}
