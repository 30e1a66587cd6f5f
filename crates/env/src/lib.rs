//! Per-environment `.env` loading for secrets-guard that refuses to mix dev, qa and prod
//! credentials.
//!
//! # Environments and files
//!
//! A [`Convention`] says which files an environment reads, lowest precedence first:
//! - `standard`: `.env < .env.<name> < .env.<name>.local` (`.env.<name>` must exist);
//! - `dotenv-flow` (Vite): `.env < .env.local < .env.<mode> < .env.<mode>.local`;
//! - `nextjs`: `.env < .env.<mode> < .env.local < .env.<mode>.local`;
//!
//! in both Node conventions `.env.local` is skipped for `test`. The convention comes from
//! [`Project::open_with`], `[env] convention`, or [`Convention::detect`]. Without `[env] names`,
//! the environments are those with a `.env.<name>` file (plus `development` and `production`
//! in the Node conventions); `dev`/`development`, `prod`/`production` and `stage`/`staging`
//! name the same one. The `[env]` table of `.secrets-guard.toml` (documented with an example
//! of each convention in the repository's README, section "Env loader") can declare them:
//!
//! ```toml
//! [env]
//! convention = "standard"
//! names = ["dev", "qa", "prod"]
//! protected = ["qa"]              # added to prod, production, prd and live
//! required = ["DATABASE_URL"]
//!
//! [env.environments.prod]
//! files = [".env", "config/prod.env", ".env.prod.local"]  # lowest precedence first
//! required = ["STRIPE_KEY"]
//! optional = ["PROFILER_URL"]     # may be missing here
//! protected = true
//!
//! [[env.allowlists]]
//! keys = ["DEMO_TOKEN"]
//! ```
//!
//! An environment is also protected when it loads a file a protected environment loads
//! (after resolving symlinks), and, for [`protection`], when a value carries a protected
//! environment's marker (`sgk_prod_…`, a live-mode key). A `protected` entry that matches no
//! environment is a configuration error. Paths are relative to the project root and may not
//! leave it; a symlink that resolves outside the project is refused.
//!
//! # Syntax
//!
//! dotenvy's grammar (see [`parse`](crate::parse) for the details): comments, `export`,
//! single and double quotes, multi-line quoted values, escapes, BOM and CRLF. `${VAR}`,
//! `$VAR` and `${VAR:-default}` expand within the environment's own files (falling back to
//! the process environment for names no file defines); inside VAR's own definition `${VAR}`
//! is the earlier value (`PATH=${PATH}:/opt/bin`); single-quoted text never expands,
//! and [`LoadOptions::expand`] `false` keeps every `$` literal. Errors name
//! `file:line:column` and the key, never the value (a stray line or a token-like name shows
//! its first four characters). A key defined twice in one file is a warning
//! naming both lines; the later one wins.
//!
//! # Loading from Rust
//!
//! Loading fills a map and leaves the process alone; [`Environment::apply_to_process`] sets
//! the variables when asked. Values are [`SecretValue`]s, which redact themselves in
//! `Debug` and `Display`.
//!
//! ```
//! use sg_env::{LoadOptions, Project};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join(".env"), "LOG_LEVEL=info\nHOST=db.internal\n")?;
//! std::fs::write(
//!     dir.path().join(".env.dev"),
//!     "export DATABASE_URL=\"postgres://app@${HOST}/dev\"\nAPI_TOKEN='q8Zr$2LmW0xVbN4t'\n",
//! )?;
//!
//! let project = Project::open(dir.path())?;
//! let dev = project.load("dev", &LoadOptions::files_only())?;
//! assert_eq!(dev.get("DATABASE_URL").map(|v| v.expose()), Some("postgres://app@db.internal/dev"));
//! // Single quotes keep `$` literal; printing the value redacts it.
//! let token = dev.get("API_TOKEN").expect("defined");
//! assert_eq!(token.expose(), "q8Zr$2LmW0xVbN4t");
//! assert_eq!(token.to_string(), "q8Zr…(16 chars)");
//! assert_eq!(dev.variable("LOG_LEVEL").map(|v| v.file.as_str()), Some(".env"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Checks
//!
//! [`check`] compares environments: a secret shared by two environments (by SHA-256, never
//! by printing it), a key whose format names another environment (a Stripe `sk_live_` key
//! in dev, an `sgk_prod_` key in qa), missing required keys and keys one environment has
//! and another lacks, env files holding secrets that git tracks or does not ignore, and,
//! given a [`KeyStatusLookup`], revoked or expired secrets-guard keys.
//!
//! ```
//! use sg_env::{check, FindingKind, LoadOptions, Project};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join(".env.dev"), "SG_KEY=sgk_prod_Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7yEe2zI7BX\n")?;
//! std::fs::write(dir.path().join(".env.prod"), "SG_KEY=sgk_prod_Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7yEe2zI7BX\n")?;
//!
//! let project = Project::open(dir.path())?;
//! let envs = project.load_all(&LoadOptions::files_only())?;
//! let scanner = sg_engine::Scanner::new(project.rules()?);
//! let findings = check(&project, &envs, &scanner, None, None)?;
//! assert!(findings.iter().any(|f| f.kind == FindingKind::WrongEnvironment && f.environment == "dev"));
//! assert!(findings.iter().any(|f| f.kind == FindingKind::SharedSecret && f.environment == "prod"));
//! assert!(findings.iter().all(|f| !f.message.contains("Ky9Pf34q")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod check;
mod child;
mod classify;
mod config;
mod error;
mod expand;
mod export;
mod exposure;
mod keys;
mod load;
mod monorepo;
pub mod parse;
mod value;

pub use check::{
    api_keys_in, check, guard, protection, wrong_environment_reason, Finding, FindingKind,
    KeyStatus, KeyStatusLookup,
};
pub use child::{run_child, ChildOptions};
pub use classify::{classify, classify_variable, Classification, Label};
pub use config::{
    is_valid_env_name, same_environment, Allowlist, Convention, ConventionSource, EnvConfig,
    EnvSpec, FileSpec, CONFIG_FILE, CONVENTIONAL, DEFAULT_PROTECTED,
};
pub use error::{redact_token, shown_name, EnvError};
pub use export::{dotenv_quote, export, shell_quote, write_export, ExportFormat};
pub use exposure::{GitExposure, GitView};
pub use load::{
    has_env_files, repository_root, Environment, LoadOptions, Project, SourceFile, Variable,
    Warning,
};
pub use monorepo::{check_repository, find_projects, ProjectReport};
pub use value::SecretValue;
