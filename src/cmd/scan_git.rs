//! `scan --staged` and `scan --git` (history, `--branch`, `--range`, `--since`): builds the
//! scanner, runs the `sg_git` scan, shows progress on a terminal, and hands the findings to
//! the shared report.

use super::scan::{self, ScanArgs};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sg_git::{GitScanOptions, HistoryReader, Progress};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

pub fn run(args: &ScanArgs) -> anyhow::Result<ExitCode> {
    let repo = args
        .paths
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    let start = Instant::now();
    let range = match (&args.range, &args.since) {
        (Some(range), _) => Some(range.clone()),
        (None, Some(since)) => Some(format!("{since}..HEAD")),
        (None, None) => None,
    };
    let scanner = match (&range, args.staged) {
        (Some(spec), false) => range_scanner(args, &repo, spec)?,
        _ => scan::load_scanner(args, &sg_git::config_root(&repo))?,
    };

    let bar = ProgressDisplay::new(args.git && args.range.is_none() && args.since.is_none());
    let on_progress = |p: Progress| bar.update(p);
    let opts = GitScanOptions {
        max_file_size: args.max_file_size,
        threads: scan::threads(args.threads),
        all_lines: args.all_lines,
        progress: bar
            .bar
            .as_ref()
            .map(|_| &on_progress as &(dyn Fn(Progress) + Sync)),
        allow_missing_objects: args.allow_missing_objects,
        reader: match args.git_reader {
            scan::GitReaderArg::Packs => HistoryReader::Packs,
            scan::GitReaderArg::Odb => HistoryReader::Odb,
        },
    };

    let (what, result) = if args.staged {
        (
            "the staged changes",
            sg_git::scan_staged(&repo, &scanner, &opts),
        )
    } else if let Some(range) = &range {
        (
            "the commit range",
            sg_git::scan_range(&repo, &scanner, range, &opts),
        )
    } else {
        (
            "the git history",
            sg_git::scan_history(&repo, &scanner, args.branch.as_deref(), &opts),
        )
    };
    bar.finish();
    let scan = result.with_context(|| format!("cannot scan {what} of {}", repo.display()))?;

    let stats = scan.stats.clone();
    let code = scan::report(
        args,
        scan.findings,
        &stats.scan_stats(),
        0,
        sg_engine::report::Unread {
            skipped: &stats.skipped,
            errors: &stats.errors,
        },
        scanner.rules(),
        start.elapsed(),
    )?;
    // After the report, so the git-specific counts sit next to its summary line.
    if !stats.submodules.is_empty() {
        eprintln!(
            "note: {} submodule(s) not descended into (scan each one on its own): {}",
            stats.submodules.len(),
            stats.submodules.join(", ")
        );
    }
    if stats.shallow {
        eprintln!(
            "note: this is a shallow clone: history before its depth was not scanned \
             (`git fetch --unshallow` to scan all of it)"
        );
    }
    if !stats.missing.is_empty() {
        // Never silent: every blob not scanned is named, with where the history put it.
        for blob in &stats.missing {
            eprintln!(
                "skipped (missing from the repository): blob {} at {} (commit {})",
                blob.id, blob.path, blob.commit
            );
        }
        eprintln!(
            "note: {} blob(s) missing from the repository were not scanned (--allow-missing-objects)",
            stats.missing.len()
        );
    }
    let skipped = format!(
        "{} binary and {} over --max-file-size skipped",
        stats.skipped_binary, stats.skipped_large
    );
    if args.staged {
        eprintln!(
            "git: {} staged blob(s) scanned ({} bytes), {skipped}",
            stats.blobs_scanned, stats.bytes_scanned
        );
    } else {
        eprintln!(
            "git: {} commit(s), {} distinct blob(s) scanned ({} bytes), {skipped}",
            stats.commits, stats.blobs_scanned, stats.bytes_scanned
        );
    }
    Ok(code)
}

/// The scanner for a range: a range that changes `.secrets-guard.toml` is judged by the
/// base revision's config (its rules and allowlists), with a warning, so a pull request
/// cannot allow its own secrets. `--config` still wins, with the same warning.
fn range_scanner(
    args: &ScanArgs,
    repo: &std::path::Path,
    spec: &str,
) -> anyhow::Result<sg_engine::Scanner> {
    let name = sg_engine::discover::CONFIG_NAME;
    let config = match sg_git::range_config(repo, spec, name) {
        Ok(config) => config,
        // The range itself cannot be resolved (a shallow clone, a typo): the scan reports
        // why, with its fix.
        Err(_) => return scan::load_scanner(args, &sg_git::config_root(repo)),
    };
    if !config.changed || args.config.is_some() {
        if config.changed {
            eprintln!("warning: the range {spec} changes {name}; --config is used as given");
        }
        return scan::load_scanner(args, &sg_git::config_root(repo));
    }
    let rules = match &config.base {
        Some(bytes) => {
            eprintln!(
                "warning: the range {spec} changes {name}: its own lines are checked with the \
                 base revision's config (rules and allowlists), not the changed one"
            );
            let text = String::from_utf8_lossy(bytes);
            let shown = std::path::PathBuf::from(format!("{name} (at the base of {spec})"));
            sg_rules::RuleSet::from_config_text(&text, &shown)?
        }
        None => {
            eprintln!(
                "warning: the range {spec} adds {name}: its own lines are checked with the \
                 default rules, as at the base revision"
            );
            sg_rules::RuleSet::default_rules().context("the built-in rules")?
        }
    };
    Ok(sg_engine::Scanner::new(rules))
}

/// A progress bar on stderr when stderr is a terminal; nothing otherwise.
struct ProgressDisplay {
    bar: Option<ProgressBar>,
}

impl ProgressDisplay {
    fn new(wanted: bool) -> ProgressDisplay {
        let bar = (wanted && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{msg:>8} [{bar:40}] {pos}/{len} ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar
        });
        ProgressDisplay { bar }
    }

    fn update(&self, progress: Progress) {
        let Some(bar) = &self.bar else { return };
        let (msg, done, total) = match progress {
            Progress::Commits { done, total } => ("commits", done, total),
            Progress::Blobs { done, total } => ("blobs", done, total),
        };
        if bar.length() != Some(total) || bar.message() != msg {
            bar.set_message(msg);
            bar.set_length(total);
        }
        bar.set_position(done);
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
