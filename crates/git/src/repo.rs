//! Opening repositories and the facts about them the scans need.

use crate::error::GitError;
use git2::{Oid, Repository};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Opens the repository at or above `path` (work trees, linked worktrees and bare
/// repositories alike) for a scan: each loose object it reads is checked first (see
/// [`crate::loose`]).
pub(crate) fn open(path: &Path) -> Result<Repository, GitError> {
    let repo = open_unchecked(path)?;
    crate::loose::guard(&repo)?;
    Ok(repo)
}

/// Opens the repository at or above `path` without the loose-object check (hook installs,
/// which read no object).
pub(crate) fn open_unchecked(path: &Path) -> Result<Repository, GitError> {
    // Re-hashing every object read with collision-detecting SHA-1 costs more than inflating
    // it, and a damaged object still fails zlib's checksum, so scans stay fail-closed. `git
    // cat-file --batch`, the floor history scans are measured against, does not re-hash
    // either. (A process-wide libgit2 setting: every scan wants the same.)
    git2::opts::strict_hash_verification(false);
    allow_partial_clones();
    Repository::discover(path).map_err(|source| GitError::Open {
        path: path.to_path_buf(),
        reason: source.into(),
    })
}

/// Lets libgit2 open partial clones (`extensions.partialClone`), which it refuses by
/// default: their missing objects are then reported by name (or skipped with
/// `--allow-missing-objects`) instead of the repository being unreadable as a whole.
/// libgit2 never fetches from a promisor remote, so nothing is read that is not there.
fn allow_partial_clones() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: libgit2's extension list is process-global and not synchronised; the
        // `Once` makes this the only write, before this process opens a repository.
        // A failure leaves the list as it was: partial clones then fail to open, closed.
        let _ = unsafe { git2::opts::set_extensions(&["partialclone"]) };
    });
}

/// Opens exactly the repository whose git directory is `git_dir` (worker threads reopen
/// the repository the main thread discovered), with the same loose-object check.
pub(crate) fn reopen(git_dir: &Path) -> Result<Repository, GitError> {
    let repo = Repository::open(git_dir).map_err(|source| GitError::Open {
        path: git_dir.to_path_buf(),
        reason: source.into(),
    })?;
    crate::loose::guard(&repo)?;
    Ok(repo)
}

/// Where a scan of `path` looks for `.secrets-guard.toml`: the top of the working tree,
/// or the git directory of a bare repository. Falls back to `path` itself when it is not
/// a repository (the scan then fails with the real reason).
pub fn config_root(path: &Path) -> PathBuf {
    allow_partial_clones();
    match Repository::discover(path) {
        Ok(repo) => repo
            .workdir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| repo.path().to_path_buf()),
        Err(_) => path.to_path_buf(),
    }
}

/// The commits a shallow clone was cut at: their parents are not in the repository.
pub(crate) fn shallow_boundary(repo: &Repository) -> Result<HashSet<Oid>, GitError> {
    let mut out = HashSet::new();
    if !repo.is_shallow() {
        return Ok(out);
    }
    let file = repo.commondir().join("shallow");
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(source) => {
            return Err(GitError::Io {
                path: file,
                reason: source,
            })
        }
    };
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let id = Oid::from_str(line).map_err(GitError::git(format!(
            "{}: not a commit id: `{line}`",
            file.display()
        )))?;
        out.insert(id);
    }
    Ok(out)
}
