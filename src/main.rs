//! The `secrets-guard` command line: argument parsing and printing only. The work happens
//! in the library crates under `crates/`.

mod cmd;

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

/// Keeps credentials out of places they don't belong.
#[derive(Debug, Parser)]
#[command(name = "secrets-guard", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scan files, the staged index, a commit range or a whole git history for secrets.
    Scan(cmd::scan::ScanArgs),
    /// Record the current findings so that later scans report only new ones.
    Baseline(cmd::baseline::BaselineArgs),
    /// List the rules, or check every rule's examples and negative examples.
    #[command(subcommand)]
    Rules(cmd::rules::RulesCommand),
    /// Install the git pre-commit hook.
    #[command(subcommand)]
    Hook(cmd::hook::HookCommand),
    /// Load per-environment credentials from .env files, and check that environments stay apart.
    #[command(subcommand)]
    Env(cmd::env::EnvCommand),
    /// Manage a team's account: subaccounts, users and roles, 2FA, API keys, billing, audit.
    Access(cmd::access::AccessArgs),
    /// Run the access server that owns a team's store, or create its account (`server init`).
    Server(cmd::server::ServerArgs),
    /// Print a shell completion script (bash, zsh, fish or powershell).
    Completions {
        #[arg(value_enum)]
        shell: cmd::docs::Shell,
    },
    /// Print the man page (roff): `secrets-guard man > secrets-guard.1`.
    Man,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => cmd::scan::run(&args),
        Command::Baseline(args) => cmd::baseline::run(&args),
        Command::Rules(c) => cmd::rules::run(c),
        Command::Hook(c) => cmd::hook::run(c),
        Command::Env(c) => cmd::env::run(c),
        Command::Access(args) => cmd::access::run(args),
        Command::Server(args) => cmd::server::run(args),
        Command::Completions { shell } => cmd::docs::completions(Cli::command(), shell),
        Command::Man => cmd::docs::man(Cli::command()),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(cmd::EXIT_INPUT_ERROR)
        }
    }
}
