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
    /// The database reported an error.
    #[error("database error in {path}: {source}")]
    Database {
        path: PathBuf,
        #[source]
        source: DbError,
    },
    /// Too many wrong codes for one account: every attempt is refused until `until`.
    #[error("too many failed attempts for {email}: try again after {} ({} s from now)", crate::audit::time_text(*until), (*until - *now).max(1))]
    TooManyAttempts { email: String, until: i64, now: i64 },
    /// A stored record does not match its integrity code: it was changed without the server's key.
    #[error("integrity check failed: {0}")]
    Integrity(String),
    /// The access server answered with an error that has no variant of its own here.
    #[error("{message} (server error {code})")]
    Remote { code: String, message: String },
    /// The access server could not be reached, or answered something that is not the API.
    #[error("access server {url}: {message}")]
    Transport { url: String, message: String },
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
                | AccessError::TooManyAttempts { .. }
                | AccessError::Integrity(_)
        ) || self.is_remote_refusal()
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

    /// An [`AccessError::InvalidInput`] with `message`.
    pub fn invalid(message: impl Into<String>) -> AccessError {
        AccessError::InvalidInput(message.into())
    }
}

/// An error from one of the two database backends.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Postgres(#[from] postgres::Error),
}

impl From<rusqlite::Error> for AccessError {
    fn from(source: rusqlite::Error) -> AccessError {
        AccessError::Database {
            path: PathBuf::new(),
            source: source.into(),
        }
    }
}

impl From<postgres::Error> for AccessError {
    fn from(source: postgres::Error) -> AccessError {
        AccessError::Database {
            path: PathBuf::new(),
            source: source.into(),
        }
    }
}

impl AccessError {
    /// The stable code of this error in the HTTP API (`{"error": {"code", "message"}}`).
    pub fn code(&self) -> &'static str {
        match self {
            AccessError::PermissionDenied { .. } => "permission_denied",
            AccessError::Authentication(_) => "authentication_failed",
            AccessError::Invariant(_) => "refused",
            AccessError::NotFound { .. } => "not_found",
            AccessError::AlreadyExists { .. } => "already_exists",
            AccessError::InvalidInput(_) => "invalid_input",
            AccessError::NotInitialized(_) => "not_initialized",
            AccessError::TooManyAttempts { .. } => "too_many_attempts",
            AccessError::Integrity(_) => "integrity_check_failed",
            AccessError::Corrupt { .. } | AccessError::Database { .. } | AccessError::Io { .. } => {
                "internal"
            }
            AccessError::Remote { .. } => "remote",
            AccessError::Transport { .. } => "transport",
        }
    }

    /// Rebuilds an error the server sent, so that the client exits as a local call would.
    pub fn from_remote(code: &str, message: String) -> AccessError {
        // The server's message already carries its variant's prefix; strip it so it is not doubled.
        let strip = |prefix: &str| message.strip_prefix(prefix).unwrap_or(&message).to_owned();
        match code {
            "authentication_failed" => {
                AccessError::Authentication(strip("authentication failed: "))
            }
            "refused" => AccessError::Invariant(strip("refused: ")),
            "invalid_input" => AccessError::InvalidInput(strip("invalid input: ")),
            "integrity_check_failed" => AccessError::Integrity(strip("integrity check failed: ")),
            "permission_denied" | "too_many_attempts" => AccessError::Remote {
                code: code.to_owned(),
                message,
            },
            _ => AccessError::Remote {
                code: code.to_owned(),
                message,
            },
        }
    }

    /// Whether an error that came back from the server is a refusal (exit 3).
    pub fn is_remote_refusal(&self) -> bool {
        matches!(self, AccessError::Remote { code, .. } if code == "permission_denied" || code == "too_many_attempts")
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = AccessError> = std::result::Result<T, E>;
