use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Install hooks/pre-commit into a repository (honours core.hooksPath).
    Install {
        /// Overwrite a pre-commit hook that secrets-guard did not write.
        #[arg(long)]
        force: bool,
        #[arg(default_value = ".")]
        repo: PathBuf,
    },
}

pub fn run(_c: HookCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("hook install is not built yet")
}
