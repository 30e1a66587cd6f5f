//! `hook install`: writes the embedded `hooks/pre-commit` script into a repository, as
//! the `pre-commit` hook and as the `pre-merge-commit` hook (a merge that git commits by
//! itself, without conflicts, runs only the latter).

use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

/// The pre-commit hook, embedded so the installed hook always matches this binary.
const PRE_COMMIT: &str = include_str!("../../hooks/pre-commit");
/// The hooks the script is installed as: `git merge` commits a clean merge without
/// running pre-commit, so the merge result is checked by pre-merge-commit.
const HOOKS: [&str; 2] = ["pre-commit", "pre-merge-commit"];
/// The line that marks a hook as written by secrets-guard (present in `PRE_COMMIT`).
const MARKER: &str = "secrets-guard pre-commit hook: managed by secrets-guard";

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Install hooks/pre-commit into a repository as its pre-commit and pre-merge-commit
    /// hooks (honours core.hooksPath).
    Install {
        /// Overwrite hooks that secrets-guard did not write.
        #[arg(long)]
        force: bool,
        #[arg(default_value = ".")]
        repo: PathBuf,
    },
}

pub fn run(c: HookCommand) -> anyhow::Result<ExitCode> {
    match c {
        HookCommand::Install { force, repo } => {
            for name in HOOKS {
                let installed = sg_git::install_hook(&repo, name, PRE_COMMIT, MARKER, force)
                    .with_context(|| {
                        format!("cannot install the {name} hook in {}", repo.display())
                    })?;
                if let Some(backup) = &installed.backup {
                    eprintln!("kept the previous {name} hook as {}", backup.display());
                }
                let verb = if installed.updated {
                    "updated"
                } else {
                    "installed"
                };
                println!(
                    "{verb} the secrets-guard {name} hook at {}",
                    installed.path.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
