//! The `[env]` table of `.secrets-guard.toml`: which environments exist, the files each
//! reads, which are protected, and the keys each requires.

use crate::error::EnvError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The environments by convention, in the order they are listed and checked.
pub const CONVENTIONAL: &[&str] = &["dev", "qa", "prod"];
/// Protected unless `[env] protected` says otherwise.
pub const DEFAULT_PROTECTED: &[&str] = &["prod"];
/// Where the `[env]` table lives, relative to the project root.
pub const CONFIG_FILE: &str = ".secrets-guard.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnv {
    names: Option<Vec<String>>,
    protected: Option<Vec<String>>,
    #[serde(default)]
    required: Vec<String>,
    #[serde(default)]
    environments: BTreeMap<String, RawEnvironment>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvironment {
    files: Option<Vec<String>>,
    #[serde(default)]
    required: Vec<String>,
    protected: Option<bool>,
}

/// One file an environment reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// Relative to the project root, `/`-separated.
    pub path: String,
    /// `.env` and `*.local` files may be absent; the others must exist.
    pub optional: bool,
}

impl FileSpec {
    fn new(path: String) -> FileSpec {
        let name = path.rsplit('/').next().unwrap_or(&path);
        let optional = name == ".env" || name.ends_with(".local");
        FileSpec { path, optional }
    }
}

/// One environment: its files from lowest to highest precedence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvSpec {
    pub name: String,
    pub files: Vec<FileSpec>,
    pub required: Vec<String>,
    pub protected: bool,
}

impl EnvSpec {
    /// The conventional environment `name`: `.env`, `.env.<name>`, `.env.<name>.local`.
    pub fn conventional(name: &str, protected: bool, required: Vec<String>) -> EnvSpec {
        EnvSpec {
            name: name.to_owned(),
            files: default_files(name),
            required,
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

fn default_files(name: &str) -> Vec<FileSpec> {
    vec![
        FileSpec::new(".env".to_owned()),
        FileSpec::new(format!(".env.{name}")),
        FileSpec::new(format!(".env.{name}.local")),
    ]
}

/// The resolved `[env]` configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvConfig {
    /// Declared (or, without a declaration, discovered) environments, in order.
    pub environments: Vec<EnvSpec>,
    /// Whether `[env] names` declared the environments; otherwise any name reads `.env.<name>`.
    pub declared: bool,
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

impl EnvConfig {
    /// Reads `[env]` from `.secrets-guard.toml` in `root`, if there is one.
    pub fn load(root: &Path) -> Result<EnvConfig, EnvError> {
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
        Self::resolve(raw, root, &path)
    }

    /// Parses the `[env]` table out of a whole config file's text.
    pub fn from_text(text: &str, root: &Path) -> Result<EnvConfig, EnvError> {
        let path = root.join(CONFIG_FILE);
        let raw = Self::raw_from_text(text, &path)?;
        Self::resolve(raw, root, &path)
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

    fn resolve(raw: RawEnv, root: &Path, path: &Path) -> Result<EnvConfig, EnvError> {
        let config_error = |message: String| EnvError::Config {
            file: path.to_path_buf(),
            message,
        };
        // `names` makes the list exact; without it the conventional environments that have
        // files are found, and `[env.environments.X]` adds (and configures) X.
        let declared = raw.names.is_some();
        let mut names: Vec<String> = match &raw.names {
            Some(names) => names.clone(),
            None => CONVENTIONAL
                .iter()
                .filter(|n| std::fs::symlink_metadata(root.join(format!(".env.{n}"))).is_ok())
                .map(|n| (*n).to_owned())
                .collect(),
        };
        for name in raw.environments.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        let protected = raw
            .protected
            .clone()
            .unwrap_or_else(|| DEFAULT_PROTECTED.iter().map(|s| (*s).to_owned()).collect());
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
            if let Some(own) = own {
                required.extend(own.required.iter().cloned());
            }
            for key in &required {
                if !crate::parse::is_identifier(key) {
                    return Err(config_error(format!(
                        "required key `{key}` is not a valid variable name"
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
                None => default_files(name),
            };
            let is_protected = own
                .and_then(|o| o.protected)
                .unwrap_or_else(|| protected.contains(name));
            environments.push(EnvSpec {
                name: name.clone(),
                files,
                required,
                protected: is_protected,
            });
        }
        Ok(EnvConfig {
            environments,
            declared,
            protected,
            required: raw.required,
        })
    }

    /// The environment `name`: a declared one, or (without a declaration) the
    /// conventional files for any valid name.
    pub fn environment(&self, name: &str) -> Result<EnvSpec, EnvError> {
        if let Some(spec) = self.environments.iter().find(|e| e.name == name) {
            return Ok(spec.clone());
        }
        if !self.declared && is_valid_env_name(name) {
            return Ok(EnvSpec::conventional(
                name,
                self.protected.iter().any(|p| p == name),
                self.required.clone(),
            ));
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
                optional: false
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
}
