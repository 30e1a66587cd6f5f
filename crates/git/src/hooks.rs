//! Installing a git hook script: into `core.hooksPath` when set, else the repository's
//! (common) hooks directory, and never over a hook someone else wrote unless forced.

use crate::error::GitError;
use crate::repo;
use git2::Repository;
use std::path::{Path, PathBuf};

/// What `install_hook` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookInstall {
    /// The installed hook file.
    pub path: PathBuf,
    /// There was already a secrets-guard hook, now replaced by this version.
    pub updated: bool,
    /// A hook secrets-guard did not write, moved here because of `--force`.
    pub backup: Option<PathBuf>,
}

/// The directory git runs hooks from: `core.hooksPath` (relative to the top of the working
/// tree, or to the git directory of a bare repository) if set, else `hooks` in the common
/// git directory, which linked worktrees share.
pub fn hooks_dir(repo: &Repository) -> Result<PathBuf, GitError> {
    let config = repo
        .config()
        .map_err(GitError::git("cannot read the repository's git config"))?;
    match config.get_path("core.hooksPath") {
        Ok(dir) if dir.is_absolute() => Ok(dir),
        Ok(dir) => Ok(repo.workdir().unwrap_or_else(|| repo.path()).join(dir)),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(repo.commondir().join("hooks")),
        Err(e) => Err(GitError::git("cannot read core.hooksPath")(e)),
    }
}

/// Installs `script` as hook `name` in the repository containing `path`. A file already
/// there is replaced only if it contains `marker` (secrets-guard wrote it) or `force` is
/// set; a forced replacement keeps the old file next to it. The write is atomic.
pub fn install_hook(
    path: &Path,
    name: &str,
    script: &str,
    marker: &str,
    force: bool,
) -> Result<HookInstall, GitError> {
    let repo = repo::open_unchecked(path)?;
    let dir = hooks_dir(&repo)?;
    let target = dir.join(name);
    let backup_path = dir.join(format!("{name}.secrets-guard-backup"));
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| GitError::Io {
            path: p,
            reason: source,
        }
    };
    let mut updated = false;
    let mut backup = None;
    match std::fs::read(&target) {
        Ok(existing) => {
            let ours = existing
                .windows(marker.len())
                .any(|w| w == marker.as_bytes());
            if ours {
                updated = true;
            } else if force {
                std::fs::copy(&target, &backup_path).map_err(io(&backup_path))?;
                backup = Some(backup_path);
            } else {
                return Err(GitError::ForeignHook {
                    path: target,
                    backup: backup_path,
                });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(GitError::Io {
                path: target,
                reason: source,
            })
        }
    }
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let temp = dir.join(format!(".{name}.secrets-guard-tmp"));
    std::fs::write(&temp, script).map_err(io(&temp))?;
    make_executable(&temp).map_err(io(&temp))?;
    std::fs::rename(&temp, &target).map_err(io(&target))?;
    Ok(HookInstall {
        path: target,
        updated,
        backup,
    })
}

#[cfg(unix)]
fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> std::io::Result<()> {
    Ok(())
}
