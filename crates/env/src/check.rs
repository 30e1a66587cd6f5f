//! The cross-environment checks: shared secrets, wrong-environment keys, missing keys,
//! exposed files, and (with an access store) revoked or expired keys.

use crate::classify::{classify, public_reason, Classification, Label};
use crate::config::Allowlist;
use crate::error::EnvError;
use crate::exposure::{GitExposure, GitView};
use crate::load::{Environment, Project};
use serde::Serialize;
use sg_engine::{ScanInput, Scanner};
use sg_keyformat::ApiKey;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

/// What kind of problem a finding is. Serialized in kebab-case (`shared-secret`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    SharedSecret,
    WrongEnvironment,
    MissingKey,
    ExposedFile,
    RevokedKey,
    ExpiredKey,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::SharedSecret => "shared-secret",
            FindingKind::WrongEnvironment => "wrong-environment",
            FindingKind::MissingKey => "missing-key",
            FindingKind::ExposedFile => "exposed-file",
            FindingKind::RevokedKey => "revoked-key",
            FindingKind::ExpiredKey => "expired-key",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem. Never holds a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// The environment the problem is in (several, comma-separated, for a file that more
    /// than one environment loads).
    pub environment: String,
    /// Relative to the project root, `/`-separated.
    pub file: String,
    /// `None` for a problem about a whole file or a key that is not there.
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
    /// In a monorepo check: the project's directory, relative to the repository root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

impl Finding {
    /// Whether the finding concerns environment `name`.
    pub fn concerns(&self, name: &str) -> bool {
        self.environment.split(',').any(|e| e == name)
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: ", self.file)?,
            None => write!(f, "{}: ", self.file)?,
        }
        write!(f, "{} [{}] {}", self.kind, self.environment, self.message)
    }
}

/// What the access store knows about a secrets-guard key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyStatus {
    Live,
    Revoked,
    Expired,
    Unknown,
}

/// The access store, as the checks see it: the status of a key, given its full text.
/// The access crate implements it; the env loader does not depend on the store.
pub trait KeyStatusLookup {
    /// `None` when the store cannot tell (for example, it could not be read).
    fn status(&self, key: &str) -> Option<KeyStatus>;
}

/// Runs every check over `envs` (loaded from `project`). With `only`, reports only the
/// findings about that environment, still comparing it against the others.
pub fn check(
    project: &Project,
    envs: &[Environment],
    scanner: &Scanner,
    only: Option<&str>,
    lookup: Option<&dyn KeyStatusLookup>,
) -> Result<Vec<Finding>, EnvError> {
    let classes = classify_all(project, envs, scanner);
    let mut findings = Vec::new();
    for (env, class) in envs.iter().zip(&classes) {
        wrong_environment(env, class, &mut findings);
        if let Some(lookup) = lookup {
            key_status(env, lookup, &mut findings);
        }
    }
    shared_secrets(envs, &classes, &mut findings);
    missing_keys(envs, &mut findings);
    exposed_files(project, envs, &classes, scanner, &mut findings)?;
    // Allowlisted keys and files: nothing about them, missing keys and exposure included.
    let lists = &project.config().allowlists;
    findings.retain(|f| {
        !lists.iter().any(|a| {
            f.key.as_ref().is_some_and(|k| a.keys.contains(k))
                || a.paths
                    .iter()
                    .any(|p| project_path(project, &f.file) == p.as_str())
        })
    });

    if let Some(name) = only {
        findings.retain(|f| f.concerns(name));
    }
    let order = |name: &str| {
        envs.iter()
            .position(|e| e.name == name)
            .unwrap_or(usize::MAX)
    };
    findings.sort_by(|a, b| {
        let ea = a.environment.split(',').next().unwrap_or("");
        let eb = b.environment.split(',').next().unwrap_or("");
        (order(ea), &a.file, a.line, a.kind, &a.key).cmp(&(
            order(eb),
            &b.file,
            b.line,
            b.kind,
            &b.key,
        ))
    });
    findings.dedup();
    Ok(findings)
}

/// Classifies every environment's variables, marking suppressed ones (`# secrets-guard:allow`
/// or `[[env.allowlists]]`) as no secret, so no check reports them.
pub(crate) fn classify_all(
    project: &Project,
    envs: &[Environment],
    scanner: &Scanner,
) -> Vec<Vec<Classification>> {
    let lists = &project.config().allowlists;
    envs.iter()
        .map(|env| {
            let mut class = classify(env, scanner);
            for (v, c) in env.variables.iter().zip(class.iter_mut()) {
                if v.allowed || lists.iter().any(|a| allowlisted(project, a, v)) {
                    c.labels.clear();
                }
            }
            class
        })
        .collect()
}

fn allowlisted(project: &Project, list: &Allowlist, v: &crate::load::Variable) -> bool {
    if list.keys.contains(&v.key) {
        return true;
    }
    if list
        .paths
        .iter()
        .any(|p| project_path(project, &v.file) == p.as_str())
    {
        return true;
    }
    if list.hashes.is_empty() {
        return false;
    }
    let digest: String = v
        .value
        .digest()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    list.hashes.iter().any(|h| {
        h.strip_prefix("sha256:")
            .unwrap_or(h)
            .eq_ignore_ascii_case(&digest)
    })
}

/// A shown path made relative to the project root again.
fn project_path<'a>(project: &Project, shown: &'a str) -> &'a str {
    shown.strip_prefix(project.repo_prefix()).unwrap_or(shown)
}

/// Why `env` is protected, if it is: by name, by a file a protected environment loads,
/// or by a value carrying a protected environment's marker (an `sgk_prod_` key, a Stripe
/// `sk_live_`/`rk_live_` key, or any key a rule labels live or production).
pub fn protection(project: &Project, env: &Environment, scanner: &Scanner) -> Option<String> {
    if let Some(reason) = &env.protected_reason {
        return Some(reason.clone());
    }
    let config = project.config();
    // Each file is scanned once, as a whole (not value by value): the gate stays linear in
    // the files' size. A finding counts when it sits on a winning definition's lines.
    let mut at: HashMap<(&str, usize), usize> = HashMap::new();
    for (i, v) in env.variables.iter().enumerate() {
        if !v.from_process {
            for line in v.line..=v.end_line {
                at.insert((v.file.as_str(), line), i);
            }
        }
    }
    for source in &env.sources {
        let findings = scanner.scan(ScanInput {
            path: &source.path,
            bytes: source.text.as_bytes(),
            commit: None,
        });
        for f in findings {
            let Some(named) = f.environment.as_deref() else {
                continue;
            };
            if !config.is_protected_name(named) {
                continue;
            }
            let Some(v) = at
                .get(&(source.path.as_str(), f.line))
                .and_then(|&i| env.variables.get(i))
            else {
                continue;
            };
            if public_reason(&v.key, v.value.expose().trim(), true).is_some() {
                continue;
            }
            return Some(format!(
                "`{}` holds a key of protected environment `{named}`: {} ({} ({named})) in {}:{}",
                env.name, v.key, f.rule_id, v.file, v.line
            ));
        }
    }
    None
}

/// The findings that make `env run` refuse an environment before starting anything:
/// wrong-environment keys and, with an access store, revoked or expired keys.
pub fn guard(
    env: &Environment,
    scanner: &Scanner,
    lookup: Option<&dyn KeyStatusLookup>,
) -> Vec<Finding> {
    let class = classify(env, scanner);
    let mut findings = Vec::new();
    wrong_environment(env, &class, &mut findings);
    if let Some(lookup) = lookup {
        key_status(env, lookup, &mut findings);
    }
    findings
}

/// Why a labelled secret does not belong in `env`, if it does not.
pub fn wrong_environment_reason(label: &Label, env: &Environment) -> Option<String> {
    let named = label.environment.as_deref()?;
    if label.rule_id.contains("secrets-guard") {
        return (canonical_env(named) != canonical_env(&env.name))
            .then(|| format!("was issued for `{named}` but is loaded into `{}`", env.name));
    }
    match named {
        "live" | "prod" | "production" if !env.protected => Some(format!(
            "is a {named} key loaded into `{}`, which is not a protected environment",
            env.name
        )),
        "test" | "sandbox" | "dev" | "development" | "qa" | "staging" if env.protected => {
            Some(format!(
                "is a {named} key loaded into protected environment `{}`",
                env.name
            ))
        }
        _ => None,
    }
}

/// The usual long and short spellings of an environment name compare equal, so a
/// `sgk_prod_` key is at home in an environment called `production`.
fn canonical_env(name: &str) -> &str {
    match name {
        "production" | "prd" => "prod",
        "development" => "dev",
        "stage" => "staging",
        other => other,
    }
}

fn wrong_environment(env: &Environment, class: &[Classification], out: &mut Vec<Finding>) {
    for (v, c) in env.variables.iter().zip(class) {
        if c.public.is_some() {
            continue;
        }
        for label in &c.labels {
            if let Some(reason) = wrong_environment_reason(label, env) {
                out.push(Finding {
                    kind: FindingKind::WrongEnvironment,
                    environment: env.name.clone(),
                    file: v.file.clone(),
                    line: Some(v.line),
                    key: Some(v.key.clone()),
                    message: format!("{}: {label} {reason}", v.key),
                    project: None,
                });
            }
        }
    }
}

/// Every secrets-guard key inside `value` (a whole value, or part of a URL or list).
pub fn api_keys_in(value: &str) -> Vec<ApiKey> {
    value
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|t| t.starts_with(sg_keyformat::PREFIX))
        .filter_map(|t| ApiKey::parse(t).ok())
        .collect()
}

fn key_status(env: &Environment, lookup: &dyn KeyStatusLookup, out: &mut Vec<Finding>) {
    for v in &env.variables {
        for key in api_keys_in(v.value.expose()) {
            let (kind, what) = match lookup.status(key.expose()) {
                Some(KeyStatus::Revoked) => (FindingKind::RevokedKey, "revoked"),
                Some(KeyStatus::Expired) => (FindingKind::ExpiredKey, "expired"),
                _ => continue,
            };
            out.push(Finding {
                kind,
                environment: env.name.clone(),
                file: v.file.clone(),
                line: Some(v.line),
                key: Some(v.key.clone()),
                message: format!(
                    "{}: secrets-guard key {}… is {what} in the access store: issue a new key",
                    v.key,
                    key.display_prefix()
                ),
                project: None,
            });
        }
    }
}

fn shared_secrets(envs: &[Environment], classes: &[Vec<Classification>], out: &mut Vec<Finding>) {
    // Files more than one environment loads (`.env`): a secret there is shared by design.
    let mut loaders: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for env in envs {
        for s in &env.sources {
            loaders.entry(s.path.as_str()).or_default().push(&env.name);
        }
    }
    struct Occurrence<'a> {
        env: &'a str,
        file: &'a str,
        line: usize,
        key: &'a str,
        kind: String,
    }
    let mut by_digest: BTreeMap<[u8; 32], Vec<Occurrence<'_>>> = BTreeMap::new();
    let mut reported_shared_files = BTreeSet::new();
    for (env, class) in envs.iter().zip(classes) {
        for (v, c) in env.variables.iter().zip(class) {
            if !c.is_secret() || v.from_process || v.value.is_empty() {
                continue;
            }
            let envs_loading = loaders.get(v.file.as_str()).map_or(1, Vec::len);
            if envs_loading > 1 {
                if reported_shared_files.insert((v.file.clone(), v.key.clone())) {
                    let names = loaders.get(v.file.as_str()).cloned().unwrap_or_default();
                    out.push(Finding {
                        kind: FindingKind::SharedSecret,
                        environment: names.join(","),
                        file: v.file.clone(),
                        line: Some(v.line),
                        key: Some(v.key.clone()),
                        message: format!(
                            "{}: {} sits in `{}`, which {} all load: shared defaults must not hold secrets; give each environment its own in `.env.<name>`",
                            v.key,
                            c.kind(),
                            v.file,
                            names.join(", ")
                        ),
                        project: None,
                    });
                }
                continue;
            }
            by_digest
                .entry(v.value.digest())
                .or_default()
                .push(Occurrence {
                    env: &env.name,
                    file: &v.file,
                    line: v.line,
                    key: &v.key,
                    kind: c.kind(),
                });
        }
    }
    for occurrences in by_digest.values() {
        let distinct: BTreeSet<&str> = occurrences.iter().map(|o| o.env).collect();
        if distinct.len() < 2 {
            continue;
        }
        for o in occurrences {
            let others: Vec<String> = occurrences
                .iter()
                .filter(|p| p.env != o.env)
                .map(|p| format!("{} in {}:{} ({})", p.key, p.file, p.line, p.env))
                .collect();
            out.push(Finding {
                kind: FindingKind::SharedSecret,
                environment: o.env.to_owned(),
                file: o.file.to_owned(),
                line: Some(o.line),
                key: Some(o.key.to_owned()),
                message: format!(
                    "{}: {} has the same value as {}: each environment needs its own secret",
                    o.key,
                    o.kind,
                    others.join(", ")
                ),
                project: None,
            });
        }
    }
}

fn missing_keys(envs: &[Environment], out: &mut Vec<Finding>) {
    // A key that only `.local` files define is a personal override: other environments
    // need not have it.
    let mut defined_in: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for env in envs {
        for v in &env.variables {
            if v.defined_in.iter().any(|f| !f.ends_with(".local")) {
                defined_in.entry(&v.key).or_default().push(&env.name);
            }
        }
    }
    // `only = [...]`: keys that belong to one environment; the others need not have them.
    let only: HashSet<&str> = envs
        .iter()
        .flat_map(|e| e.only.iter().map(String::as_str))
        .collect();
    for env in envs {
        let has = |k: &str| env.variable(k).is_some();
        let required = &env.required;
        for key in required {
            if !has(key) {
                out.push(Finding {
                    kind: FindingKind::MissingKey,
                    environment: env.name.clone(),
                    file: env.primary_file.clone(),
                    line: None,
                    key: Some(key.clone()),
                    message: format!(
                        "{key} is required (by `[env]` in .secrets-guard.toml) but `{}` does not define it",
                        env.name
                    ),
                    project: None,
                });
            }
        }
        if envs.len() < 2 {
            continue;
        }
        for (key, names) in &defined_in {
            if has(key)
                || required.iter().any(|r| r == key)
                || env.optional.iter().any(|o| o == key)
                || only.contains(key)
            {
                continue;
            }
            out.push(Finding {
                kind: FindingKind::MissingKey,
                environment: env.name.clone(),
                file: env.primary_file.clone(),
                line: None,
                key: Some((*key).to_owned()),
                message: format!(
                    "{key} is defined in {} but missing from `{}`",
                    names.join(", "),
                    env.name
                ),
                project: None,
            });
        }
    }
}

fn exposed_files(
    project: &Project,
    envs: &[Environment],
    classes: &[Vec<Classification>],
    scanner: &Scanner,
    out: &mut Vec<Finding>,
) -> Result<(), EnvError> {
    let Some(git) = GitView::discover(project.root())? else {
        return Ok(());
    };
    // file -> (environments that load it, whether it holds a secret), for files that hold
    // a secret and for personal `.local` files, which are never committed at all.
    let mut candidates: BTreeMap<String, (Vec<String>, bool)> = BTreeMap::new();
    for (env, class) in envs.iter().zip(classes) {
        for source in &env.sources {
            let wins_a_secret = env
                .variables
                .iter()
                .zip(class)
                .any(|(v, c)| v.file == source.path && c.is_secret());
            let rules_match = || {
                !scanner
                    .scan(ScanInput {
                        path: &source.path,
                        bytes: source.text.as_bytes(),
                        commit: None,
                    })
                    .is_empty()
            };
            let holds_secret = wins_a_secret || rules_match();
            if holds_secret || source.path.ends_with(".local") {
                let (names, secret) = candidates.entry(source.path.clone()).or_default();
                if !names.contains(&env.name) {
                    names.push(env.name.clone());
                }
                *secret |= holds_secret;
            }
        }
    }
    for (file, (names, holds_secret)) in candidates {
        let path = envs
            .iter()
            .flat_map(|e| &e.sources)
            .find(|s| s.path == file)
            .map_or_else(|| project.root().join(&file), |s| s.full.clone());
        let Some(exposure) = git.exposure(&path)? else {
            continue;
        };
        let line = git.repo_path(&path).unwrap_or_else(|| file.clone());
        let message = match exposure {
            GitExposure::Ignored => continue,
            GitExposure::NotIgnored if !holds_secret => continue,
            GitExposure::Tracked if !holds_secret => format!(
                "`{file}` holds personal overrides and is tracked by git: run `git rm --cached {line}` and add the line `{line}` to .gitignore"
            ),
            GitExposure::Tracked => format!(
                "`{file}` holds secrets and is tracked by git: run `git rm --cached {line}`, add the line `{line}` to .gitignore, and rotate the secrets it held"
            ),
            GitExposure::NotIgnored => format!(
                "`{file}` holds secrets and is not ignored by git: add the line `{line}` to .gitignore"
            ),
        };
        out.push(Finding {
            kind: FindingKind::ExposedFile,
            environment: names.join(","),
            file,
            line: None,
            key: None,
            message,
            project: None,
        });
    }
    Ok(())
}
