//! The store: SQLite (embedded, the default) or PostgreSQL (shared by several server
//! processes), schema migrations for both, the clock, the server key, and the one
//! transaction helper every operation goes through.

use crate::audit;
use crate::db::{p, Conn, PgHandle};
use crate::error::{AccessError, Result};
use crate::serverkey::{local_key_path, refuse_shared_file, ServerKey};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The PostgreSQL advisory lock every write transaction takes, so that writers from any
/// number of server processes run one at a time, as SQLite's `BEGIN IMMEDIATE` does.
const PG_WRITE_LOCK: i64 = 0x5345_4352_4754_0001;

/// Each entry moves the schema from `user_version` = index to index + 1.
const MIGRATIONS: &[&str] = &[
    r#"
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
"#,
    r#"
ALTER TABLE users ADD COLUMN email_skeleton TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN enrolled INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN recovery_salt TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN mac TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_email_lower ON users(lower(email));
ALTER TABLE sessions ADD COLUMN mac TEXT NOT NULL DEFAULT '';
ALTER TABLE recovery_codes ADD COLUMN mac TEXT NOT NULL DEFAULT '';
CREATE TABLE invitations (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    used INTEGER,
    revoked INTEGER,
    mac TEXT NOT NULL
);
CREATE TABLE login_attempts (
    email TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    lockouts INTEGER NOT NULL,
    locked_until INTEGER NOT NULL
);
ALTER TABLE account ADD COLUMN audit_keyed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE account ADD COLUMN audit_head_mac TEXT NOT NULL DEFAULT '';
ALTER TABLE account ADD COLUMN key_check TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN subaccount_id INTEGER;
CREATE TABLE charges_v2 (
    id INTEGER PRIMARY KEY,
    subaccount_id INTEGER NOT NULL REFERENCES subaccounts(id),
    amount_minor INTEGER NOT NULL CHECK (amount_minor <> 0 AND amount_minor BETWEEN -1000000000 AND 1000000000),
    description TEXT NOT NULL,
    created INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    reverses INTEGER REFERENCES charges_v2(id)
);
INSERT INTO charges_v2 (id, subaccount_id, amount_minor, description, created, recorded_by)
    SELECT id, subaccount_id, amount_minor, description, created, recorded_by FROM charges;
DROP TABLE charges;
ALTER TABLE charges_v2 RENAME TO charges;
CREATE UNIQUE INDEX charges_one_void ON charges(reverses) WHERE reverses IS NOT NULL;
CREATE TABLE leaks (
    id INTEGER PRIMARY KEY,
    key_id INTEGER NOT NULL REFERENCES api_keys(id),
    path TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    reported INTEGER NOT NULL,
    reported_by TEXT NOT NULL,
    UNIQUE (key_id, path, commit_id)
);
"#,
];

/// The PostgreSQL schema, at the same version as the last SQLite migration: PostgreSQL
/// stores started with this version, so they need no history of their own.
/// The channel on which PostgreSQL announces any change to what a key verification
/// answers, so that every server process can drop what it cached ([`crate::pgverify`]).
pub(crate) const KEYS_CHANGED_CHANNEL: &str = "sg_keys_changed";

/// Triggers that notify [`KEYS_CHANGED_CHANNEL`]. They are in the database, not in the
/// code paths that change keys, so no change can forget to announce itself. Recording a
/// key's use (`last_used`) changes no verdict and announces nothing.
const POSTGRES_KEY_NOTIFICATIONS: &str = r#"
CREATE OR REPLACE FUNCTION sg_notify_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sg_keys_changed', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER sg_api_keys_changed
    AFTER DELETE OR UPDATE OF subaccount_id, name, display_prefix, hash, created, created_by,
        expires, revoked, grace_until, replaced_by
    ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION sg_notify_keys_changed();
CREATE TRIGGER sg_subaccounts_changed
    AFTER DELETE OR UPDATE ON subaccounts
    FOR EACH STATEMENT EXECUTE FUNCTION sg_notify_keys_changed();
"#;

const POSTGRES_SCHEMA: &str = r#"
CREATE TABLE account (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    currency TEXT NOT NULL,
    currency_exponent BIGINT NOT NULL,
    require_2fa BIGINT NOT NULL DEFAULT 1,
    created BIGINT NOT NULL,
    audit_head_id BIGINT NOT NULL DEFAULT 0,
    audit_head_hash TEXT NOT NULL DEFAULT '',
    audit_keyed BIGINT NOT NULL DEFAULT 0,
    audit_head_mac TEXT NOT NULL DEFAULT '',
    key_check TEXT NOT NULL DEFAULT ''
);
CREATE TABLE subaccounts (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    environment TEXT NOT NULL,
    created BIGINT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE TABLE users (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    all_subaccounts BIGINT NOT NULL DEFAULT 1,
    totp_secret TEXT NOT NULL,
    totp_verified BIGINT NOT NULL DEFAULT 0,
    last_totp_step BIGINT NOT NULL DEFAULT -1,
    last_login BIGINT,
    created BIGINT NOT NULL,
    added_by TEXT NOT NULL,
    email_skeleton TEXT NOT NULL DEFAULT '',
    enrolled BIGINT NOT NULL DEFAULT 1,
    recovery_salt TEXT NOT NULL DEFAULT '',
    mac TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX users_one_owner ON users(role) WHERE role = 'owner';
CREATE UNIQUE INDEX users_email_lower ON users(lower(email));
CREATE TABLE user_subaccounts (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    subaccount_id BIGINT NOT NULL REFERENCES subaccounts(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, subaccount_id)
);
CREATE TABLE recovery_codes (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used BIGINT,
    mac TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (user_id, code_hash)
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    mac TEXT NOT NULL DEFAULT ''
);
CREATE TABLE api_keys (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    subaccount_id BIGINT NOT NULL REFERENCES subaccounts(id),
    name TEXT NOT NULL,
    display_prefix TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    expires BIGINT,
    revoked BIGINT,
    grace_until BIGINT,
    replaced_by BIGINT,
    last_used BIGINT
);
CREATE INDEX api_keys_display_prefix ON api_keys(display_prefix);
CREATE TABLE charges (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    subaccount_id BIGINT NOT NULL REFERENCES subaccounts(id),
    amount_minor BIGINT NOT NULL CHECK (amount_minor <> 0 AND amount_minor BETWEEN -1000000000 AND 1000000000),
    description TEXT NOT NULL,
    created BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    reverses BIGINT REFERENCES charges(id)
);
CREATE UNIQUE INDEX charges_one_void ON charges(reverses) WHERE reverses IS NOT NULL;
CREATE TABLE audit (
    id BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    result TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT '',
    subaccount_id BIGINT
);
CREATE TABLE invitations (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    used BIGINT,
    revoked BIGINT,
    mac TEXT NOT NULL
);
CREATE TABLE login_attempts (
    email TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    lockouts BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);
CREATE TABLE leaks (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    key_id BIGINT NOT NULL REFERENCES api_keys(id),
    path TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    reported BIGINT NOT NULL,
    reported_by TEXT NOT NULL,
    UNIQUE (key_id, path, commit_id)
);
"#;

enum Backend {
    Sqlite(Connection),
    Postgres(Box<(RefCell<postgres::Client>, crate::db::StatementCache)>),
}

/// An open access store.
///
/// Secrets at rest are sealed or MACed under the [`ServerKey`], which is never stored in
/// the database: a server loads it from `--key-file`; a local database keeps it beside
/// itself (`<db>.key`, mode 0600).
pub struct Store {
    backend: Backend,
    /// The database file, or the PostgreSQL URL without its password, for messages.
    location: PathBuf,
    key: Arc<ServerKey>,
    fixed_now: Cell<Option<i64>>,
}

impl Store {
    /// Opens (creating if needed) a local database at `path` with its key file beside it.
    pub fn open(path: &Path) -> Result<Store> {
        // A database that predates keys gets one now; one whose key was lost says so when
        // its first sealed record fails to open.
        let key = ServerKey::load_or_create(&local_key_path(path))?;
        Store::open_sqlite(path, Arc::new(key))
    }

    /// Opens a local database that must already exist: every command but `init` uses
    /// this, so a mistyped `--db` is an error instead of a new empty database.
    pub fn open_existing(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(AccessError::NotInitialized(path.to_path_buf()));
        }
        Store::open(path)
    }

    /// Opens (creating if needed) the SQLite database at `path` under `key`.
    ///
    /// A new file is created with mode 0600 before SQLite writes its first byte; an
    /// existing file that others may read is refused, and so is an SQLite file that some
    /// other program made.
    pub fn open_sqlite(path: &Path, key: Arc<ServerKey>) -> Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| AccessError::io(parent, e))?;
        }
        if path.exists() {
            refuse_shared_file(path, "access database")?;
        } else {
            match crate::serverkey::create_private(path) {
                Ok(_) => {}
                // Another process created it first: open theirs.
                Err(AccessError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        let conn = Connection::open(path).map_err(|e| db_error(path, e))?;
        let store = Store {
            backend: Backend::Sqlite(conn),
            location: path.to_path_buf(),
            key,
            fixed_now: Cell::new(None),
        };
        store.configure_sqlite(true)?;
        Ok(store)
    }

    /// Connects to PostgreSQL at `url` and brings its schema up to date.
    pub fn open_postgres(url: &str, key: Arc<ServerKey>) -> Result<Store> {
        let location = PathBuf::from(redact_url(url));
        let client =
            postgres::Client::connect(url, postgres::NoTls).map_err(|e| AccessError::Database {
                path: location.clone(),
                source: e.into(),
            })?;
        let store = Store {
            backend: Backend::Postgres(Box::new((RefCell::new(client), Default::default()))),
            location,
            key,
            fixed_now: Cell::new(None),
        };
        store.migrate_postgres()?;
        Ok(store)
    }

    /// A private in-memory database under a fresh key, for tests and experiments.
    pub fn open_in_memory() -> Result<Store> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| db_error(&path, e))?;
        let store = Store {
            backend: Backend::Sqlite(conn),
            location: path,
            key: Arc::new(ServerKey::generate()),
            fixed_now: Cell::new(None),
        };
        store.configure_sqlite(false)?;
        Ok(store)
    }

    /// The key records are sealed under.
    pub fn key(&self) -> &ServerKey {
        &self.key
    }

    fn sqlite(&self) -> Option<&Connection> {
        match &self.backend {
            Backend::Sqlite(c) => Some(c),
            Backend::Postgres(..) => None,
        }
    }

    fn configure_sqlite(&self, wal: bool) -> Result<()> {
        let Some(conn) = self.sqlite() else {
            return Ok(());
        };
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| db_error(&self.location, e))?;
        self.refuse_foreign_sqlite(conn)?;
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
                    Err(e) => return Err(self.busy_or(e)),
                }
            }
            // In WAL mode NORMAL survives a killed process intact; only a power cut can drop
            // the last commits, and the database stays consistent either way.
            conn.execute_batch("PRAGMA synchronous = NORMAL")
                .map_err(|e| db_error(&self.location, e))?;
        }
        conn.execute_batch("PRAGMA foreign_keys = ON")
            .map_err(|e| db_error(&self.location, e))?;
        self.migrate_sqlite(conn)?;
        self.upgrade_sealing()
    }

    /// An SQLite file with tables but none of our schema belongs to another program:
    /// refuse it rather than add our tables to it.
    fn refuse_foreign_sqlite(&self, conn: &Connection) -> Result<()> {
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| db_error(&self.location, e))?;
        if version != 0 {
            return Ok(());
        }
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| db_error(&self.location, e))?;
        if tables > 0 {
            return Err(AccessError::Corrupt {
                path: self.location.clone(),
                problem: format!(
                    "this SQLite file has {tables} tables of another program and no secrets-guard schema; refusing to change it"
                ),
            });
        }
        Ok(())
    }

    fn migrate_sqlite(&self, conn: &Connection) -> Result<()> {
        let target = MIGRATIONS.len() as i64;
        let current: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| db_error(&self.location, e))?;
        if current == target {
            // Up to date: no need to take the write lock that migrating needs.
            return Ok(());
        }
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
            .map_err(|e| self.busy_or(e))?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| db_error(&self.location, e))?;
        if version > target {
            return Err(AccessError::Corrupt {
                path: self.location.clone(),
                problem: format!(
                    "schema version {version} is newer than this program understands ({target})"
                ),
            });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            tx.execute_batch(sql)
                .map_err(|e| db_error(&self.location, e))?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", index + 1))
                .map_err(|e| db_error(&self.location, e))?;
        }
        tx.commit().map_err(|e| db_error(&self.location, e))
    }

    fn migrate_postgres(&self) -> Result<()> {
        let target = MIGRATIONS.len() as i64;
        self.transaction(true, |conn, _| {
            conn.batch("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")?;
            let version = conn
                .query_opt("SELECT version FROM schema_version", p![])?
                .map(|r| r.int(0))
                .transpose()?;
            match version {
                Some(v) if v == target => Ok(()),
                Some(v) => Err(AccessError::Corrupt {
                    path: Default::default(),
                    problem: format!(
                        "schema version {v}, but this program understands only {target}"
                    ),
                }),
                None => {
                    conn.batch(POSTGRES_SCHEMA)?;
                    conn.exec(
                        "INSERT INTO schema_version (version) VALUES (?1)",
                        p![target],
                    )?;
                    Ok(())
                }
            }?;
            // Stores created before the triggers existed get them too: without them a
            // server's verification cache would never hear of another server's revocation.
            let notifying = conn
                .query_opt(
                    "SELECT 1 FROM pg_trigger WHERE tgname = 'sg_api_keys_changed'",
                    p![],
                )?
                .is_some();
            if !notifying {
                conn.batch(POSTGRES_KEY_NOTIFICATIONS)?;
            }
            Ok(())
        })?;
        self.upgrade_sealing()
    }

    /// Brings a store written before secrets were sealed under the key up to date, once:
    /// TOTP secrets are sealed, records get their integrity codes and the audit chain is
    /// re-linked with the keyed hash, after its old unkeyed links are checked.
    fn upgrade_sealing(&self) -> Result<()> {
        let keyed = self.read(|conn, _| {
            conn.query_opt("SELECT audit_keyed FROM account WHERE id = 1", p![])?
                .map(|r| r.flag(0))
                .transpose()
        })?;
        if keyed != Some(false) {
            return self.check_key();
        }
        self.transaction(true, |conn, _| {
            crate::integrity::seal_legacy(conn, &self.key)?;
            audit::rekey_chain(conn, &self.key, None)?;
            crate::integrity::set_key_check(conn, &self.key)
        })
    }

    /// Refuses to work on a store sealed under another key: nothing could be read, and
    /// whatever was written would not verify under the store's real key.
    fn check_key(&self) -> Result<()> {
        let matches = self.read(|conn, _| crate::integrity::key_check_matches(conn, &self.key))?;
        if matches {
            Ok(())
        } else {
            Err(AccessError::Integrity(format!(
                "{} is sealed under another server key: give the key file it was created (or last rotated) with",
                self.location.display()
            )))
        }
    }

    /// The database file (or the PostgreSQL URL without its password).
    pub fn path(&self) -> &Path {
        &self.location
    }

    /// The current time in Unix seconds: the system clock unless [`Store::set_time`] fixed it.
    pub fn now(&self) -> i64 {
        self.fixed_now.get().unwrap_or_else(system_now)
    }

    /// Fixes the clock this store uses (`None` returns to the system clock). Tests use it to
    /// step through TOTP windows, expiries and the doctor's 90-day limit.
    pub fn set_time(&self, unix_time: Option<i64>) {
        self.fixed_now.set(unix_time);
    }

    /// Runs `body` in one transaction, committing when it returns `Ok`. A write
    /// transaction takes the store's write lock at once, so two processes can never read
    /// the same state and both act on it; a read sees one consistent snapshot.
    pub(crate) fn transaction<T>(
        &self,
        write: bool,
        body: impl FnOnce(&Conn<'_>, i64) -> Result<T>,
    ) -> Result<T> {
        let now = self.now();
        match &self.backend {
            Backend::Sqlite(conn) => {
                let behavior = if write {
                    TransactionBehavior::Immediate
                } else {
                    TransactionBehavior::Deferred
                };
                let tx = Transaction::new_unchecked(conn, behavior).map_err(|e| self.busy_or(e))?;
                let result = body(&Conn::Sqlite(&tx), now);
                match result {
                    Ok(value) => {
                        tx.commit().map_err(|e| self.busy_or(e))?;
                        Ok(value)
                    }
                    Err(err) => {
                        tx.rollback().map_err(|e| db_error(&self.location, e))?;
                        Err(err.in_database(&self.location))
                    }
                }
            }
            Backend::Postgres(pg) => {
                let (client, statements) = (&pg.0, &pg.1);
                let mut client = client.borrow_mut();
                let mut builder = client.build_transaction();
                if !write {
                    builder = builder
                        .isolation_level(postgres::IsolationLevel::RepeatableRead)
                        .read_only(true);
                }
                let tx = builder.start().map_err(|e| self.pg_error(e))?;
                let conn = Conn::Postgres(RefCell::new(PgHandle::Transaction(tx)), statements);
                if write {
                    conn.exec("SELECT pg_advisory_xact_lock(?1)", p![PG_WRITE_LOCK])
                        .map_err(|e| e.in_database(&self.location))?;
                }
                let result = body(&conn, now);
                let Conn::Postgres(tx, _) = conn else {
                    unreachable!("built as Postgres above")
                };
                let PgHandle::Transaction(tx) = tx.into_inner() else {
                    unreachable!("built as a transaction above")
                };
                match result {
                    Ok(value) => {
                        tx.commit().map_err(|e| self.pg_error(e))?;
                        Ok(value)
                    }
                    Err(err) => {
                        tx.rollback().map_err(|e| self.pg_error(e))?;
                        Err(err.in_database(&self.location))
                    }
                }
            }
        }
    }

    /// Runs one mutation in one transaction. The closure appends its own audit entries, so
    /// they commit or vanish with the change. If it returns a refusal, the transaction is
    /// rolled back and the refusal is recorded in the audit log under `who`/`action`/`target`.
    pub(crate) fn write<T>(
        &self,
        who: &str,
        action: &str,
        target: &str,
        change: impl FnOnce(&Conn<'_>, i64) -> Result<T>,
    ) -> Result<T> {
        self.transaction(true, change)
            .or_else(|err| self.refused(who, action, target, err))
    }

    /// A read-only operation on one snapshot, without the write lock. A refusal is
    /// recorded in the audit log (in a write transaction of its own) like any other.
    pub(crate) fn read_as<T>(
        &self,
        who: &str,
        action: &str,
        target: &str,
        query: impl FnOnce(&Conn<'_>, i64) -> Result<T>,
    ) -> Result<T> {
        self.transaction(false, query)
            .or_else(|err| self.refused(who, action, target, err))
    }

    fn refused<T>(&self, who: &str, action: &str, target: &str, err: AccessError) -> Result<T> {
        if err.is_refusal() {
            self.record_refusal(who, action, target, &err)?;
        }
        Err(err)
    }

    /// Appends a `refused` audit entry in its own transaction.
    pub(crate) fn record_refusal(
        &self,
        who: &str,
        action: &str,
        target: &str,
        err: &AccessError,
    ) -> Result<()> {
        self.transaction(true, |conn, now| {
            audit::append(
                conn,
                &self.key,
                &audit::NewEntry {
                    at: now,
                    actor: who,
                    action,
                    target,
                    result: "refused",
                    detail: &err.to_string(),
                    subaccount: None,
                },
            )
            .map(|_| ())
        })
    }

    /// Runs a read that is exactly one SQL statement (the closure may issue no other):
    /// one statement is its own consistent snapshot on both backends, so it runs without
    /// `BEGIN`/`COMMIT`, which on PostgreSQL saves two of three round trips. This is the
    /// hot path of `keys/verify`.
    pub(crate) fn read_one_statement<T>(
        &self,
        query: impl FnOnce(&Conn<'_>, i64) -> Result<T>,
    ) -> Result<T> {
        let now = self.now();
        match &self.backend {
            Backend::Sqlite(conn) => {
                query(&Conn::Sqlite(conn), now).map_err(|e| e.in_database(&self.location))
            }
            Backend::Postgres(pg) => {
                let (client, statements) = (&pg.0, &pg.1);
                let mut client = client.borrow_mut();
                let conn =
                    Conn::Postgres(RefCell::new(PgHandle::Autocommit(&mut client)), statements);
                query(&conn, now).map_err(|e| e.in_database(&self.location))
            }
        }
    }

    /// SQLite's data version: it changes whenever another connection (of this process or
    /// another) commits. Not defined for PostgreSQL, which announces changes instead.
    pub(crate) fn data_version(&self) -> Result<i64> {
        match &self.backend {
            Backend::Sqlite(conn) => conn
                .query_row("PRAGMA data_version", [], |r| r.get(0))
                .map_err(|e| db_error(&self.location, e)),
            Backend::Postgres(..) => Err(AccessError::invalid(
                "PostgreSQL stores have no data version: they announce changes",
            )),
        }
    }

    /// Runs a read-only query against a consistent snapshot.
    pub(crate) fn read<T>(&self, query: impl FnOnce(&Conn<'_>, i64) -> Result<T>) -> Result<T> {
        self.transaction(false, query)
    }

    /// Whether the account has been created.
    pub fn is_initialized(&self) -> Result<bool> {
        self.read(|conn, _| {
            Ok(conn
                .query_opt("SELECT 1 FROM account WHERE id = 1", p![])?
                .is_some())
        })
    }

    pub(crate) fn require_initialized(&self) -> Result<()> {
        if self.is_initialized()? {
            Ok(())
        } else {
            Err(AccessError::NotInitialized(self.location.clone()))
        }
    }

    fn pg_error(&self, e: postgres::Error) -> AccessError {
        AccessError::Database {
            path: self.location.clone(),
            source: e.into(),
        }
    }

    /// A busy database gets a message saying who holds it, when that can be found out.
    fn busy_or(&self, e: rusqlite::Error) -> AccessError {
        if is_busy(&e) {
            let holder = crate::lockholder::describe(&self.location)
                .map(|h| format!(" (held by {h})"))
                .unwrap_or_default();
            return AccessError::Database {
                path: self.location.clone(),
                source: rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    Some(format!(
                        "the database stayed locked by another process for {} s{holder}",
                        BUSY_TIMEOUT.as_secs()
                    )),
                )
                .into(),
            };
        }
        db_error(&self.location, e)
    }
}

/// `postgres://user:password@host/db` → `postgres://user:***@host/db`, for messages.
/// The system clock in Unix seconds.
pub(crate) fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((auth, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
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
        source: source.into(),
    }
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

/// Re-seals everything under `new_key`: checks every record and the audit chain under the
/// store's current key first (a tampered store is never re-sealed), then re-encrypts the
/// TOTP secrets, recomputes the integrity codes and re-links the audit chain, all in one
/// transaction. Checkpoints signed before the rotation no longer verify: sign a new one.
pub fn rotate_server_key(store: &Store, new_key: &ServerKey) -> Result<u64> {
    let old = store.key();
    store.transaction(true, |conn, _| {
        crate::integrity::check_all(conn, old)?;
        let mut users = 0;
        for row in conn.query("SELECT id, totp_secret FROM users", p![])? {
            let (id, sealed) = (row.int(0)?, row.text(1)?);
            if !sealed.is_empty() {
                let secret = old.open_totp(id, &sealed)?;
                conn.exec(
                    "UPDATE users SET totp_secret = ?1 WHERE id = ?2",
                    p![new_key.seal_totp(id, &secret), id],
                )?;
                users += 1;
            }
        }
        crate::integrity::reseal_records(conn, new_key)?;
        audit::rekey_chain(conn, new_key, Some(old))?;
        crate::integrity::set_key_check(conn, new_key)?;
        Ok(users)
    })
}
