//! `hook install`: writes the embedded `hooks/pre-commit` script into a repository.

use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

/// The pre-commit hook, embedded so the installed hook always matches this binary.
const PRE_COMMIT: &str = include_str!("../../hooks/pre-commit");
/// The line that marks a hook as written by secrets-guard (present in `PRE_COMMIT`).
const MARKER: &str = "secrets-guard pre-commit hook: managed by secrets-guard";

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

pub fn run(c: HookCommand) -> anyhow::Result<ExitCode> {
    match c {
        HookCommand::Install { force, repo } => {
            let installed = sg_git::install_hook(&repo, "pre-commit", PRE_COMMIT, MARKER, force)
                .with_context(|| {
                    format!("cannot install the pre-commit hook in {}", repo.display())
                })?;
            if let Some(backup) = &installed.backup {
                eprintln!("kept the previous hook as {}", backup.display());
            }
            let verb = if installed.updated {
                "updated"
            } else {
                "installed"
            };
            println!(
                "{verb} the secrets-guard pre-commit hook at {}",
                installed.path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
