//! The one error type of the access core, and which of its variants count as refusals.

use std::path::PathBuf;

/// Everything that can go wrong in the access core.
///
/// Refusals ([`AccessError::is_refusal`]) are authentication failures, missing permissions and
/// attempts to break an invariant; the CLI maps them to exit code 3 and the library records
/// them in the audit log. Everything else is bad input or a storage problem.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The actor's role or subaccount scope does not allow the action.
    #[error("permission denied: {actor} ({role}) may not {action}")]
    PermissionDenied {
        actor: String,
        role: String,
        action: String,
    },
    /// A login, session or 2FA check failed.
    #[error("authentication failed: {0}")]
    Authentication(String),
    /// The action would break one of the account's invariants (one Owner, never locked out…).
    #[error("refused: {0}")]
    Invariant(String),
    /// A named thing does not exist.
    #[error("no {what} named {name:?}")]
    NotFound { what: &'static str, name: String },
    /// A named thing already exists.
    #[error("{what} {name:?} already exists")]
    AlreadyExists { what: &'static str, name: String },
    /// An argument is malformed or does not make sense in the current state.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The database has no account yet.
    #[error("the access database {0} has no account yet: run `secrets-guard access init` first")]
    NotInitialized(PathBuf),
    /// The database is in a state this version cannot read.
    #[error("the access database {path} is unusable: {problem}")]
    Corrupt { path: PathBuf, problem: String },
    /// SQLite reported an error.
    #[error("database error in {path}: {source}")]
    Database {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl AccessError {
    /// Whether this error is a refusal (authentication, permission or invariant): exit code 3.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            AccessError::PermissionDenied { .. }
                | AccessError::Authentication(_)
                | AccessError::Invariant(_)
        )
    }

    /// Names the database file in a storage error raised where the path was not at hand.
    pub(crate) fn in_database(self, db: &std::path::Path) -> AccessError {
        match self {
            AccessError::Database { path, source } if path.as_os_str().is_empty() => {
                AccessError::Database {
                    path: db.to_path_buf(),
                    source,
                }
            }
            AccessError::Corrupt { path, problem } if path.as_os_str().is_empty() => {
                AccessError::Corrupt {
                    path: db.to_path_buf(),
                    problem,
                }
            }
            other => other,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> AccessError {
        AccessError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> AccessError {
        AccessError::InvalidInput(message.into())
    }
}

impl From<rusqlite::Error> for AccessError {
    fn from(source: rusqlite::Error) -> AccessError {
        AccessError::Database {
            path: PathBuf::new(),
            source,
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = AccessError> = std::result::Result<T, E>;
