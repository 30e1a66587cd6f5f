//! Whether git would publish an env file: tracked in the index, or not ignored.

use crate::error::EnvError;
use std::path::Path;

/// How git sees one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitExposure {
    /// In the index: committed or about to be.
    Tracked,
    /// Not tracked, but `git add .` would pick it up.
    NotIgnored,
    /// Ignored by `.gitignore` (or the repository's excludes).
    Ignored,
}

/// The repository containing `root`, if any.
pub struct GitView {
    #[cfg(feature = "git")]
    repo: git2::Repository,
    workdir: std::path::PathBuf,
}

/// Built without the `git` feature (the fuzz targets): asking git is an error, never a
/// silent "not exposed".
#[cfg(not(feature = "git"))]
impl GitView {
    pub fn discover(root: &Path) -> Result<Option<GitView>, EnvError> {
        Err(EnvError::Git {
            dir: root.to_path_buf(),
            message: "built without git support (the `git` feature of sg-env)".into(),
        })
    }

    pub fn exposure(&self, file: &Path) -> Result<Option<GitExposure>, EnvError> {
        Err(EnvError::Git {
            dir: file.to_path_buf(),
            message: format!(
                "built without git support; {} is not asked about",
                self.workdir.display()
            ),
        })
    }
}

#[cfg(feature = "git")]
impl GitView {
    /// `Ok(None)` when `root` is not inside a git working tree.
    pub fn discover(root: &Path) -> Result<Option<GitView>, EnvError> {
        let repo = match git2::Repository::discover(root) {
            Ok(repo) => repo,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
            Err(e) => {
                return Err(EnvError::Git {
                    dir: root.to_path_buf(),
                    message: e.message().to_owned(),
                })
            }
        };
        let Some(workdir) = repo.workdir() else {
            return Ok(None);
        };
        let workdir = workdir.canonicalize().map_err(|e| EnvError::Git {
            dir: root.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(Some(GitView { repo, workdir }))
    }

    /// How git sees `file` (an existing path). `None` if it lies outside the working tree.
    pub fn exposure(&self, file: &Path) -> Result<Option<GitExposure>, EnvError> {
        let git_error = |message: String| EnvError::Git {
            dir: file.to_path_buf(),
            message,
        };
        let absolute = resolve_parent(file).map_err(|e| git_error(e.to_string()))?;
        let Ok(relative) = absolute.strip_prefix(&self.workdir) else {
            return Ok(None);
        };
        let index = self
            .repo
            .index()
            .map_err(|e| git_error(e.message().to_owned()))?;
        if index.get_path(relative, 0).is_some() {
            return Ok(Some(GitExposure::Tracked));
        }
        let ignored = self
            .repo
            .is_path_ignored(relative)
            .map_err(|e| git_error(e.message().to_owned()))?;
        Ok(Some(if ignored {
            GitExposure::Ignored
        } else {
            GitExposure::NotIgnored
        }))
    }
}

impl GitView {
    /// `file` as git names it: relative to the working tree, `/`-separated.
    pub fn repo_path(&self, file: &Path) -> Option<String> {
        let absolute = resolve_parent(file).ok()?;
        let relative = absolute.strip_prefix(&self.workdir).ok()?;
        Some(relative.to_string_lossy().replace('\\', "/"))
    }
}

/// The absolute path of `file` with its directory resolved but not the file itself: git
/// tracks a symlink as a symlink.
fn resolve_parent(file: &Path) -> std::io::Result<std::path::PathBuf> {
    let name = file
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"))?;
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.canonicalize()?,
        _ => std::env::current_dir()?,
    };
    Ok(parent.join(name))
}
