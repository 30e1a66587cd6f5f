//! `scan --staged` and `scan --git` (history, `--branch`, `--range`, `--since`): builds the
//! scanner, runs the `sg_git` scan, shows progress on a terminal, and hands the findings to
//! the shared report.

use super::scan::{self, ScanArgs};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sg_git::{GitScanOptions, Progress};
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
    let scanner = scan::load_scanner(args, &sg_git::config_root(&repo))?;
    let start = Instant::now();

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
    };

    let range = match (&args.range, &args.since) {
        (Some(range), _) => Some(range.clone()),
        (None, Some(since)) => Some(format!("{since}..HEAD")),
        (None, None) => None,
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
