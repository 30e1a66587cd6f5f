//! `env check` at a repository root: every directory holding env files is a project of its
//! own, checked as such, and a secret one project's environment shares with another
//! project's different environment (the API's prod database URL in the web app's dev file)
//! is reported too. Paths are relative to the repository root.

use crate::check::{check, classify_all, Finding, FindingKind, KeyStatusLookup};
use crate::config::{same_environment, Convention};
use crate::error::EnvError;
use crate::load::{has_env_files, LoadOptions, Project};
use sg_engine::Scanner;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Directories never searched for projects: dependencies, build output, VCS data.
const SKIPPED: &[&str] = &[
    "node_modules",
    "target",
    "vendor",
    "dist",
    "build",
    "out",
    "coverage",
    "__pycache__",
    "venv",
];
const MAX_DEPTH: usize = 8;

/// Every directory under `root` (itself included) holding env files, in path order.
pub fn find_projects(root: &Path) -> Result<Vec<PathBuf>, EnvError> {
    let mut found = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        if has_env_files(&dir) {
            found.push(dir.clone());
        }
        if depth >= MAX_DEPTH {
            continue;
        }
        let entries = std::fs::read_dir(&dir).map_err(|source| EnvError::Read {
            file: dir.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || SKIPPED.contains(&name.as_ref()) {
                continue;
            }
            // Not following symlinked directories: no loops, no leaving the repository.
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push((entry.path(), depth + 1));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// One project's part of a repository check.
#[derive(Debug)]
pub struct ProjectReport {
    /// Relative to the repository root (`.` for the root itself).
    pub dir: String,
    pub environments: Vec<String>,
}

/// Checks every project under the repository root `root`, then the secrets projects
/// share across different environments. A project that cannot be loaded is an error:
/// a gate never passes what it did not read.
pub fn check_repository(
    root: &Path,
    convention: Option<Convention>,
    options: &LoadOptions,
    default_scanner: &Scanner,
    lookup: Option<&dyn KeyStatusLookup>,
) -> Result<(Vec<ProjectReport>, Vec<Finding>), EnvError> {
    let mut reports = Vec::new();
    let mut findings = Vec::new();
    struct Occurrence {
        project: String,
        env: String,
        file: String,
        line: usize,
        key: String,
        kind: String,
    }
    let mut by_digest: BTreeMap<[u8; 32], Vec<Occurrence>> = BTreeMap::new();
    for dir in find_projects(root)? {
        let project = Project::open_with(&dir, convention)?;
        let shown = match project.repo_prefix().trim_end_matches('/') {
            "" => ".".to_owned(),
            p => p.to_owned(),
        };
        let envs = project.load_all(options)?;
        let own_scanner;
        let scanner = if dir.join(crate::config::CONFIG_FILE).is_file() {
            own_scanner = Scanner::new(project.rules()?);
            &own_scanner
        } else {
            default_scanner
        };
        for mut f in check(&project, &envs, scanner, None, lookup)? {
            f.project = Some(shown.clone());
            findings.push(f);
        }
        let classes = classify_all(&project, &envs, scanner);
        for (env, class) in envs.iter().zip(&classes) {
            for (v, c) in env.variables.iter().zip(class) {
                if !c.is_secret() || v.from_process || v.value.is_empty() {
                    continue;
                }
                by_digest
                    .entry(v.value.digest())
                    .or_default()
                    .push(Occurrence {
                        project: shown.clone(),
                        env: env.name.clone(),
                        file: v.file.clone(),
                        line: v.line,
                        key: v.key.clone(),
                        kind: c.kind(),
                    });
            }
        }
        reports.push(ProjectReport {
            dir: shown,
            environments: envs.iter().map(|e| e.name.clone()).collect(),
        });
    }
    // Across projects, the same environment may share a secret (two services on one
    // production database); different environments may not.
    for occurrences in by_digest.values() {
        for o in occurrences {
            let others: Vec<String> = occurrences
                .iter()
                .filter(|p| p.project != o.project && !same_environment(&p.env, &o.env))
                .map(|p| {
                    format!(
                        "{} in {}:{} ({}, {})",
                        p.key, p.file, p.line, p.project, p.env
                    )
                })
                .collect();
            if others.is_empty() {
                continue;
            }
            findings.push(Finding {
                kind: FindingKind::SharedSecret,
                environment: o.env.clone(),
                file: o.file.clone(),
                line: Some(o.line),
                key: Some(o.key.clone()),
                message: format!(
                    "{}: {} has the same value as {}: another project's other environment; each environment needs its own secret",
                    o.key,
                    o.kind,
                    others.join(", ")
                ),
                project: Some(o.project.clone()),
            });
        }
    }
    findings.sort_by(|a, b| (&a.file, a.line, a.kind).cmp(&(&b.file, b.line, b.kind)));
    findings.dedup();
    Ok((reports, findings))
}
