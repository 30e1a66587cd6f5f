//! Why a git scan or a hook install failed. Every variant names the repository, object,
//! revision or file involved, so the user can act on the message.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{path}: cannot open the git repository: {reason}")]
    Open { path: PathBuf, reason: GitMessage },
    #[error("{path}: cannot read the index (the staging area), so the staged changes cannot be checked: {reason}")]
    Index { path: PathBuf, reason: GitMessage },
    #[error("cannot read git object {id}{}: {reason}", path_suffix(.path))]
    Object {
        id: String,
        path: Option<String>,
        reason: GitMessage,
    },
    #[error(
        "git object {id} (blob at {path}, first in commit {commit}) is not in the repository{}: \
         a partial clone (`--filter`) or a promisor pack leaves objects out, and a scan never \
         passes what it did not read. Fetch them (`git config --unset remote.origin.partialclonefilter` \
         then `git fetch --refetch`, or clone without --filter) and scan again, or rerun with \
         --allow-missing-objects to scan what is present and list the missing blobs as skipped",
        more_suffix(*.more)
    )]
    MissingObject {
        id: String,
        path: String,
        commit: String,
        /// How many more distinct blobs are missing.
        more: usize,
    },
    #[error("{path}: {reason}")]
    Pack { path: PathBuf, reason: String },
    #[error("cannot resolve the revision `{spec}`: {reason}")]
    Revision { spec: String, reason: GitMessage },
    #[error("`{spec}` is not a commit range: expected BASE..HEAD (or BASE.. for BASE..HEAD)")]
    BadRange { spec: String },
    #[error(
        "{path}: this is a shallow clone and it does not hold the history `{range}` needs ({detail}); \
         fetch more history (`git fetch --unshallow`, or `git fetch --deepen=N`, or \
         `fetch-depth: 0` in actions/checkout) and scan again"
    )]
    Shallow {
        path: PathBuf,
        range: String,
        detail: String,
    },
    #[error("{context}: {reason}")]
    Git { context: String, reason: GitMessage },
    #[error("cannot start the scan's worker threads: {0}")]
    Threads(String),
    #[error("{path}: {reason}")]
    Io {
        path: PathBuf,
        reason: std::io::Error,
    },
    #[error(
        "{path} already exists and was not written by secrets-guard; \
         rerun with --force to replace it (the old hook is then kept as {backup})"
    )]
    ForeignHook { path: PathBuf, backup: PathBuf },
}

fn path_suffix(path: &Option<String>) -> String {
    match path {
        Some(p) => format!(" (at {p})"),
        None => String::new(),
    }
}

fn more_suffix(more: usize) -> String {
    match more {
        0 => String::new(),
        n => format!(" (nor are {n} more blob(s))"),
    }
}

impl GitError {
    pub(crate) fn git(context: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError {
        let context = context.into();
        move |source| GitError::Git {
            context,
            reason: source.into(),
        }
    }

    pub(crate) fn object(
        id: git2::Oid,
        path: Option<&str>,
    ) -> impl FnOnce(git2::Error) -> GitError {
        let id = id.to_string();
        let path = path.map(str::to_owned);
        move |source| GitError::Object {
            id,
            path,
            reason: source.into(),
        }
    }
}

/// A libgit2 error's message, without the class and code numbers that mean nothing to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitMessage {
    pub message: String,
    pub code: git2::ErrorCode,
}

impl From<git2::Error> for GitMessage {
    fn from(e: git2::Error) -> GitMessage {
        GitMessage {
            message: e.message().to_owned(),
            code: e.code(),
        }
    }
}

impl std::fmt::Display for GitMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
