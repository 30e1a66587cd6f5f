//! Loading one environment: reading its files safely, merging them by precedence, and
//! expanding references.

use crate::config::{Convention, EnvConfig, EnvSpec, FileSpec};
use crate::error::EnvError;
use crate::expand::{Body, Definitions, Expander};
use crate::keys::KeyIndex;
use crate::parse::{parse, Duplicate, Entry, Pieces, Template};
use crate::value::SecretValue;
use std::collections::{HashMap, HashSet};
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
    /// Its line carries `# secrets-guard:allow`: `env check` reports nothing about it.
    pub allowed: bool,
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
    /// As shown: relative to the repository root when the project is in a git repository,
    /// else to the project root, `/`-separated (an `-f` file: as given).
    pub path: String,
    /// Where it was read.
    pub full: PathBuf,
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
    /// Protected by name, or because it loads a file a protected environment loads. Values
    /// carrying a protected environment's marker protect it too: see [`crate::protection`].
    pub protected: bool,
    /// Why it is protected, when it is.
    pub protected_reason: Option<String>,
    /// Keys the configuration requires in this environment.
    pub required: Vec<String>,
    /// The files that exist and were read, lowest precedence first.
    pub sources: Vec<SourceFile>,
    /// In order of first definition.
    pub variables: Vec<Variable>,
    pub warnings: Vec<Warning>,
    /// The environment's own file (`.env.<name>`), for findings about the whole environment.
    pub primary_file: String,
    /// Keys this environment may lack (`optional`), and keys only it has (`only`).
    pub optional: Vec<String>,
    pub only: Vec<String>,
    /// Finds a variable by key (variable `i` is the load's key `i`).
    index: KeyIndex,
}

impl Environment {
    pub fn get(&self, key: &str) -> Option<&SecretValue> {
        self.variable(key).map(|v| &v.value)
    }

    pub fn variable(&self, key: &str) -> Option<&Variable> {
        let key_of = |i: usize| self.variables.get(i).map(|v| v.key.as_str());
        self.index
            .get(key, key_of)
            .and_then(|i| self.variables.get(i))
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
    /// The root relative to the repository's, `/`-terminated (empty at the repository root
    /// or outside a repository): file paths are shown as git names them.
    prefix: String,
}

/// The working tree root of the git repository holding `dir`, found by its `.git`.
pub fn repository_root(dir: &Path) -> Option<PathBuf> {
    let dir = dir.canonicalize().ok()?;
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// Whether `dir` holds env files (`.env`, `.env.<anything>`) or a `.secrets-guard.toml`
/// with an `[env]` table.
pub fn has_env_files(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let env_file = entries.flatten().any(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        (name == ".env" || name.starts_with(".env."))
            && !matches!(
                name.as_ref(),
                ".env.example" | ".env.sample" | ".env.template"
            )
    });
    env_file
        || std::fs::read_to_string(dir.join(crate::config::CONFIG_FILE))
            .is_ok_and(|t| t.lines().any(|l| l.trim_start().starts_with("[env")))
}

impl Project {
    /// Opens the project rooted at `root`, reading `[env]` from `.secrets-guard.toml`.
    pub fn open(root: impl AsRef<Path>) -> Result<Project, EnvError> {
        Self::open_with(root, None)
    }

    /// As [`Project::open`], with the convention given instead of configured or detected.
    pub fn open_with(
        root: impl AsRef<Path>,
        convention: Option<Convention>,
    ) -> Result<Project, EnvError> {
        let root = root.as_ref().to_path_buf();
        if let Err(source) = std::fs::read_dir(&root) {
            return Err(EnvError::Read { file: root, source });
        }
        let config = EnvConfig::load_with(&root, convention)?;
        let prefix = match (root.canonicalize(), repository_root(&root)) {
            (Ok(canonical), Some(repo)) => canonical
                .strip_prefix(&repo)
                .ok()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .filter(|p| !p.is_empty())
                .map(|p| format!("{p}/"))
                .unwrap_or_default(),
            _ => String::new(),
        };
        Ok(Project {
            root,
            config,
            prefix,
        })
    }

    /// The project for `start`, as direnv finds one: `start` itself or the nearest parent
    /// directory, up to the repository root, that holds env files. Outside a repository
    /// only `start` is looked at.
    pub fn discover(
        start: impl AsRef<Path>,
        convention: Option<Convention>,
    ) -> Result<Project, EnvError> {
        let start = start.as_ref();
        let canonical = start.canonicalize().map_err(|source| EnvError::Read {
            file: start.to_path_buf(),
            source,
        })?;
        let stop = repository_root(&canonical).unwrap_or_else(|| canonical.clone());
        for dir in canonical.ancestors() {
            if has_env_files(dir) {
                let dir = if dir == canonical { start } else { dir };
                return Self::open_with(dir, convention);
            }
            if dir == stop {
                break;
            }
        }
        Err(EnvError::NoProject {
            dir: start.to_path_buf(),
            stop,
        })
    }

    /// A project with a configuration given by the caller.
    pub fn with_config(root: impl AsRef<Path>, config: EnvConfig) -> Project {
        Project {
            root: root.as_ref().to_path_buf(),
            config,
            prefix: String::new(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config(&self) -> &EnvConfig {
        &self.config
    }

    /// The project root relative to the repository root, `/`-terminated, or empty.
    pub fn repo_prefix(&self) -> &str {
        &self.prefix
    }

    /// A file of the project as findings and listings show it.
    pub fn shown_path(&self, file: &FileSpec) -> String {
        if file.explicit {
            file.path.clone()
        } else {
            format!("{}{}", self.prefix, file.path)
        }
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

    /// Loads environment `name` (or, without one, no environment's files) followed by
    /// `files`, in order, as Node's `--env-file` does. The files are read as given
    /// (relative to the working directory) and must exist.
    pub fn load_with_files(
        &self,
        name: Option<&str>,
        files: &[String],
        options: &LoadOptions,
    ) -> Result<Environment, EnvError> {
        let mut spec = match name {
            Some(name) => self.config.environment(name)?,
            None => EnvSpec {
                name: "-f".to_owned(),
                files: Vec::new(),
                required: Vec::new(),
                optional: Vec::new(),
                only: Vec::new(),
                protected: false,
            },
        };
        spec.files
            .extend(files.iter().map(|f| FileSpec::explicit(f.clone())));
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

    /// Files protected environments load (resolved through symlinks), with the
    /// environment's name; the shared `.env` and `.env.local` are not among them.
    fn protected_files(&self) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        for spec in self.config.environments.iter().filter(|e| e.protected) {
            for f in spec.files.iter().filter(|f| !f.is_shared_base()) {
                if let Ok(canonical) = self.root.join(&f.path).canonicalize() {
                    out.push((canonical, spec.name.clone()));
                }
            }
        }
        out
    }

    fn load_spec(&self, spec: &EnvSpec, options: &LoadOptions) -> Result<Environment, EnvError> {
        let root_canonical = self.root.canonicalize().map_err(|source| EnvError::Read {
            file: self.root.clone(),
            source,
        })?;
        let mut sources = Vec::new();
        for file in &spec.files {
            let full = if file.explicit {
                PathBuf::from(&file.path)
            } else {
                self.root.join(&file.path)
            };
            let text = if file.explicit {
                read_file(&full).map(Some)?
            } else {
                read_env_file(&self.root, &root_canonical, &file.path)?
            };
            match text {
                Some(text) => sources.push(SourceFile {
                    path: self.shown_path(file),
                    full,
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

        let mut merged = Merged::default();
        for (source_index, source) in sources.iter().enumerate() {
            merged.reserve(estimated_entries(&source.text));
            let allowed_lines = allow_comment_lines(&source.text);
            parse(&source.text, &source.full, options.expand, |e| {
                let allowed = !allowed_lines.is_empty()
                    && (e.line..=e.end_line).any(|l| allowed_lines.contains(&l));
                merged.add(e, source_index, &source.path, allowed);
            })?;
        }
        let Merged {
            mut variables,
            origins,
            extras,
            index,
            warnings,
            ..
        } = merged.finish();

        // The values with references, expanded in variable order (the first error is the
        // first in the files); a variable set in the process keeps its process value.
        let process = |name: &str| std::env::var(name).ok();
        let table = Table {
            variables: &variables,
            origins: &origins,
            extras: &extras,
            index: &index,
            sources: &sources,
        };
        let mut expander = Expander::new(&table, &process, !options.override_process, &spec.name);
        // (variable, value, from the process), in variable order.
        let mut computed: Vec<(usize, String, bool)> = Vec::new();
        for (id, (variable, origin)) in variables.iter().zip(&origins).enumerate() {
            let from_process = if options.override_process {
                None
            } else {
                std::env::var(&variable.key).ok()
            };
            match from_process {
                Some(v) => computed.push((id, v, true)),
                None if origin.has_pieces(&extras) => {
                    computed.push((id, expander.value(id)?, false));
                }
                None => {}
            }
        }
        drop(expander);
        for (id, value, from_process) in computed {
            if let Some(variable) = variables.get_mut(id) {
                variable.value = SecretValue::new(value);
                variable.from_process = from_process;
            }
        }
        let (protected, protected_reason) = if spec.protected {
            (
                true,
                Some(format!("`{}` is a protected environment", spec.name)),
            )
        } else {
            match self.loads_protected_file(spec, &sources) {
                Some(reason) => (true, Some(reason)),
                None => (false, None),
            }
        };
        let primary_file = spec
            .files
            .iter()
            .find(|f| f.path == spec.primary_file())
            .map_or_else(|| spec.primary_file().to_owned(), |f| self.shown_path(f));
        Ok(Environment {
            name: spec.name.clone(),
            protected,
            protected_reason,
            required: spec.required.clone(),
            sources,
            variables,
            warnings,
            primary_file,
            optional: spec.optional.clone(),
            only: spec.only.clone(),
            index,
        })
    }

    /// Why `spec` is protected by a file it loads, if it is: `.env.dev -> .env.prod`, or a
    /// custom environment listing `.env.prod`, loads what a protected environment loads.
    fn loads_protected_file(&self, spec: &EnvSpec, sources: &[SourceFile]) -> Option<String> {
        let protected = self.protected_files();
        if protected.is_empty() {
            return None;
        }
        for source in spec
            .files
            .iter()
            .filter(|f| !f.is_shared_base())
            .filter_map(|f| sources.iter().find(|s| s.path == self.shown_path(f)))
        {
            let Ok(canonical) = source.full.canonicalize() else {
                continue;
            };
            if let Some((_, owner)) = protected
                .iter()
                .find(|(p, owner)| *p == canonical && *owner != spec.name)
            {
                return Some(format!(
                    "`{}` loads `{}`, which protected environment `{owner}` loads",
                    spec.name, source.path
                ));
            }
        }
        None
    }
}

/// The variables of an environment as its files are read, numbered in order of first
/// definition; a value with references is filled in after expansion. `origins[i]` says
/// which files define variable `i`, `extras` holds the definitions of the few that have
/// references or several definitions, and the index finds a key's number.
#[derive(Default)]
struct Merged {
    variables: Vec<Variable>,
    origins: Vec<Origin>,
    extras: Vec<Extra>,
    index: KeyIndex,
    /// A variable left an empty place (see [`Merged::add`]).
    moved: bool,
    warnings: Vec<Warning>,
}

impl Merged {
    fn reserve(&mut self, entries: usize) {
        self.variables.reserve(entries);
        self.origins.reserve(entries);
        self.index.reserve(entries);
    }

    /// Adds an entry of source `source` (shown as `path`). A key defined twice in the
    /// file that first defines it takes the place of its later line: its earlier place is
    /// left empty (an empty key, which no real key is) until [`Merged::finish`].
    fn add(&mut self, e: Entry<'_>, source: usize, path: &str, allowed: bool) {
        let next = self.variables.len();
        let variables = &self.variables;
        let key_of = |i: usize| variables.get(i).map(|v| v.key.as_str());
        let Some(position) = self.index.get_or_insert(e.key, next, key_of) else {
            let (value, extra) = match e.template {
                Template::Text(text) => (text, None),
                Template::Pieces(pieces) => {
                    self.extras.push(Extra {
                        earlier: Vec::new(),
                        pieces: Some(pieces),
                    });
                    (String::new(), Some(self.extras.len() - 1))
                }
            };
            self.origins.push(Origin {
                first: source,
                last: source,
                extra,
            });
            self.variables.push(Variable {
                key: e.key.to_owned(),
                value: SecretValue::new(value),
                file: path.to_owned(),
                line: e.line,
                column: e.column,
                end_line: e.end_line,
                defined_in: vec![path.to_owned()],
                from_process: false,
                allowed,
            });
            return;
        };
        let i = *position;
        let (Some(variable), Some(origin)) = (self.variables.get_mut(i), self.origins.get_mut(i))
        else {
            return;
        };
        if origin.last == source {
            let duplicate = Duplicate {
                key: variable.key.clone(),
                first_line: variable.line,
                second_line: e.line,
            };
            self.warnings.push(Warning {
                file: path.to_owned(),
                line: duplicate.second_line,
                message: format!(
                    "`{}` is defined twice, on lines {} and {}; line {} wins",
                    duplicate.key,
                    duplicate.first_line,
                    duplicate.second_line,
                    duplicate.second_line
                ),
            });
        } else {
            path.clone_into(&mut variable.file);
            if !variable.defined_in.iter().any(|p| p == path) {
                variable.defined_in.push(path.to_owned());
            }
        }
        // The new definition wins; the earlier ones stay for `${KEY}` inside it.
        let extras = &mut self.extras;
        let extra_index = *origin.extra.get_or_insert_with(|| {
            extras.push(Extra::default());
            extras.len() - 1
        });
        let Some(extra) = extras.get_mut(extra_index) else {
            return;
        };
        let previous = match extra.pieces.take() {
            Some(pieces) => Template::Pieces(pieces),
            None => Template::Text(std::mem::take(&mut variable.value).into_string()),
        };
        extra.earlier.push((previous, origin.last));
        match e.template {
            Template::Text(text) => variable.value = SecretValue::new(text),
            Template::Pieces(pieces) => extra.pieces = Some(pieces),
        }
        origin.last = source;
        variable.line = e.line;
        variable.column = e.column;
        variable.end_line = e.end_line;
        variable.allowed = allowed;
        if origin.first == source {
            let origin = *origin;
            let variable = std::mem::replace(variable, Variable::emptied());
            *position = next;
            self.variables.push(variable);
            self.origins.push(origin);
            self.moved = true;
        }
    }

    /// Removes the empty places, and makes the index (which becomes the environment's)
    /// count only the others: variable `i` is key `i`.
    fn finish(mut self) -> Merged {
        if self.moved {
            let mut number = 0;
            let renumbered: Vec<usize> = self
                .variables
                .iter()
                .map(|v| {
                    let n = number;
                    number += usize::from(!v.key.is_empty());
                    n
                })
                .collect();
            self.index
                .renumber(|i| renumbered.get(i).copied().unwrap_or(i));
            let mut kept = self.variables.iter().map(|v| !v.key.is_empty());
            self.origins.retain(|_| kept.next().unwrap_or(false));
            self.variables.retain(|v| !v.key.is_empty());
            self.moved = false;
        }
        self
    }
}

impl Variable {
    /// What a moved variable leaves in its place.
    fn emptied() -> Variable {
        Variable {
            key: String::new(),
            value: SecretValue::default(),
            file: String::new(),
            line: 0,
            column: 0,
            end_line: 0,
            defined_in: Vec::new(),
            from_process: false,
            allowed: false,
        }
    }
}

/// Which files define a variable.
#[derive(Debug, Clone, Copy)]
struct Origin {
    /// The source of its first definition, and of the winning one.
    first: usize,
    last: usize,
    /// Its definitions in `extras`, if it has references or several definitions.
    extra: Option<usize>,
}

impl Origin {
    /// The winning definition holds references: the value is expanded.
    fn has_pieces(&self, extras: &[Extra]) -> bool {
        self.extra
            .and_then(|i| extras.get(i))
            .is_some_and(|x| x.pieces.is_some())
    }
}

/// A variable's definitions beyond a winning plain text (which is its value as read).
#[derive(Default)]
struct Extra {
    /// The definitions before the winning one, oldest first (earlier files, earlier lines
    /// of one file), each with the index of its source.
    earlier: Vec<(Template, usize)>,
    /// The winning definition, when it holds references.
    pieces: Option<Pieces>,
}

/// The definitions as the expander reads them: key `i` is variable `i`.
struct Table<'a> {
    variables: &'a [Variable],
    origins: &'a [Origin],
    extras: &'a [Extra],
    index: &'a KeyIndex,
    sources: &'a [SourceFile],
}

impl Table<'_> {
    fn extra(&self, origin: &Origin) -> Option<&Extra> {
        origin.extra.and_then(|i| self.extras.get(i))
    }
}

impl Definitions for Table<'_> {
    fn find(&self, name: &str) -> Option<usize> {
        self.index
            .get(name, |i| self.variables.get(i).map(|v| v.key.as_str()))
    }

    fn key(&self, id: usize) -> &str {
        self.variables.get(id).map_or("", |v| v.key.as_str())
    }

    fn count(&self, id: usize) -> usize {
        self.origins
            .get(id)
            .map_or(0, |o| self.extra(o).map_or(1, |x| x.earlier.len() + 1))
    }

    fn definition(&self, id: usize, index: usize) -> Option<(Body<'_>, &Path)> {
        let origin = self.origins.get(id)?;
        let extra = self.extra(origin);
        let earlier = extra.map_or(0, |x| x.earlier.len());
        let (body, source) = if index < earlier {
            let (template, source) = extra?.earlier.get(index)?;
            (template.body(), *source)
        } else if index > earlier {
            return None;
        } else if let Some(pieces) = extra.and_then(|x| x.pieces.as_ref()) {
            (Body::Pieces(pieces), origin.last)
        } else {
            (
                Body::Text(self.variables.get(id)?.value.expose()),
                origin.last,
            )
        };
        let file = self.sources.get(source)?.full.as_path();
        Some((body, file))
    }
}

/// About how many entries `text` holds, to size the tables once: its lines, but not more
/// than one per 16 bytes (a hint: a denser file grows the tables as it goes).
fn estimated_entries(text: &str) -> usize {
    let lines = text.bytes().filter(|&b| b == b'\n').count() + 1;
    lines.min(text.len() / 16 + 1)
}

/// The lines (1-based) holding a `# secrets-guard:allow` comment.
fn allow_comment_lines(text: &str) -> HashSet<usize> {
    const MARK: &str = "secrets-guard:allow";
    if !text.contains(MARK) {
        return HashSet::new();
    }
    text.replace("\r\n", "\n")
        .split(['\n', '\r'])
        .enumerate()
        .filter(|(_, line)| line.find('#').is_some_and(|i| line[i..].contains(MARK)))
        .map(|(i, _)| i + 1)
        .collect()
}

/// Reads a file named on the command line: anywhere, but it must exist.
fn read_file(path: &Path) -> Result<String, EnvError> {
    let bytes = std::fs::read(path).map_err(|source| EnvError::Read {
        file: path.to_path_buf(),
        source,
    })?;
    utf8(path, bytes)
}

fn utf8(path: &Path, bytes: Vec<u8>) -> Result<String, EnvError> {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..valid]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            Err(EnvError::NotUtf8 {
                file: path.to_path_buf(),
                line,
            })
        }
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
    utf8(&path, bytes).map(Some)
}
