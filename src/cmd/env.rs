//! `secrets-guard env`: load per-environment `.env` files, run commands with them, and
//! check that environments stay apart. The work happens in `sg-env`.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use sg_env::{
    ChildOptions, Convention, Environment, ExportFormat, Finding, KeyStatus, KeyStatusLookup,
    LoadOptions, Project,
};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const EXIT_FINDINGS: u8 = 1;
/// A protected environment without --allow-protected, or keys that belong elsewhere: not
/// any child's status (`env run` forwards those).
const EXIT_REFUSED: u8 = 3;
/// As shells report a command that is not executable, or not found.
const EXIT_NOT_EXECUTABLE: u8 = 126;
const EXIT_NOT_FOUND: u8 = 127;
/// Set (to 1, true or yes) in a CI file, it allows protected environments as
/// --allow-protected does. `CI=true` alone does not.
const ALLOW_PROTECTED_VAR: &str = "SECRETS_GUARD_ALLOW_PROTECTED";

const SCHEMA_HELP: &str = "The [env] table of .secrets-guard.toml (environments, files, protected names, required, optional and only keys, allowlists) and the conventions (standard, dotenv-flow/Vite, Next.js) are documented with a worked example each in README.md, section \"Env loader\".";

/// Options every `env` subcommand takes.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// The project root, where the `.env` files and `.secrets-guard.toml` are. Without it,
    /// the current directory or the nearest parent, up to the repository root, holding env
    /// files.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The file layout: standard (.env.dev/.env.qa/.env.prod), dotenv-flow (or vite),
    /// nextjs (or next). Default: `[env] convention`, else detected from the files present.
    #[arg(long, value_name = "NAME")]
    pub convention: Option<String>,
    /// Keep every `$` literal: no `${VAR}` expansion.
    #[arg(long)]
    pub no_expand: bool,
}

/// Which variables to load: an environment, ad-hoc files, or both (the files last).
#[derive(Debug, Args)]
pub struct Selection {
    /// The environment: dev, qa, prod (or development, production, staging, …) or one
    /// configured in `[env]`.
    #[arg(long, required_unless_present = "files")]
    pub env: Option<String>,
    /// Also load FILE, after the environment's files (repeatable, in order, as Node's
    /// --env-file). Relative to the working directory.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<String>,
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
    /// Check every environment (or one) for shared secrets, wrong-environment keys, missing keys and exposed files. At a repository root, every directory holding env files is checked.
    #[command(after_help = SCHEMA_HELP)]
    Check {
        #[command(flatten)]
        common: CommonArgs,
        /// Report only this environment (still compared against the others).
        #[arg(long)]
        env: Option<String>,
        #[arg(long, value_enum, default_value = "human")]
        format: ReportFormat,
        #[command(flatten)]
        access: AccessSource,
    },
    /// Run a command with an environment's variables: secrets-guard env run --env dev -- CMD [ARGS...]. Exit codes: the child's, 126 not executable, 127 not found, 3 refused, 2 input error.
    #[command(after_help = SCHEMA_HELP)]
    Run {
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        selection: Selection,
        /// Start the child from an empty environment instead of this one.
        #[arg(long)]
        clean: bool,
        /// Let the files' values beat variables already set in this process.
        #[arg(long = "override")]
        override_process: bool,
        /// Run even though the environment is protected (in CI, pass it or set SECRETS_GUARD_ALLOW_PROTECTED=1 in the CI file; CI=true alone does not).
        #[arg(long)]
        allow_protected: bool,
        #[command(flatten)]
        access: AccessSource,
        /// The command and its arguments, after `--`.
        #[arg(required = true, trailing_var_arg = true)]
        command: Vec<OsString>,
    },
    /// Print an environment's variables as a .env file, JSON or shell `export` lines.
    #[command(after_help = SCHEMA_HELP)]
    Export {
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        selection: Selection,
        #[arg(long, value_enum, default_value = "dotenv")]
        format: ExportFormatArg,
        /// Print a protected environment's values.
        #[arg(long)]
        allow_protected: bool,
    },
    /// List an environment's keys with their source file, redacted value and kind of secret.
    #[command(after_help = SCHEMA_HELP)]
    List {
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        selection: Selection,
        #[arg(long, value_enum, default_value = "human")]
        format: ReportFormat,
    },
    /// Print one variable's value.
    #[command(after_help = SCHEMA_HELP)]
    Get {
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        selection: Selection,
        /// Print a value of a protected environment.
        #[arg(long)]
        allow_protected: bool,
        key: String,
    },
}

pub fn run(c: EnvCommand) -> anyhow::Result<ExitCode> {
    match c {
        EnvCommand::Check {
            common,
            env,
            format,
            access,
        } => check(&common, env.as_deref(), format, &access),
        EnvCommand::Run {
            common,
            selection,
            clean,
            override_process,
            allow_protected,
            access,
            command,
        } => run_command(
            &common,
            &selection,
            RunFlags {
                clean,
                override_process,
                allow_protected,
            },
            &access,
            &command,
        ),
        EnvCommand::Export {
            common,
            selection,
            format,
            allow_protected,
        } => export(&common, &selection, format, allow_protected),
        EnvCommand::List {
            common,
            selection,
            format,
        } => list(&common, &selection, format),
        EnvCommand::Get {
            common,
            selection,
            allow_protected,
            key,
        } => get(&common, &selection, allow_protected, &key),
    }
}

fn files_only(common: &CommonArgs) -> LoadOptions {
    LoadOptions {
        expand: !common.no_expand,
        override_process: true,
    }
}

fn convention(common: &CommonArgs) -> anyhow::Result<Option<Convention>> {
    match &common.convention {
        None => Ok(None),
        Some(name) => Convention::parse(name).map(Some).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown convention `{name}` (known: {})",
                Convention::NAMES.join(", ")
            )
        }),
    }
}

/// The project: `--dir` as given, else found from the working directory upwards (saying
/// which directory when it is not the working directory).
fn open_project(common: &CommonArgs, adhoc_only: bool) -> anyhow::Result<Project> {
    let convention = convention(common)?;
    if let Some(dir) = &common.dir {
        return Ok(Project::open_with(dir, convention)?);
    }
    match Project::discover(".", convention) {
        Ok(project) => {
            if project.root() != Path::new(".") {
                eprintln!("note: using the env files in {}", project.root().display());
            }
            Ok(project)
        }
        // `-f` files alone need no project.
        Err(sg_env::EnvError::NoProject { .. }) if adhoc_only => {
            Ok(Project::open_with(".", convention)?)
        }
        Err(e) => Err(e.into()),
    }
}

fn load_selected(
    project: &Project,
    selection: &Selection,
    options: &LoadOptions,
) -> anyhow::Result<Environment> {
    Ok(if selection.files.is_empty() {
        let name = selection
            .env
            .as_deref()
            .context("--env NAME or -f FILE is required")?;
        project.load(name, options)?
    } else {
        project.load_with_files(selection.env.as_deref(), &selection.files, options)?
    })
}

/// [`load_selected`] (printing its warnings) and [`scanner`], in that order as to errors,
/// while another thread compiles the rules: on a large environment file both take a while,
/// and each thread allocates from its own arena.
fn load_with_scanner(
    project: &Project,
    selection: &Selection,
    options: &LoadOptions,
) -> anyhow::Result<(Environment, sg_engine::Scanner)> {
    std::thread::scope(|s| {
        let compiling = s.spawn(|| scanner(project));
        let env = load_selected(project, selection, options);
        let scanner = compiling
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let env = env?;
        print_warnings(&env);
        Ok((env, scanner?))
    })
}

fn allow_protected_by_ci_file() -> bool {
    std::env::var(ALLOW_PROTECTED_VAR)
        .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

/// The protection gate of run, export and get: `Some(exit code)` when refused.
fn refuse_protected(
    project: &Project,
    env: &Environment,
    scanner: &sg_engine::Scanner,
    allowed: bool,
    what: &str,
) -> Option<ExitCode> {
    if allowed || allow_protected_by_ci_file() {
        return None;
    }
    let reason = sg_env::protection(project, env, scanner)?;
    eprintln!(
        "error: refusing to {what} protected environment `{}`: {reason}. Pass --allow-protected (in CI: add it to the command, or set {ALLOW_PROTECTED_VAR}=1 in the CI file; CI=true alone does not allow it)",
        env.name
    );
    Some(ExitCode::from(EXIT_REFUSED))
}

fn print_warnings(env: &Environment) {
    for w in &env.warnings {
        eprintln!("warning: {w}");
    }
}

/// Where the env checks learn whether a secrets-guard key is revoked or expired.
#[derive(Debug, clap::Args)]
pub struct AccessSource {
    /// Flag (check) or refuse (run) secrets-guard keys this access store knows as revoked or expired.
    #[arg(long, env = "SECRETS_GUARD_DB")]
    access_db: Option<PathBuf>,
    /// The same, asking this access server (only keys' hashes are sent), as the current
    /// access session's user.
    #[arg(long, value_name = "URL", conflicts_with = "access_db")]
    access_server: Option<String>,
}

/// The access store or server as the env checks see it. A lookup that fails is
/// remembered: the command then exits 2 instead of passing a key nobody could check.
struct AccessStore {
    access: super::leaks::Access,
    failure: std::cell::RefCell<Option<String>>,
}

impl KeyStatusLookup for AccessStore {
    fn status(&self, key: &str) -> Option<KeyStatus> {
        let found = match self.access.status(key) {
            Ok(found) => found,
            Err(e) => {
                self.failure.borrow_mut().get_or_insert(e.to_string());
                return None;
            }
        };
        Some(match found.status {
            sg_access::KeyStatus::Live => KeyStatus::Live,
            sg_access::KeyStatus::Revoked => KeyStatus::Revoked,
            sg_access::KeyStatus::Expired => KeyStatus::Expired,
            sg_access::KeyStatus::Unknown => KeyStatus::Unknown,
        })
    }
}

/// The first key lookup that failed, as an error.
fn lookups_succeeded(access: &Option<AccessStore>) -> anyhow::Result<()> {
    match access.as_ref().and_then(|a| a.failure.borrow().clone()) {
        Some(e) => anyhow::bail!("a key's status could not be read from the access store: {e}"),
        None => Ok(()),
    }
}

fn open_access(source: &AccessSource) -> anyhow::Result<Option<AccessStore>> {
    if let Some(path) = source
        .access_db
        .as_deref()
        .filter(|_| source.access_server.is_none())
    {
        // A typo in the path must not look like an empty store that knows no revoked keys.
        anyhow::ensure!(
            path.is_file(),
            "{}: no access store there (--access-db / SECRETS_GUARD_DB)",
            path.display()
        );
    }
    let access =
        super::leaks::open_access(source.access_db.as_deref(), source.access_server.as_deref())?;
    if let Some(access) = &access {
        access.ensure_reachable()?;
    }
    Ok(access.map(|access| AccessStore {
        access,
        failure: Default::default(),
    }))
}

fn scanner(project: &Project) -> anyhow::Result<sg_engine::Scanner> {
    Ok(sg_engine::Scanner::new(project.rules()?))
}

fn check(
    common: &CommonArgs,
    only: Option<&str>,
    format: ReportFormat,
    access_src: &AccessSource,
) -> anyhow::Result<ExitCode> {
    let options = files_only(common);
    // At a repository root holding projects below it: a monorepo check.
    if only.is_none() {
        let start = common.dir.clone().unwrap_or_else(|| PathBuf::from("."));
        let canonical = start.canonicalize().ok();
        if canonical.is_some() && canonical == sg_env::repository_root(&start) {
            let projects = sg_env::find_projects(&start)?;
            let root_only = projects.len() == 1 && projects[0] == start;
            if !projects.is_empty() && !root_only {
                return check_repository(&start, common, &options, format, access_src);
            }
        }
    }
    let project = open_project(common, false)?;
    // `--env dev` in a project whose environment is `development`.
    let only = match only {
        Some(name) => Some(project.config().environment(name)?.name),
        None => None,
    };
    let only = only.as_deref();
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
    let access = open_access(access_src)?;
    let lookup = access.as_ref().map(|a| a as &dyn KeyStatusLookup);
    let findings = sg_env::check(&project, &envs, &scanner, only, lookup)?;
    lookups_succeeded(&access)?;
    let checked: Vec<&str> = match only {
        Some(name) => vec![name],
        None => envs.iter().map(|e| e.name.as_str()).collect(),
    };
    report(&findings, format, &checked.join(", "))
}

fn check_repository(
    root: &Path,
    common: &CommonArgs,
    options: &LoadOptions,
    format: ReportFormat,
    access_src: &AccessSource,
) -> anyhow::Result<ExitCode> {
    let default_scanner = sg_engine::Scanner::new(sg_rules::RuleSet::default_rules()?);
    let access = open_access(access_src)?;
    let lookup = access.as_ref().map(|a| a as &dyn KeyStatusLookup);
    let (projects, findings) =
        sg_env::check_repository(root, convention(common)?, options, &default_scanner, lookup)?;
    lookups_succeeded(&access)?;
    let checked: Vec<String> = projects
        .iter()
        .map(|p| format!("{} ({})", p.dir, p.environments.join(", ")))
        .collect();
    report(&findings, format, &checked.join("; "))
}

fn report(findings: &[Finding], format: ReportFormat, checked: &str) -> anyhow::Result<ExitCode> {
    print_findings(findings, format)?;
    if format == ReportFormat::Human {
        if findings.is_empty() {
            eprintln!("no problems in {checked}");
        } else {
            eprintln!(
                "{} problem{} in {checked}",
                findings.len(),
                if findings.len() == 1 { "" } else { "s" },
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

fn run_command(
    common: &CommonArgs,
    selection: &Selection,
    flags: RunFlags,
    access_src: &AccessSource,
    command: &[OsString],
) -> anyhow::Result<ExitCode> {
    let project = open_project(common, selection.env.is_none())?;
    let options = LoadOptions {
        expand: !common.no_expand,
        override_process: flags.override_process,
    };
    let env = load_selected(&project, selection, &options)?;
    print_warnings(&env);
    let scanner = scanner(&project)?;
    let access = open_access(access_src)?;
    let lookup = access.as_ref().map(|a| a as &dyn KeyStatusLookup);
    let refusals = sg_env::guard(&env, &scanner, lookup);
    lookups_succeeded(&access)?;
    if !refusals.is_empty() {
        for f in &refusals {
            eprintln!("{f}");
        }
        eprintln!(
            "refusing to run: environment `{}` holds keys that belong elsewhere or no longer work",
            env.name
        );
        return Ok(ExitCode::from(EXIT_REFUSED));
    }
    if let Some(code) =
        refuse_protected(&project, &env, &scanner, flags.allow_protected, "run with")
    {
        return Ok(code);
    }
    let (program, args) = command
        .split_first()
        .context("no command given: secrets-guard env run --env NAME -- CMD [ARGS...]")?;
    let shown = program.to_string_lossy();
    match sg_env::run_child(&env, program, args, ChildOptions { clean: flags.clean }) {
        Ok(code) => Ok(ExitCode::from((code & 0xff) as u8)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("error: cannot run `{shown}`: command not found");
            Ok(ExitCode::from(EXIT_NOT_FOUND))
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            eprintln!("error: cannot run `{shown}`: not executable ({e})");
            Ok(ExitCode::from(EXIT_NOT_EXECUTABLE))
        }
        Err(e) => Err(e).with_context(|| format!("cannot run `{shown}`")),
    }
}

fn export(
    common: &CommonArgs,
    selection: &Selection,
    format: ExportFormatArg,
    allow_protected: bool,
) -> anyhow::Result<ExitCode> {
    let project = open_project(common, selection.env.is_none())?;
    let (env, scanner) = load_with_scanner(&project, selection, &files_only(common))?;
    if let Some(code) = refuse_protected(&project, &env, &scanner, allow_protected, "export") {
        return Ok(code);
    }
    let format = match format {
        ExportFormatArg::Dotenv => ExportFormat::Dotenv,
        ExportFormatArg::Json => ExportFormat::Json,
        ExportFormatArg::Shell => ExportFormat::Shell,
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    sg_env::write_export(&env, format, &mut out)?;
    out.flush()?;
    // The process exits next, which returns the memory anyway: freeing a large environment
    // string by string was a sixth of `env export` of 230,000 variables.
    std::mem::forget(env);
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

fn list(
    common: &CommonArgs,
    selection: &Selection,
    format: ReportFormat,
) -> anyhow::Result<ExitCode> {
    let project = open_project(common, selection.env.is_none())?;
    let env = load_selected(&project, selection, &files_only(common))?;
    print_warnings(&env);
    let config = project.config();
    let source = match config.convention_source {
        sg_env::ConventionSource::Option => "--convention",
        sg_env::ConventionSource::Config => "[env] convention",
        sg_env::ConventionSource::Detected => "detected from the files present",
    };
    let read: Vec<&str> = env.sources.iter().map(|s| s.path.as_str()).collect();
    eprintln!(
        "convention: {} ({source}); environment `{}` from {} reads {}{}",
        config.convention.as_str(),
        env.name,
        project.root().display(),
        if read.is_empty() {
            "no file".to_owned()
        } else {
            read.join(" < ")
        },
        env.protected_reason
            .as_deref()
            .map(|r| format!("; protected: {r}"))
            .unwrap_or_default()
    );
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

fn get(
    common: &CommonArgs,
    selection: &Selection,
    allow_protected: bool,
    key: &str,
) -> anyhow::Result<ExitCode> {
    let project = open_project(common, selection.env.is_none())?;
    let (env, scanner) = load_with_scanner(&project, selection, &files_only(common))?;
    if let Some(code) = refuse_protected(
        &project,
        &env,
        &scanner,
        allow_protected,
        "print a value of",
    ) {
        return Ok(code);
    }
    match env.get(key) {
        Some(value) => {
            // The user asked for this value by name: print it in full.
            writeln!(std::io::stdout().lock(), "{}", value.expose())?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!("`{key}` is not defined in environment `{}`", env.name);
            Ok(ExitCode::from(EXIT_FINDINGS))
        }
    }
}
