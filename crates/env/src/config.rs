//! The `[env]` table of `.secrets-guard.toml`: which environments exist, the files each
//! reads, which are protected, and the keys each requires.

use crate::error::EnvError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The environments of the `standard` convention, in the order they are listed and checked.
pub const CONVENTIONAL: &[&str] = &["dev", "qa", "prod"];
/// Protected whatever `[env] protected` says (unless an environment's own `protected = false`).
pub const DEFAULT_PROTECTED: &[&str] = &["prod", "production", "prd", "live"];
/// Where the `[env]` table lives, relative to the project root.
pub const CONFIG_FILE: &str = ".secrets-guard.toml";

/// Spellings that name the same environment: `--env dev` finds `.env.development`.
const ALIASES: &[&[&str]] = &[
    &["dev", "development"],
    &["prod", "production"],
    &["stage", "staging"],
];

/// `.env.<suffix>` files that are not an environment's.
const NOT_ENVIRONMENTS: &[&str] = &[
    "local", "example", "sample", "template", "tpl", "dist", "defaults", "default", "schema",
    "bak", "backup", "orig", "old", "swp", "save", "vault", "keys", "enc", "gpg", "age",
];

/// Whether two environment names are the same environment (`prod` and `production`).
pub fn same_environment(a: &str, b: &str) -> bool {
    a == b
        || ALIASES
            .iter()
            .any(|group| group.contains(&a) && group.contains(&b))
}

/// How a project names and layers its env files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Convention {
    /// `.env < .env.<name> < .env.<name>.local`; `.env.<name>` must exist.
    Standard,
    /// dotenv-flow and Vite: `.env < .env.local < .env.<mode> < .env.<mode>.local`, with
    /// `.env.local` skipped for `test`.
    DotenvFlow,
    /// Next.js: `.env < .env.<mode> < .env.local < .env.<mode>.local`, with `.env.local`
    /// skipped for `test`.
    NextJs,
}

impl Convention {
    pub const NAMES: &'static [&'static str] =
        &["standard", "dotenv-flow", "vite", "nextjs", "next"];

    /// `standard`, `dotenv-flow` (or `vite`), `nextjs` (or `next`).
    pub fn parse(name: &str) -> Option<Convention> {
        match name.to_ascii_lowercase().as_str() {
            "standard" | "default" => Some(Convention::Standard),
            "dotenv-flow" | "vite" => Some(Convention::DotenvFlow),
            "nextjs" | "next" | "next.js" => Some(Convention::NextJs),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Convention::Standard => "standard",
            Convention::DotenvFlow => "dotenv-flow",
            Convention::NextJs => "nextjs",
        }
    }

    /// The files of environment (mode) `name`, lowest precedence first.
    pub fn files(self, name: &str) -> Vec<FileSpec> {
        let own = format!(".env.{name}");
        let own_local = format!(".env.{name}.local");
        // Tests must give the same results on every machine: no personal `.env.local`.
        let shared_local = (name != "test").then(|| ".env.local".to_owned());
        let paths: Vec<String> = match self {
            Convention::Standard => vec![".env".into(), own, own_local],
            Convention::DotenvFlow => [
                Some(".env".into()),
                shared_local,
                Some(own),
                Some(own_local),
            ]
            .into_iter()
            .flatten()
            .collect(),
            Convention::NextJs => [
                Some(".env".into()),
                Some(own),
                shared_local,
                Some(own_local),
            ]
            .into_iter()
            .flatten()
            .collect(),
        };
        paths
            .into_iter()
            .map(|p| {
                let mut f = FileSpec::new(p);
                // Only the standard layout insists on the environment's own file.
                f.optional |= self != Convention::Standard;
                f
            })
            .collect()
    }

    /// The environments a project of this convention always has, files or not.
    fn implied(self) -> &'static [&'static str] {
        match self {
            Convention::Standard => &[],
            Convention::DotenvFlow | Convention::NextJs => &["development", "production"],
        }
    }

    /// Guesses the convention from the files in `root`: a Next.js config or dependency is
    /// Next.js; other long mode names (`.env.development`, `.env.production`, `.env.test`)
    /// or a Vite config are dotenv-flow; anything else is standard.
    pub fn detect(root: &Path) -> Convention {
        let exists = |name: &str| std::fs::symlink_metadata(root.join(name)).is_ok();
        let any = |names: &[&str]| names.iter().any(|n| exists(n));
        let package_has = |dep: &str| {
            std::fs::read_to_string(root.join("package.json"))
                .is_ok_and(|text| text.contains(&format!("\"{dep}\"")))
        };
        if any(&[
            "next.config.js",
            "next.config.mjs",
            "next.config.ts",
            "next.config.cjs",
        ]) || package_has("next")
        {
            return Convention::NextJs;
        }
        if any(&[
            "vite.config.js",
            "vite.config.ts",
            "vite.config.mjs",
            "vite.config.cjs",
        ]) || package_has("vite")
            || package_has("dotenv-flow")
        {
            return Convention::DotenvFlow;
        }
        let long = any(&[".env.development", ".env.production", ".env.test"]);
        let short = any(&[".env.dev", ".env.qa", ".env.prod"]);
        if long && !short {
            Convention::DotenvFlow
        } else {
            Convention::Standard
        }
    }
}

/// Where the convention in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConventionSource {
    /// `--convention`.
    Option,
    /// `[env] convention`.
    Config,
    /// Detected from the files present.
    Detected,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnv {
    names: Option<Vec<String>>,
    protected: Option<Vec<String>>,
    convention: Option<String>,
    #[serde(default)]
    required: Vec<String>,
    #[serde(default)]
    environments: BTreeMap<String, RawEnvironment>,
    #[serde(default)]
    allowlists: Vec<Allowlist>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvironment {
    files: Option<Vec<String>>,
    #[serde(default)]
    required: Vec<String>,
    protected: Option<bool>,
    #[serde(default)]
    optional: Vec<String>,
    #[serde(default)]
    only: Vec<String>,
}

/// One `[[env.allowlists]]` entry: `env check` reports nothing about a variable whose key,
/// value or file it names. Any one field matching is enough.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowlist {
    #[serde(default)]
    pub description: Option<String>,
    /// Key names, exactly.
    #[serde(default)]
    pub keys: Vec<String>,
    /// SHA-256 of values, in hex (`printf %s "$VALUE" | sha256sum`), never the values.
    #[serde(default)]
    pub hashes: Vec<String>,
    /// Env files, relative to the project root.
    #[serde(default)]
    pub paths: Vec<String>,
}

/// One file an environment reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// Relative to the project root, `/`-separated; for an `-f` file, the path as given.
    pub path: String,
    /// `.env` and `*.local` files may be absent; the others must exist.
    pub optional: bool,
    /// Named on the command line (`-f`): may lie outside the project, must exist.
    pub explicit: bool,
}

impl FileSpec {
    fn new(path: String) -> FileSpec {
        let name = path.rsplit('/').next().unwrap_or(&path);
        let optional = name == ".env" || name.ends_with(".local");
        FileSpec {
            path,
            optional,
            explicit: false,
        }
    }

    /// A file given with `-f`.
    pub fn explicit(path: impl Into<String>) -> FileSpec {
        FileSpec {
            path: path.into(),
            optional: false,
            explicit: true,
        }
    }

    /// Files every environment shares by design: they never make an environment protected.
    pub fn is_shared_base(&self) -> bool {
        !self.explicit && matches!(self.path.as_str(), ".env" | ".env.local")
    }
}

/// One environment: its files from lowest to highest precedence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvSpec {
    pub name: String,
    pub files: Vec<FileSpec>,
    pub required: Vec<String>,
    /// Keys this environment may lack although others define them.
    pub optional: Vec<String>,
    /// Keys only this environment has: the others are not told they miss them.
    pub only: Vec<String>,
    pub protected: bool,
}

impl EnvSpec {
    /// The standard environment `name`: `.env`, `.env.<name>`, `.env.<name>.local`.
    pub fn conventional(name: &str, protected: bool, required: Vec<String>) -> EnvSpec {
        EnvSpec {
            name: name.to_owned(),
            files: Convention::Standard.files(name),
            required,
            optional: Vec::new(),
            only: Vec::new(),
            protected,
        }
    }

    /// The file named for the environment (`.env.<name>`), or its first required file.
    pub fn primary_file(&self) -> &str {
        let own = format!(".env.{}", self.name);
        self.files
            .iter()
            .find(|f| f.path == own)
            .or_else(|| self.files.iter().find(|f| !f.optional))
            .or(self.files.first())
            .map_or(".env", |f| f.path.as_str())
    }
}

/// The resolved `[env]` configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvConfig {
    /// Declared (or, without a declaration, discovered) environments, in order.
    pub environments: Vec<EnvSpec>,
    /// Whether `[env] names` declared the environments; otherwise any name reads `.env.<name>`.
    pub declared: bool,
    pub convention: Convention,
    pub convention_source: ConventionSource,
    pub allowlists: Vec<Allowlist>,
    protected: Vec<String>,
    required: Vec<String>,
}

/// Whether `name` can name an environment: it becomes part of a file name.
pub fn is_valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Sort rank of an environment name: dev first, prod last, others between, by name.
fn rank(name: &str) -> (u8, String) {
    let r = match name {
        "dev" | "development" | "local" => 0,
        "test" => 1,
        "qa" => 2,
        "stage" | "staging" => 4,
        "prod" | "production" | "prd" | "live" => 5,
        _ => 3,
    };
    (r, name.to_owned())
}

/// The environment names `.env.<name>` files in `root` give.
fn discover_names(root: &Path) -> Result<Vec<String>, EnvError> {
    let entries = std::fs::read_dir(root).map_err(|source| EnvError::Read {
        file: root.to_path_buf(),
        source,
    })?;
    let mut names = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str().and_then(|n| n.strip_prefix(".env.")) else {
            continue;
        };
        if is_valid_env_name(name) && !NOT_ENVIRONMENTS.contains(&name) {
            names.push(name.to_owned());
        }
    }
    names.sort_by_key(|n| rank(n));
    Ok(names)
}

impl EnvConfig {
    /// Reads `[env]` from `.secrets-guard.toml` in `root`, if there is one.
    pub fn load(root: &Path) -> Result<EnvConfig, EnvError> {
        Self::load_with(root, None)
    }

    /// As [`EnvConfig::load`], with the convention given (`--convention`) instead of
    /// configured or detected.
    pub fn load_with(root: &Path, convention: Option<Convention>) -> Result<EnvConfig, EnvError> {
        let path = root.join(CONFIG_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(EnvError::Read { file: path, source }),
        };
        let raw = match text {
            None => RawEnv::default(),
            Some(text) => Self::raw_from_text(&text, &path)?,
        };
        Self::resolve(raw, root, &path, convention)
    }

    /// Parses the `[env]` table out of a whole config file's text.
    pub fn from_text(text: &str, root: &Path) -> Result<EnvConfig, EnvError> {
        let path = root.join(CONFIG_FILE);
        let raw = Self::raw_from_text(text, &path)?;
        Self::resolve(raw, root, &path, None)
    }

    fn raw_from_text(text: &str, path: &Path) -> Result<RawEnv, EnvError> {
        let config_error = |message: String| EnvError::Config {
            file: path.to_path_buf(),
            message,
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| config_error(e.to_string()))?;
        match table.get("env") {
            None => Ok(RawEnv::default()),
            Some(value) => value
                .clone()
                .try_into::<RawEnv>()
                .map_err(|e| config_error(e.to_string())),
        }
    }

    fn resolve(
        raw: RawEnv,
        root: &Path,
        path: &Path,
        convention: Option<Convention>,
    ) -> Result<EnvConfig, EnvError> {
        let config_error = |message: String| EnvError::Config {
            file: path.to_path_buf(),
            message,
        };
        let configured = match &raw.convention {
            Some(name) => Some(Convention::parse(name).ok_or_else(|| {
                config_error(format!(
                    "unknown convention `{name}` (known: {})",
                    Convention::NAMES.join(", ")
                ))
            })?),
            None => None,
        };
        let (convention, convention_source) = match (convention, configured) {
            (Some(c), _) => (c, ConventionSource::Option),
            (None, Some(c)) => (c, ConventionSource::Config),
            (None, None) => (Convention::detect(root), ConventionSource::Detected),
        };
        // `names` makes the list exact; without it the environments are those with a
        // `.env.<name>` file (and the convention's usual modes), and
        // `[env.environments.X]` adds (and configures) X.
        let declared = raw.names.is_some();
        let mut names: Vec<String> = match &raw.names {
            Some(names) => names.clone(),
            None => {
                let mut names = discover_names(root)?;
                for implied in convention.implied() {
                    if !names.iter().any(|n| same_environment(n, implied)) {
                        names.push((*implied).to_owned());
                    }
                }
                names.sort_by_key(|n| rank(n));
                names
            }
        };
        for name in raw.environments.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        let user_protected = raw.protected.clone().unwrap_or_default();
        let mut protected: Vec<String> =
            DEFAULT_PROTECTED.iter().map(|s| (*s).to_owned()).collect();
        protected.extend(user_protected.iter().cloned());
        let mut environments = Vec::new();
        for name in &names {
            if !is_valid_env_name(name) {
                return Err(config_error(format!(
                    "`{name}` is not a valid environment name (letters, digits, `-` and `_`)"
                )));
            }
            if environments.iter().any(|e: &EnvSpec| &e.name == name) {
                return Err(config_error(format!(
                    "environment `{name}` is listed twice"
                )));
            }
            let own = raw.environments.get(name);
            let mut required = raw.required.clone();
            let (mut optional, mut only) = (Vec::new(), Vec::new());
            if let Some(own) = own {
                required.extend(own.required.iter().cloned());
                optional = own.optional.clone();
                only = own.only.clone();
            }
            for key in required.iter().chain(&optional).chain(&only) {
                if !crate::parse::is_identifier(key) {
                    return Err(config_error(format!(
                        "environment `{name}`: key `{key}` is not a valid variable name"
                    )));
                }
            }
            let files = match own.and_then(|o| o.files.clone()) {
                Some(files) => {
                    for f in &files {
                        if f.is_empty()
                            || Path::new(f).is_absolute()
                            || f.split('/').any(|c| c == "..")
                        {
                            return Err(config_error(format!(
                                "environment `{name}`: file `{f}` must be a relative path inside the project"
                            )));
                        }
                    }
                    files.into_iter().map(FileSpec::new).collect()
                }
                None => convention.files(name),
            };
            let is_protected = own
                .and_then(|o| o.protected)
                .unwrap_or_else(|| protected.iter().any(|p| same_environment(p, name)));
            environments.push(EnvSpec {
                name: name.clone(),
                files,
                required,
                optional,
                only,
                protected: is_protected,
            });
        }
        // A typo (`prodution`) would otherwise protect nothing, silently.
        for entry in &user_protected {
            if !environments
                .iter()
                .any(|e| same_environment(&e.name, entry))
            {
                let known: Vec<&str> = environments.iter().map(|e| e.name.as_str()).collect();
                return Err(config_error(format!(
                    "`protected` names `{entry}`, which matches no environment (known: {})",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                )));
            }
        }
        for (i, a) in raw.allowlists.iter().enumerate() {
            for h in &a.hashes {
                let hex = h.strip_prefix("sha256:").unwrap_or(h);
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(config_error(format!(
                        "[[env.allowlists]] #{}: `hashes` takes SHA-256 digests in hex (64 characters), never the values",
                        i + 1
                    )));
                }
            }
        }
        Ok(EnvConfig {
            environments,
            declared,
            convention,
            convention_source,
            allowlists: raw.allowlists,
            protected,
            required: raw.required,
        })
    }

    /// Whether `name` is protected by name (the default names, `[env] protected`, or the
    /// environment's own `protected`).
    pub fn is_protected_name(&self, name: &str) -> bool {
        match self.environments.iter().find(|e| e.name == name) {
            Some(spec) => spec.protected,
            None => self.protected.iter().any(|p| same_environment(p, name)),
        }
    }

    /// The environment `name`: a declared one (or its alias: `dev` for `development`), or
    /// (without a declaration) the convention's files for any valid name.
    pub fn environment(&self, name: &str) -> Result<EnvSpec, EnvError> {
        if let Some(spec) = self.environments.iter().find(|e| e.name == name) {
            return Ok(spec.clone());
        }
        if let Some(spec) = self
            .environments
            .iter()
            .find(|e| same_environment(&e.name, name))
        {
            return Ok(spec.clone());
        }
        if !self.declared && is_valid_env_name(name) {
            let mut files = self.convention.files(name);
            // A name no file gives would load only the shared files: a typo, most likely.
            for f in &mut files {
                if f.path == format!(".env.{name}") {
                    f.optional = false;
                }
            }
            return Ok(EnvSpec {
                name: name.to_owned(),
                files,
                required: self.required.clone(),
                optional: Vec::new(),
                only: Vec::new(),
                protected: self.protected.iter().any(|p| same_environment(p, name)),
            });
        }
        let known: Vec<&str> = self.environments.iter().map(|e| e.name.as_str()).collect();
        Err(EnvError::UnknownEnvironment {
            name: name.to_owned(),
            known: if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_table_sets_files_protection_and_required_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = EnvConfig::from_text(
            r#"
[env]
names = ["dev", "staging", "live"]
protected = ["live"]
required = ["DATABASE_URL"]
[env.environments.live]
files = ["config/live.env", "config/live.env.local"]
required = ["STRIPE_KEY"]
"#,
            dir.path(),
        )
        .expect("valid config");
        assert!(config.declared);
        let names: Vec<&str> = config
            .environments
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(names, ["dev", "staging", "live"]);
        let live = config.environment("live").expect("declared");
        assert!(live.protected);
        assert_eq!(live.required, ["DATABASE_URL", "STRIPE_KEY"]);
        assert_eq!(
            live.files[0],
            FileSpec {
                path: "config/live.env".into(),
                optional: false,
                explicit: false,
            }
        );
        assert!(live.files[1].optional);
        assert!(!config.environment("dev").expect("declared").protected);
        assert!(matches!(
            config.environment("prod"),
            Err(EnvError::UnknownEnvironment { .. })
        ));
    }

    #[test]
    fn without_a_table_the_conventional_files_are_discovered() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(".env.dev"), "A=1\n").expect("write");
        std::fs::write(dir.path().join(".env.prod"), "A=2\n").expect("write");
        let config = EnvConfig::load(dir.path()).expect("no config is fine");
        let names: Vec<&str> = config
            .environments
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(names, ["dev", "prod"]);
        assert!(config.environment("prod").expect("found").protected);
        assert_eq!(
            config
                .environment("qa")
                .expect("conventional")
                .primary_file(),
            ".env.qa"
        );
    }

    #[test]
    fn typos_and_escaping_paths_are_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = EnvConfig::from_text("[env]\nprotectd = [\"prod\"]\n", dir.path())
            .expect_err("unknown field");
        assert!(err.to_string().contains("protectd"), "{err}");
        let err = EnvConfig::from_text(
            "[env.environments.prod]\nfiles = [\"../secrets.env\"]\n",
            dir.path(),
        )
        .expect_err("outside the project");
        assert!(err.to_string().contains("inside the project"), "{err}");
    }

    #[test]
    fn a_protected_entry_matching_no_environment_is_an_error() {
        // Repro: `protected = ["prodution"]` silently protected nothing.
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(".env.prod"), "A=1\n").expect("write");
        let err = EnvConfig::from_text("[env]\nprotected = [\"prodution\"]\n", dir.path())
            .expect_err("typo");
        assert!(err.to_string().contains("`prodution`"), "{err}");
        assert!(err.to_string().contains("known: prod"), "{err}");
        // An alias of an existing environment is fine.
        EnvConfig::from_text("[env]\nprotected = [\"production\"]\n", dir.path())
            .expect("alias of prod");
    }

    #[test]
    fn default_names_are_protected_and_aliases_resolve() {
        let dir = tempfile::tempdir().expect("tempdir");
        for f in [
            ".env.development",
            ".env.production",
            ".env.staging",
            ".env.example",
        ] {
            std::fs::write(dir.path().join(f), "A=1\n").expect("write");
        }
        let config = EnvConfig::load(dir.path()).expect("loads");
        assert_eq!(config.convention, Convention::DotenvFlow);
        let names: Vec<&str> = config
            .environments
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(names, ["development", "staging", "production"]);
        assert!(config.environment("prod").expect("alias").protected);
        assert_eq!(
            config.environment("prod").expect("alias").name,
            "production"
        );
        assert_eq!(config.environment("stage").expect("alias").name, "staging");
        assert!(!config.environment("dev").expect("alias").protected);
        for name in ["prd", "live"] {
            assert!(config.is_protected_name(name), "{name}");
        }
    }

    #[test]
    fn each_convention_layers_its_files() {
        let paths = |c: Convention, mode: &str| -> Vec<String> {
            c.files(mode).into_iter().map(|f| f.path).collect()
        };
        assert_eq!(
            paths(Convention::Standard, "qa"),
            [".env", ".env.qa", ".env.qa.local"]
        );
        assert_eq!(
            paths(Convention::DotenvFlow, "development"),
            [
                ".env",
                ".env.local",
                ".env.development",
                ".env.development.local"
            ]
        );
        assert_eq!(
            paths(Convention::DotenvFlow, "test"),
            [".env", ".env.test", ".env.test.local"]
        );
        assert_eq!(
            paths(Convention::NextJs, "production"),
            [
                ".env",
                ".env.production",
                ".env.local",
                ".env.production.local"
            ]
        );
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("next.config.js"), "module.exports = {}\n").expect("write");
        assert_eq!(Convention::detect(dir.path()), Convention::NextJs);
        let config =
            EnvConfig::from_text("[env]\nconvention = \"vite\"\n", dir.path()).expect("configured");
        assert_eq!(config.convention, Convention::DotenvFlow);
        assert_eq!(config.convention_source, ConventionSource::Config);
        let err = EnvConfig::from_text("[env]\nconvention = \"rails\"\n", dir.path())
            .expect_err("unknown");
        assert!(err.to_string().contains("unknown convention"), "{err}");
    }
}
