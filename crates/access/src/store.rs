//! The SQLite store: opening, schema migrations, WAL, the clock, and the one transaction
//! helper every mutation goes through.

use crate::audit;
use crate::error::{AccessError, Result};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Each entry moves the schema from `user_version` = index to index + 1.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE account (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    currency TEXT NOT NULL,
    currency_exponent INTEGER NOT NULL,
    require_2fa INTEGER NOT NULL DEFAULT 1,
    created INTEGER NOT NULL,
    audit_head_id INTEGER NOT NULL DEFAULT 0,
    audit_head_hash TEXT NOT NULL DEFAULT ''
);
CREATE TABLE subaccounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    environment TEXT NOT NULL,
    created INTEGER NOT NULL,
    created_by TEXT NOT NULL
);
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role TEXT NOT NULL,
    all_subaccounts INTEGER NOT NULL DEFAULT 1,
    totp_secret TEXT NOT NULL,
    totp_verified INTEGER NOT NULL DEFAULT 0,
    last_totp_step INTEGER NOT NULL DEFAULT -1,
    last_login INTEGER,
    created INTEGER NOT NULL,
    added_by TEXT NOT NULL
);
-- The database itself refuses a second Owner, whatever the code above it does.
CREATE UNIQUE INDEX users_one_owner ON users(role) WHERE role = 'owner';
CREATE TABLE user_subaccounts (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    subaccount_id INTEGER NOT NULL REFERENCES subaccounts(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, subaccount_id)
);
CREATE TABLE recovery_codes (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used INTEGER,
    PRIMARY KEY (user_id, code_hash)
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL
);
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    subaccount_id INTEGER NOT NULL REFERENCES subaccounts(id),
    name TEXT NOT NULL,
    display_prefix TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    expires INTEGER,
    revoked INTEGER,
    grace_until INTEGER,
    replaced_by INTEGER,
    last_used INTEGER
);
CREATE INDEX api_keys_display_prefix ON api_keys(display_prefix);
CREATE TABLE charges (
    id INTEGER PRIMARY KEY,
    subaccount_id INTEGER NOT NULL REFERENCES subaccounts(id),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    description TEXT NOT NULL,
    created INTEGER NOT NULL,
    recorded_by TEXT NOT NULL
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    result TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
"#];

/// An open access database.
///
/// The database holds TOTP secrets (they are needed to check codes), so it is as sensitive
/// as the credentials it guards: it is created with mode 0600 and should stay that way.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    fixed_now: Cell<Option<i64>>,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, in WAL mode, migrated to the
    /// current schema.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| AccessError::io(parent, e))?;
        }
        let existed = path.exists();
        let conn = Connection::open(path).map_err(|e| db_error(path, e))?;
        if !existed {
            restrict_permissions(path)?;
        }
        let store = Store {
            conn,
            path: path.to_path_buf(),
            fixed_now: Cell::new(None),
        };
        store.configure(true)?;
        Ok(store)
    }

    /// Opens a database that must already exist: every command but `init` uses this, so a
    /// mistyped `--db` is an error instead of a new empty database.
    pub fn open_existing(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(AccessError::NotInitialized(path.to_path_buf()));
        }
        Store::open(path)
    }

    /// A private in-memory database, for tests and experiments.
    pub fn open_in_memory() -> Result<Store> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| db_error(&path, e))?;
        let store = Store {
            conn,
            path,
            fixed_now: Cell::new(None),
        };
        store.configure(false)?;
        Ok(store)
    }

    fn configure(&self, wal: bool) -> Result<()> {
        let conn = &self.conn;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| db_error(&self.path, e))?;
        if wal {
            // Switching to WAL needs a moment of exclusive access; another process opening
            // the same new database can make it report busy without waiting, so retry.
            let mut attempts = 0;
            loop {
                let mode: rusqlite::Result<String> =
                    conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0));
                match mode {
                    Ok(_) => break,
                    Err(e) if attempts < 200 && is_busy(&e) => {
                        attempts += 1;
                        std::thread::sleep(Duration::from_millis(25));
                    }
                    Err(e) => return Err(db_error(&self.path, e)),
                }
            }
            // In WAL mode NORMAL survives a killed process intact; only a power cut can drop
            // the last commits, and the database stays consistent either way.
            conn.execute_batch("PRAGMA synchronous = NORMAL")
                .map_err(|e| db_error(&self.path, e))?;
        }
        conn.execute_batch("PRAGMA foreign_keys = ON")
            .map_err(|e| db_error(&self.path, e))?;
        self.migrate()
    }

    fn migrate(&self) -> Result<()> {
        let target = MIGRATIONS.len() as i64;
        let current: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| db_error(&self.path, e))?;
        if current == target {
            // Up to date: no need to take the write lock that migrating needs.
            return Ok(());
        }
        let tx = self.begin()?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| db_error(&self.path, e))?;
        if version > target {
            return Err(AccessError::Corrupt {
                path: self.path.clone(),
                problem: format!(
                    "schema version {version} is newer than this program understands ({target})"
                ),
            });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            tx.execute_batch(sql).map_err(|e| db_error(&self.path, e))?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", index + 1))
                .map_err(|e| db_error(&self.path, e))?;
        }
        tx.commit().map_err(|e| db_error(&self.path, e))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current time in Unix seconds: the system clock unless [`Store::set_time`] fixed it.
    pub fn now(&self) -> i64 {
        self.fixed_now.get().unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        })
    }

    /// Fixes the clock this store uses (`None` returns to the system clock). Tests use it to
    /// step through TOTP windows, expiries and the doctor's 90-day limit.
    pub fn set_time(&self, unix_time: Option<i64>) {
        self.fixed_now.set(unix_time);
    }

    /// Starts a write transaction that takes the database's write lock at once, so two
    /// processes can never read the same state and both act on it.
    fn begin(&self) -> Result<Transaction<'_>> {
        Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(|e| db_error(&self.path, e))
    }

    /// Runs one mutation in one transaction. The closure appends its own audit entries, so
    /// they commit or vanish with the change. If it returns a refusal, the transaction is
    /// rolled back and the refusal is recorded in the audit log under `who`/`action`/`target`.
    pub(crate) fn write<T>(
        &self,
        who: &str,
        action: &str,
        target: &str,
        change: impl FnOnce(&Transaction<'_>, i64) -> Result<T>,
    ) -> Result<T> {
        let now = self.now();
        let tx = self.begin()?;
        match change(&tx, now) {
            Ok(value) => {
                tx.commit().map_err(|e| db_error(&self.path, e))?;
                Ok(value)
            }
            Err(err) => {
                tx.rollback().map_err(|e| db_error(&self.path, e))?;
                if err.is_refusal() {
                    self.record_refusal(who, action, target, &err)?;
                }
                Err(err.in_database(&self.path))
            }
        }
    }

    /// Appends a `refused` audit entry in its own transaction.
    pub(crate) fn record_refusal(
        &self,
        who: &str,
        action: &str,
        target: &str,
        err: &AccessError,
    ) -> Result<()> {
        let tx = self.begin()?;
        audit::append(
            &tx,
            &audit::NewEntry {
                at: self.now(),
                actor: who,
                action,
                target,
                result: "refused",
                detail: &err.to_string(),
            },
        )
        .map_err(|e| e.in_database(&self.path))?;
        tx.commit().map_err(|e| db_error(&self.path, e))
    }

    /// Runs a read-only query against a consistent snapshot.
    pub(crate) fn read<T>(
        &self,
        query: impl FnOnce(&Transaction<'_>, i64) -> Result<T>,
    ) -> Result<T> {
        let now = self.now();
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred)
            .map_err(|e| db_error(&self.path, e))?;
        let value = query(&tx, now).map_err(|e| e.in_database(&self.path))?;
        tx.commit().map_err(|e| db_error(&self.path, e))?;
        Ok(value)
    }

    /// Whether `init` has run.
    pub fn is_initialized(&self) -> Result<bool> {
        self.read(|tx, _| {
            Ok(tx
                .query_row("SELECT 1 FROM account WHERE id = 1", [], |_| Ok(()))
                .optional()?
                .is_some())
        })
    }

    pub(crate) fn require_initialized(&self) -> Result<()> {
        if self.is_initialized()? {
            Ok(())
        } else {
            Err(AccessError::NotInitialized(self.path.clone()))
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::DatabaseBusy || f.code == rusqlite::ErrorCode::DatabaseLocked
    )
}

fn db_error(path: &Path, source: rusqlite::Error) -> AccessError {
    AccessError::Database {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| AccessError::io(path, e))
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) -> Result<()> {
    Ok(())
}

/// The default database path: `$SECRETS_GUARD_DB`, else `$XDG_DATA_HOME/secrets-guard/access.db`,
/// else `~/.local/share/secrets-guard/access.db`.
pub fn default_db_path() -> PathBuf {
    if let Some(p) = std::env::var_os("SECRETS_GUARD_DB").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    data_dir("XDG_DATA_HOME", ".local/share").join("access.db")
}

pub(crate) fn data_dir(xdg_var: &str, fallback: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(xdg_var).filter(|p| !p.is_empty()) {
        return PathBuf::from(p).join("secrets-guard");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(fallback).join("secrets-guard")
}
