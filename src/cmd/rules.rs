use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules in effect.
    List {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Check that every example matches and yields its secret, and no negative matches.
    Check {
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

pub fn run(_c: RulesCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("rules commands are not built yet")
}
