//! `secrets-guard env`: load per-environment `.env` files, run commands with them, and
//! check that environments stay apart. The work happens in `sg-env`.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use sg_env::{
    ChildOptions, Environment, ExportFormat, Finding, KeyStatus, KeyStatusLookup, LoadOptions,
    Project,
};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const EXIT_FINDINGS: u8 = 1;

/// Options every `env` subcommand takes.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// The project root, where the `.env` files and `.secrets-guard.toml` are.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Keep every `$` literal: no `${VAR}` expansion.
    #[arg(long)]
    pub no_expand: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormatArg {
    Dotenv,
    Json,
    Shell,
}

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// Check every environment (or one) for shared secrets, wrong-environment keys, missing keys and exposed files.
    Check {
        #[command(flatten)]
        common: CommonArgs,
        /// Report only this environment (still compared against the others).
        #[arg(long)]
        env: Option<String>,
        #[arg(long, value_enum, default_value = "human")]
        format: ReportFormat,
        /// Flag secrets-guard keys this access store knows as revoked or expired.
        #[arg(long, env = "SECRETS_GUARD_DB")]
        access_db: Option<PathBuf>,
    },
    /// Run a command with an environment's variables.
    Run {
        #[command(flatten)]
        common: CommonArgs,
        /// The environment: `dev`, `qa`, `prod` or one configured in `[env]`.
        #[arg(long)]
        env: String,
        /// Start the child from an empty environment instead of this one.
        #[arg(long)]
        clean: bool,
        /// Let the files' values beat variables already set in this process.
        #[arg(long = "override")]
        override_process: bool,
        /// Run even though the environment is protected (CI=true does the same).
        #[arg(long)]
        allow_protected: bool,
        /// Refuse secrets-guard keys this access store knows as revoked or expired.
        #[arg(long, env = "SECRETS_GUARD_DB")]
        access_db: Option<PathBuf>,
        /// The command and its arguments, after `--`.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<OsString>,
    },
    /// Print an environment's variables as a .env file, JSON or shell `export` lines.
    Export {
        #[command(flatten)]
        common: CommonArgs,
        /// The environment: `dev`, `qa`, `prod` or one configured in `[env]`.
        #[arg(long)]
        env: String,
        #[arg(long, value_enum, default_value = "dotenv")]
        format: ExportFormatArg,
    },
    /// List an environment's keys with their source file, redacted value and kind of secret.
    List {
        #[command(flatten)]
        common: CommonArgs,
        /// The environment: `dev`, `qa`, `prod` or one configured in `[env]`.
        #[arg(long)]
        env: String,
        #[arg(long, value_enum, default_value = "human")]
        format: ReportFormat,
    },
    /// Print one variable's value.
    Get {
        #[command(flatten)]
        common: CommonArgs,
        /// The environment: `dev`, `qa`, `prod` or one configured in `[env]`.
        #[arg(long)]
        env: String,
        key: String,
    },
}

pub fn run(c: EnvCommand) -> anyhow::Result<ExitCode> {
    match c {
        EnvCommand::Check {
            common,
            env,
            format,
            access_db,
        } => check(&common, env.as_deref(), format, access_db.as_deref()),
        EnvCommand::Run {
            common,
            env,
            clean,
            override_process,
            allow_protected,
            access_db,
            command,
        } => run_command(
            &common,
            &env,
            RunFlags {
                clean,
                override_process,
                allow_protected,
            },
            access_db.as_deref(),
            &command,
        ),
        EnvCommand::Export {
            common,
            env,
            format,
        } => export(&common, &env, format),
        EnvCommand::List {
            common,
            env,
            format,
        } => list(&common, &env, format),
        EnvCommand::Get { common, env, key } => get(&common, &env, &key),
    }
}

fn files_only(common: &CommonArgs) -> LoadOptions {
    LoadOptions {
        expand: !common.no_expand,
        override_process: true,
    }
}

fn print_warnings(env: &Environment) {
    for w in &env.warnings {
        eprintln!("warning: {w}");
    }
}

/// The access store as the env checks see it.
struct AccessStore(sg_access::Store);

impl KeyStatusLookup for AccessStore {
    fn status(&self, key: &str) -> Option<KeyStatus> {
        let found = sg_access::lookup_key(&self.0, key).ok()?;
        Some(match found.status {
            sg_access::KeyStatus::Live => KeyStatus::Live,
            sg_access::KeyStatus::Revoked => KeyStatus::Revoked,
            sg_access::KeyStatus::Expired => KeyStatus::Expired,
            sg_access::KeyStatus::Unknown => KeyStatus::Unknown,
        })
    }
}

fn open_access(path: Option<&Path>) -> anyhow::Result<Option<AccessStore>> {
    let Some(path) = path else { return Ok(None) };
    // Opening creates a missing database; a typo in the path must not look like an
    // empty store that knows no revoked keys.
    anyhow::ensure!(
        path.is_file(),
        "{}: no access store there (--access-db / SECRETS_GUARD_DB)",
        path.display()
    );
    let store = sg_access::Store::open(path)
        .with_context(|| format!("{}: cannot open the access store", path.display()))?;
    Ok(Some(AccessStore(store)))
}

fn scanner(project: &Project) -> anyhow::Result<sg_engine::Scanner> {
    Ok(sg_engine::Scanner::new(project.rules()?))
}

fn check(
    common: &CommonArgs,
    only: Option<&str>,
    format: ReportFormat,
    access_db: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let project = Project::open(&common.dir)?;
    let options = files_only(common);
    let envs = match only {
        None => project.load_all(&options)?,
        Some(name) => {
            // The named environment must load; the others are loaded to compare against
            // and skipped (with a note) if they cannot be.
            let mut envs = Vec::new();
            let mut names = project.environment_names();
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
            for n in names {
                match project.load(&n, &options) {
                    Ok(env) => envs.push(env),
                    Err(e) if n != name => eprintln!("note: not comparing against `{n}`: {e}"),
                    Err(e) => return Err(e.into()),
                }
            }
            envs
        }
    };
    for env in &envs {
        if only.is_none_or(|n| n == env.name) {
            print_warnings(env);
        }
    }
    let scanner = scanner(&project)?;
    let access = open_access(access_db)?;
    let lookup = access.as_ref().map(|a| a as &dyn KeyStatusLookup);
    let findings = sg_env::check(&project, &envs, &scanner, only, lookup)?;
    let checked: Vec<&str> = match only {
        Some(name) => vec![name],
        None => envs.iter().map(|e| e.name.as_str()).collect(),
    };
    print_findings(&findings, format)?;
    if format == ReportFormat::Human {
        if findings.is_empty() {
            eprintln!("no problems in {}", checked.join(", "));
        } else {
            eprintln!(
                "{} problem{} in {}",
                findings.len(),
                if findings.len() == 1 { "" } else { "s" },
                checked.join(", ")
            );
        }
    }
    Ok(if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FINDINGS)
    })
}

fn print_findings(findings: &[Finding], format: ReportFormat) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        ReportFormat::Human => {
            for f in findings {
                writeln!(out, "{f}")?;
            }
        }
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut out, findings)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

struct RunFlags {
    clean: bool,
    override_process: bool,
    allow_protected: bool,
}

fn ci_is_true() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

fn run_command(
    common: &CommonArgs,
    name: &str,
    flags: RunFlags,
    access_db: Option<&Path>,
    command: &[OsString],
) -> anyhow::Result<ExitCode> {
    let project = Project::open(&common.dir)?;
    let options = LoadOptions {
        expand: !common.no_expand,
        override_process: flags.override_process,
    };
    let env = project.load(name, &options)?;
    print_warnings(&env);
    if env.protected && !flags.allow_protected && !ci_is_true() {
        anyhow::bail!(
            "refusing to run with protected environment `{name}`: pass --allow-protected (CI=true also allows it)"
        );
    }
    let scanner = scanner(&project)?;
    let access = open_access(access_db)?;
    let lookup = access.as_ref().map(|a| a as &dyn KeyStatusLookup);
    let refusals = sg_env::guard(&env, &scanner, lookup);
    if !refusals.is_empty() {
        for f in &refusals {
            eprintln!("{f}");
        }
        eprintln!("refusing to run: environment `{name}` holds keys that belong elsewhere or no longer work");
        return Ok(ExitCode::from(EXIT_FINDINGS));
    }
    let (program, args) = command
        .split_first()
        .context("no command given: secrets-guard env run --env NAME -- CMD [ARGS...]")?;
    let code = sg_env::run_child(&env, program, args, ChildOptions { clean: flags.clean })
        .with_context(|| format!("cannot run `{}`", program.to_string_lossy()))?;
    Ok(ExitCode::from((code & 0xff) as u8))
}

fn export(common: &CommonArgs, name: &str, format: ExportFormatArg) -> anyhow::Result<ExitCode> {
    let project = Project::open(&common.dir)?;
    let env = project.load(name, &files_only(common))?;
    print_warnings(&env);
    let format = match format {
        ExportFormatArg::Dotenv => ExportFormat::Dotenv,
        ExportFormatArg::Json => ExportFormat::Json,
        ExportFormatArg::Shell => ExportFormat::Shell,
    };
    std::io::stdout()
        .lock()
        .write_all(sg_env::export(&env, format).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

#[derive(serde::Serialize)]
struct ListedVariable<'a> {
    key: &'a str,
    file: &'a str,
    line: usize,
    /// Redacted.
    value: String,
    secret: bool,
    /// `stripe-secret-key (live)`, or null for a non-secret.
    kind: Option<String>,
}

fn list(common: &CommonArgs, name: &str, format: ReportFormat) -> anyhow::Result<ExitCode> {
    let project = Project::open(&common.dir)?;
    let env = project.load(name, &files_only(common))?;
    print_warnings(&env);
    let scanner = scanner(&project)?;
    let classes = sg_env::classify(&env, &scanner);
    let rows: Vec<ListedVariable<'_>> = env
        .variables
        .iter()
        .zip(&classes)
        .map(|(v, c)| ListedVariable {
            key: &v.key,
            file: &v.file,
            line: v.line,
            value: v.value.redacted(),
            secret: c.is_secret(),
            kind: c.is_secret().then(|| c.kind()),
        })
        .collect();
    let mut out = std::io::stdout().lock();
    match format {
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &rows)?;
            writeln!(out)?;
        }
        ReportFormat::Human => {
            let key_width = rows.iter().map(|r| r.key.len()).max().unwrap_or(3).max(3);
            let source: Vec<String> = rows
                .iter()
                .map(|r| format!("{}:{}", r.file, r.line))
                .collect();
            let source_width = source.iter().map(String::len).max().unwrap_or(6).max(6);
            let value_width = rows
                .iter()
                .map(|r| r.value.chars().count())
                .max()
                .unwrap_or(5)
                .max(5);
            writeln!(
                out,
                "{:key_width$}  {:source_width$}  {:value_width$}  KIND",
                "KEY", "SOURCE", "VALUE"
            )?;
            for (r, s) in rows.iter().zip(&source) {
                let pad = value_width - r.value.chars().count();
                writeln!(
                    out,
                    "{:key_width$}  {s:source_width$}  {}{}  {}",
                    r.key,
                    r.value,
                    " ".repeat(pad),
                    r.kind.as_deref().unwrap_or("-")
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn get(common: &CommonArgs, name: &str, key: &str) -> anyhow::Result<ExitCode> {
    let project = Project::open(&common.dir)?;
    let env = project.load(name, &files_only(common))?;
    print_warnings(&env);
    match env.get(key) {
        Some(value) => {
            // The user asked for this value by name: print it in full.
            writeln!(std::io::stdout().lock(), "{}", value.expose())?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!("`{key}` is not defined in environment `{name}`");
            Ok(ExitCode::from(EXIT_FINDINGS))
        }
    }
}
