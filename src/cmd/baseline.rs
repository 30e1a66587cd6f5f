//! `secrets-guard baseline`: record the current findings so later scans report only new ones.

use clap::Args;
use sg_engine::report;
use sg_engine::Baseline;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Files or directories to scan.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Where to write the baseline.
    #[arg(long, short, value_name = "FILE", default_value = super::scan::DEFAULT_BASELINE)]
    pub output: PathBuf,
    /// Rule config. Default: `.secrets-guard.toml` at the scan root, if present.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Skip files larger than this many bytes.
    #[arg(long, default_value_t = 10 * 1024 * 1024)]
    pub max_file_size: u64,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn run(args: &BaselineArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let (outcome, _scanner) = super::scan::walk(
        &args.paths,
        args.config.as_deref(),
        vec![args.output.clone()],
        args.threads,
        args.max_file_size,
        None,
    )?;
    // A baseline records what was read; what was not is named, as a scan names it.
    super::scan::print_unread(&outcome.skipped, &outcome.errors, true);
    let baseline = Baseline::from_findings(&outcome.findings);
    baseline.save(&args.output)?;
    eprintln!(
        "{}",
        report::summary(
            &outcome.stats,
            outcome.skipped_generated,
            outcome.findings.len(),
            started.elapsed()
        )
    );
    eprintln!(
        "wrote {} baseline entries to {}",
        baseline.len(),
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}
