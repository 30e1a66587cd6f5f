use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct BaselineArgs {
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    #[arg(long, short, default_value = ".secrets-guard-baseline.json")]
    pub output: PathBuf,
    #[arg(long)]
    pub config: Option<PathBuf>,
}

pub fn run(_args: &BaselineArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("baselines are not built yet")
}
