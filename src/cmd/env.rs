use clap::Subcommand;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// Check every environment (or one) for shared secrets, wrong-environment keys, missing keys and exposed files.
    Check {
        #[arg(long)]
        env: Option<String>,
    },
}

pub fn run(_c: EnvCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the env loader is not built yet")
}
