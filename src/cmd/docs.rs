//! `completions SHELL` and `man`: shell completion scripts and the man page, generated from
//! the same clap definitions the parser uses, so they never drift from the real flags.

use anyhow::Context;
use clap::ValueEnum;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

/// Prints the completion script for `shell` on stdout.
pub fn completions(mut command: clap::Command, shell: Shell) -> anyhow::Result<ExitCode> {
    let name = command.get_name().to_owned();
    let mut out = Vec::new();
    let generator = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::Powershell => clap_complete::Shell::PowerShell,
    };
    clap_complete::generate(generator, &mut command, name, &mut out);
    write_stdout(&out)
}

/// Prints the man page (roff) on stdout: `secrets-guard man > secrets-guard.1`.
pub fn man(command: clap::Command) -> anyhow::Result<ExitCode> {
    let mut out = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut out)
        .context("rendering the man page")?;
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.context("writing to stdout")?,
    }
    Ok(ExitCode::SUCCESS)
}
