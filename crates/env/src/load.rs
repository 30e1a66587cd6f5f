//! Loading one environment: reading its files safely, merging them by precedence, and
//! expanding references.

use crate::config::{EnvConfig, EnvSpec};
use crate::error::EnvError;
use crate::expand::{Definition, Expander};
use crate::parse::{parse, Segment};
use crate::value::SecretValue;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// How to load an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Expand `${VAR}` references (`false`: every `$` is literal, as `--no-expand`).
    pub expand: bool,
    /// Let the files' values beat variables already set in the process (`--override`).
    /// Without it, a variable set in the process keeps its process value.
    pub override_process: bool,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            expand: true,
            override_process: false,
        }
    }
}

impl LoadOptions {
    /// The files' values only, whatever the process has: what checks and listings use.
    pub fn files_only() -> LoadOptions {
        LoadOptions {
            expand: true,
            override_process: true,
        }
    }
}

/// One variable of a loaded environment.
#[derive(Debug, Clone)]
pub struct Variable {
    pub key: String,
    pub value: SecretValue,
    /// The file of the winning definition, relative to the project root, `/`-separated.
    pub file: String,
    /// Position of the key in that file (1-based).
    pub line: usize,
    pub column: usize,
    /// The last line of the value (multi-line quoted values).
    pub end_line: usize,
    /// Every file of the environment that defines the key, lowest precedence first.
    pub defined_in: Vec<String>,
    /// The process already had the variable and it won over the files.
    pub from_process: bool,
}

/// Something worth telling the user that does not stop loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// A file an environment read, with its text (for the scanner).
#[derive(Clone)]
pub struct SourceFile {
    /// Relative to the project root, `/`-separated.
    pub path: String,
    pub text: String,
}

impl fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SourceFile({}, {} bytes)", self.path, self.text.len())
    }
}

/// A loaded environment: every variable its files define, merged and expanded.
/// Loading never touches the process environment; see [`Environment::apply_to_process`].
#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    pub protected: bool,
    /// Keys the configuration requires in this environment.
    pub required: Vec<String>,
    /// The files that exist and were read, lowest precedence first.
    pub sources: Vec<SourceFile>,
    /// In order of first definition.
    pub variables: Vec<Variable>,
    pub warnings: Vec<Warning>,
    /// The environment's own file (`.env.<name>`), for findings about the whole environment.
    pub primary_file: String,
}

impl Environment {
    pub fn get(&self, key: &str) -> Option<&SecretValue> {
        self.variable(key).map(|v| &v.value)
    }

    pub fn variable(&self, key: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.key == key)
    }

    /// The variables as a map.
    pub fn to_map(&self) -> HashMap<String, SecretValue> {
        self.variables
            .iter()
            .map(|v| (v.key.clone(), v.value.clone()))
            .collect()
    }

    /// Sets the variables in this process. A variable the process already has is kept
    /// unless `override_process`.
    ///
    /// Setting variables is not thread-safe on every platform: call this early, before
    /// starting threads that read the environment.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join(".env.dev"), "SG_DOC_APPLY=from-file\nSG_DOC_KEPT=from-file\n")?;
    /// std::env::set_var("SG_DOC_KEPT", "from-process");
    ///
    /// let dev = sg_env::Project::open(dir.path())?.load("dev", &sg_env::LoadOptions::files_only())?;
    /// assert!(std::env::var_os("SG_DOC_APPLY").is_none(), "loading alone sets nothing");
    /// dev.apply_to_process(false);
    /// assert_eq!(std::env::var("SG_DOC_APPLY")?, "from-file");
    /// assert_eq!(std::env::var("SG_DOC_KEPT")?, "from-process");
    /// dev.apply_to_process(true);
    /// assert_eq!(std::env::var("SG_DOC_KEPT")?, "from-file");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply_to_process(&self, override_process: bool) {
        for v in &self.variables {
            if override_process || std::env::var_os(&v.key).is_none() {
                std::env::set_var(&v.key, v.value.expose());
            }
        }
    }
}

/// A project: its root directory and its `[env]` configuration.
#[derive(Debug, Clone)]
pub struct Project {
    root: PathBuf,
    config: EnvConfig,
}

impl Project {
    /// Opens the project rooted at `root`, reading `[env]` from `.secrets-guard.toml`.
    pub fn open(root: impl AsRef<Path>) -> Result<Project, EnvError> {
        let root = root.as_ref().to_path_buf();
        if let Err(source) = std::fs::read_dir(&root) {
            return Err(EnvError::Read { file: root, source });
        }
        let config = EnvConfig::load(&root)?;
        Ok(Project { root, config })
    }

    /// A project with a configuration given by the caller.
    pub fn with_config(root: impl AsRef<Path>, config: EnvConfig) -> Project {
        Project {
            root: root.as_ref().to_path_buf(),
            config,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config(&self) -> &EnvConfig {
        &self.config
    }

    /// The declared (or discovered) environment names, in order.
    pub fn environment_names(&self) -> Vec<String> {
        self.config
            .environments
            .iter()
            .map(|e| e.name.clone())
            .collect()
    }

    /// The rules that label secrets: the project's `.secrets-guard.toml` if it has one,
    /// else the default rules.
    pub fn rules(&self) -> Result<sg_rules::RuleSet, EnvError> {
        let config = self.root.join(crate::config::CONFIG_FILE);
        Ok(if config.is_file() {
            sg_rules::RuleSet::from_config_file(&config)?
        } else {
            sg_rules::RuleSet::default_rules()?
        })
    }

    /// Loads environment `name`.
    pub fn load(&self, name: &str, options: &LoadOptions) -> Result<Environment, EnvError> {
        let spec = self.config.environment(name)?;
        self.load_spec(&spec, options)
    }

    /// Loads every declared (or discovered) environment. None at all is an error.
    pub fn load_all(&self, options: &LoadOptions) -> Result<Vec<Environment>, EnvError> {
        if self.config.environments.is_empty() {
            return Err(EnvError::NoEnvironments {
                dir: self.root.clone(),
            });
        }
        self.config
            .environments
            .iter()
            .map(|spec| self.load_spec(spec, options))
            .collect()
    }

    fn load_spec(&self, spec: &EnvSpec, options: &LoadOptions) -> Result<Environment, EnvError> {
        let root_canonical = self.root.canonicalize().map_err(|source| EnvError::Read {
            file: self.root.clone(),
            source,
        })?;
        let mut sources = Vec::new();
        for file in &spec.files {
            match read_env_file(&self.root, &root_canonical, &file.path)? {
                Some(text) => sources.push(SourceFile {
                    path: file.path.clone(),
                    text,
                }),
                None if file.optional => {}
                None => {
                    return Err(EnvError::MissingFile {
                        file: self.root.join(&file.path),
                        environment: spec.name.clone(),
                    })
                }
            }
        }

        struct Def {
            /// Every definition, oldest first (earlier files, earlier lines of one file).
            templates: Vec<(Vec<Segment>, String)>,
            file: String,
            line: usize,
            column: usize,
            end_line: usize,
            defined_in: Vec<String>,
        }
        let mut order: Vec<String> = Vec::new();
        let mut defs: HashMap<String, Def> = HashMap::new();
        let mut warnings = Vec::new();
        for source in &sources {
            let shown = self.root.join(&source.path);
            let parsed = parse(&source.text, &shown, options.expand)?;
            for d in parsed.duplicates {
                warnings.push(Warning {
                    file: source.path.clone(),
                    line: d.second_line,
                    message: format!(
                        "`{}` is defined twice, on lines {} and {}; line {} wins",
                        d.key, d.first_line, d.second_line, d.second_line
                    ),
                });
            }
            for mut e in parsed.entries {
                let (mut templates, mut defined_in) = match defs.remove(&e.key) {
                    Some(previous) => (previous.templates, previous.defined_in),
                    None => {
                        order.push(e.key.clone());
                        (Vec::new(), Vec::new())
                    }
                };
                if !defined_in.contains(&source.path) {
                    defined_in.push(source.path.clone());
                }
                for earlier in std::mem::take(&mut e.earlier) {
                    templates.push((earlier.template, source.path.clone()));
                }
                templates.push((e.template, source.path.clone()));
                defs.insert(
                    e.key,
                    Def {
                        templates,
                        file: source.path.clone(),
                        line: e.line,
                        column: e.column,
                        end_line: e.end_line,
                        defined_in,
                    },
                );
            }
        }

        let definitions: HashMap<String, Vec<Definition<'_>>> = defs
            .iter()
            .map(|(k, d)| {
                let stack = d
                    .templates
                    .iter()
                    .map(|(template, file)| Definition {
                        template,
                        file: self.root.join(file),
                    })
                    .collect();
                (k.clone(), stack)
            })
            .collect();
        let process = |name: &str| std::env::var(name).ok();
        let mut expander = Expander::new(
            &definitions,
            &process,
            !options.override_process,
            &spec.name,
        );
        let mut variables = Vec::with_capacity(order.len());
        for key in order {
            let Some(def) = defs.get(&key) else { continue };
            let from_process = if options.override_process {
                None
            } else {
                std::env::var(&key).ok()
            };
            let (value, from_process) = match from_process {
                Some(v) => (v, true),
                None => (expander.value(&key)?, false),
            };
            variables.push(Variable {
                key,
                value: SecretValue::new(value),
                file: def.file.clone(),
                line: def.line,
                column: def.column,
                end_line: def.end_line,
                defined_in: def.defined_in.clone(),
                from_process,
            });
        }
        Ok(Environment {
            name: spec.name.clone(),
            protected: spec.protected,
            required: spec.required.clone(),
            sources,
            variables,
            warnings,
            primary_file: spec.primary_file().to_owned(),
        })
    }
}

/// Reads one env file. `Ok(None)` when it does not exist. Refuses a file (or a symlink)
/// that resolves outside the project, so `.env -> ~/.aws/credentials` is never loaded.
fn read_env_file(
    root: &Path,
    root_canonical: &Path,
    relative: &str,
) -> Result<Option<String>, EnvError> {
    let path = root.join(relative);
    match std::fs::symlink_metadata(&path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(EnvError::Read { file: path, source }),
    }
    let target = path.canonicalize().map_err(|source| EnvError::Read {
        file: path.clone(),
        source,
    })?;
    if !target.starts_with(root_canonical) {
        return Err(EnvError::SymlinkOutside { file: path, target });
    }
    let bytes = std::fs::read(&path).map_err(|source| EnvError::Read {
        file: path.clone(),
        source,
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(text)),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..valid]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            Err(EnvError::NotUtf8 { file: path, line })
        }
    }
}
