//! Why a git scan or a hook install failed. Every variant names the repository, object,
//! revision or file involved, so the user can act on the message.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{path}: cannot open the git repository: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
    #[error("{path}: cannot read the index (the staging area), so the staged changes cannot be checked: {source}")]
    Index {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
    #[error("cannot read git object {id}{}: {source}", path_suffix(.path))]
    Object {
        id: String,
        path: Option<String>,
        #[source]
        source: git2::Error,
    },
    #[error("cannot resolve the revision `{spec}`: {source}")]
    Revision {
        spec: String,
        #[source]
        source: git2::Error,
    },
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
    #[error("{context}: {source}")]
    Git {
        context: String,
        #[source]
        source: git2::Error,
    },
    #[error("cannot start the scan's worker threads: {0}")]
    Threads(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
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

impl GitError {
    pub(crate) fn git(context: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError {
        let context = context.into();
        move |source| GitError::Git { context, source }
    }

    pub(crate) fn object(
        id: git2::Oid,
        path: Option<&str>,
    ) -> impl FnOnce(git2::Error) -> GitError {
        let id = id.to_string();
        let path = path.map(str::to_owned);
        move |source| GitError::Object { id, path, source }
    }
}
