//! Logging in with a TOTP or recovery code, the login backoff, sessions, and the session
//! file.
//!
//! A session token is 32 random bytes, shown to the user's shell only through the session
//! file (mode 0600); the store keeps its SHA-256 hash under an integrity code, so a
//! session row cannot be forged without the server key. Sessions last 12 hours.
//!
//! After [`MAX_FAILURES`] consecutive wrong codes for one account, every attempt for that
//! account is refused, even with the right code, for a window that starts at 30 s and
//! doubles with each lockout up to 15 minutes. The counters live in the store, so several
//! server processes share them.

use crate::audit::{self, NewEntry};
use crate::authz::{acting, member_by_email, Actor};
use crate::db::{p, Conn};
use crate::error::{AccessError, Result};
use crate::integrity::{constant_time_eq, recovery_mac, session_mac};
use crate::roles::capability_to_manage;
use crate::serverkey::ServerKey;
use crate::store::{data_dir, Store};
use crate::totp;
use crate::users::{hash_hex, recovery_hash};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// How long a session lasts.
pub const SESSION_SECONDS: i64 = 12 * 60 * 60;
/// Consecutive wrong codes that lock an account's logins.
pub const MAX_FAILURES: i64 = 5;
/// The first lockout window; each further lockout doubles it.
pub const FIRST_LOCKOUT_SECONDS: i64 = 30;
/// The longest lockout window.
pub const MAX_LOCKOUT_SECONDS: i64 = 15 * 60;

/// The second factor presented at login.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "code")]
pub enum Credential {
    /// A six-digit code from the authenticator app.
    Totp(String),
    /// One of the recovery codes issued at enrolment; each works once.
    RecoveryCode(String),
}

/// A started session. `token` is the secret that goes into the session file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub token: String,
    pub actor: Actor,
    pub expires: i64,
}

/// A session as `session list` shows it: never the token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionInfo {
    /// The first 12 hex digits of the token's hash: enough to tell sessions apart.
    pub id: String,
    pub created: i64,
    pub expires: i64,
    /// Whether this is the session asking.
    pub current: bool,
}

/// One message for every wrong, replayed or unknown code, so an attacker learns nothing.
const REFUSED_LOGIN: &str = "unknown user, or a wrong or already used code";

/// Backoff window after the `lockouts`-th lockout.
fn lockout_seconds(lockouts: i64) -> i64 {
    let doublings = u32::try_from((lockouts - 1).clamp(0, 10)).unwrap_or(10);
    (FIRST_LOCKOUT_SECONDS << doublings).min(MAX_LOCKOUT_SECONDS)
}

/// The refusal for an account whose logins are locked, if they are.
pub(crate) fn lockout(conn: &Conn<'_>, email: &str, now: i64) -> Result<Option<AccessError>> {
    let locked_until = conn
        .query_opt(
            "SELECT locked_until FROM login_attempts WHERE email = ?1",
            p![email.trim().to_lowercase()],
        )?
        .map(|r| r.int(0))
        .transpose()?
        .unwrap_or(0);
    Ok((locked_until > now).then(|| AccessError::TooManyAttempts {
        email: email.to_owned(),
        until: locked_until,
        now,
    }))
}

/// Counts a wrong code for `email` (the caller commits it even though it refuses) and
/// returns the refusal to give: after [`MAX_FAILURES`] in a row, the account is locked.
pub(crate) fn count_failure(conn: &Conn<'_>, email: &str, now: i64) -> Result<AccessError> {
    let who = email.trim().to_lowercase();
    let row = conn.query_opt(
        "SELECT failures, lockouts FROM login_attempts WHERE email = ?1",
        p![who.clone()],
    )?;
    let (failures, lockouts) = match row {
        Some(r) => (r.int(0)? + 1, r.int(1)?),
        None => (1, 0),
    };
    let (failures, lockouts, locked_until) = if failures >= MAX_FAILURES {
        let lockouts = lockouts + 1;
        (0, lockouts, now + lockout_seconds(lockouts))
    } else {
        (failures, lockouts, 0)
    };
    conn.exec(
        "INSERT INTO login_attempts (email, failures, lockouts, locked_until) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (email) DO UPDATE SET failures = ?2, lockouts = ?3, locked_until = ?4",
        p![who, failures, lockouts, locked_until],
    )?;
    Ok(if locked_until > now {
        AccessError::TooManyAttempts {
            email: email.to_owned(),
            until: locked_until,
            now,
        }
    } else {
        AccessError::Authentication(REFUSED_LOGIN.to_owned())
    })
}

/// Checks a TOTP code of user `user_id` and consumes its time step, so that it (and every
/// older code) cannot be used again.
pub(crate) fn consume_code(
    conn: &Conn<'_>,
    key: &ServerKey,
    user_id: i64,
    code: &str,
    now: i64,
) -> Result<()> {
    let row = conn.query_one(
        "SELECT totp_secret, last_totp_step, enrolled FROM users WHERE id = ?1",
        p![user_id],
    )?;
    if !row.flag(2)? {
        return Err(AccessError::Authentication(REFUSED_LOGIN.to_owned()));
    }
    let secret = key.open_totp(user_id, &row.text(0)?)?;
    match totp::matching_step(&secret, code, now) {
        Some(step) if step > row.int(1)? => {
            conn.exec(
                "UPDATE users SET last_totp_step = ?1, totp_verified = 1 WHERE id = ?2",
                p![step, user_id],
            )?;
            Ok(())
        }
        _ => Err(AccessError::Authentication(REFUSED_LOGIN.to_owned())),
    }
}

fn check_recovery_code(
    conn: &Conn<'_>,
    key: &ServerKey,
    user_id: i64,
    code: &str,
    now: i64,
) -> Result<i64> {
    let salt = conn
        .query_one("SELECT recovery_salt FROM users WHERE id = ?1", p![user_id])?
        .text(0)?;
    let hash = recovery_hash(&salt, code);
    let row = conn.query_opt(
        "SELECT mac FROM recovery_codes WHERE user_id = ?1 AND code_hash = ?2 AND used IS NULL",
        p![user_id, hash.clone()],
    )?;
    let Some(row) = row else {
        return Err(AccessError::Authentication(REFUSED_LOGIN.to_owned()));
    };
    if !constant_time_eq(&row.text(0)?, &recovery_mac(key, user_id, &hash)) {
        return Err(AccessError::Integrity(
            "a recovery code was added without the server's key".to_owned(),
        ));
    }
    conn.exec(
        "UPDATE recovery_codes SET used = ?1 WHERE user_id = ?2 AND code_hash = ?3",
        p![now, user_id, hash],
    )?;
    conn.query_one(
        "SELECT count(*) FROM recovery_codes WHERE user_id = ?1 AND used IS NULL",
        p![user_id],
    )?
    .int(0)
}

fn new_token(prefix: &str) -> String {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    format!("{prefix}{}", audit::hex(&raw))
}

/// Checks `credential` for `email` and starts a session. A TOTP code is accepted once only
/// (replays and codes older than the last one used are refused); the first successful
/// TOTP login marks the user's 2FA as verified. Wrong codes count towards the backoff.
pub fn login(store: &Store, email: &str, credential: &Credential) -> Result<Session> {
    store.require_initialized()?;
    let key = store.key();
    let who = email.trim().to_lowercase();
    let outcome = store.transaction(true, |conn, now| {
        let refuse = |err: AccessError| -> Result<std::result::Result<Session, AccessError>> {
            audit::append(
                conn,
                key,
                &NewEntry {
                    at: now,
                    actor: email,
                    action: "login",
                    target: email,
                    result: "refused",
                    detail: &err.to_string(),
                    subaccount: None,
                },
            )?;
            Ok(Err(err))
        };
        if let Some(err) = lockout(conn, email, now)? {
            return refuse(err);
        }
        let member = member_by_email(conn, key, email)?;
        let checked = match &member {
            None => Err(AccessError::Authentication(REFUSED_LOGIN.to_owned())),
            Some(m) => match credential {
                Credential::Totp(code) => {
                    consume_code(conn, key, m.id, code, now).map(|_| "authenticator code".to_owned())
                }
                Credential::RecoveryCode(code) => check_recovery_code(conn, key, m.id, code, now)
                    .map(|left| format!("recovery code ({left} left)")),
            },
        };
        let method = match checked {
            Ok(method) => method,
            Err(AccessError::Authentication(_)) => return refuse(count_failure(conn, email, now)?),
            Err(other) => return Err(other),
        };
        let Some(member) = member else {
            return Err(AccessError::Authentication(REFUSED_LOGIN.to_owned()));
        };
        conn.exec("DELETE FROM login_attempts WHERE email = ?1", p![who.clone()])?;
        let token = new_token("sgs_");
        let token_hash = hash_hex(&token);
        let expires = now + SESSION_SECONDS;
        conn.exec(
            "INSERT INTO sessions (token_hash, user_id, created, expires, mac) VALUES (?1, ?2, ?3, ?4, ?5)",
            p![
                token_hash.clone(),
                member.id,
                now,
                expires,
                session_mac(key, &token_hash, member.id, expires)
            ],
        )?;
        conn.exec("UPDATE users SET last_login = ?1 WHERE id = ?2", p![now, member.id])?;
        conn.exec("DELETE FROM sessions WHERE expires <= ?1", p![now])?;
        audit::append(
            conn,
            key,
            &NewEntry {
                at: now,
                actor: &member.email,
                action: "login",
                target: &member.email,
                result: "ok",
                detail: &method,
                subaccount: None,
            },
        )?;
        Ok(Ok(Session {
            token,
            actor: Actor {
                user_id: member.id,
                email: member.email,
            },
            expires,
        }))
    })?;
    outcome
}

enum SessionState {
    Valid(Actor),
    Expired(String),
    Forged,
    Unknown,
}

fn session_state(conn: &Conn<'_>, key: &ServerKey, token: &str, now: i64) -> Result<SessionState> {
    let token_hash = hash_hex(token.trim());
    let row = conn.query_opt(
        "SELECT u.id, u.email, s.expires, s.mac FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = ?1",
        p![token_hash.clone()],
    )?;
    let Some(row) = row else {
        return Ok(SessionState::Unknown);
    };
    let (user_id, email, expires) = (row.int(0)?, row.text(1)?, row.int(2)?);
    if !constant_time_eq(
        &row.text(3)?,
        &session_mac(key, &token_hash, user_id, expires),
    ) {
        return Ok(SessionState::Forged);
    }
    Ok(if expires > now {
        SessionState::Valid(Actor { user_id, email })
    } else {
        SessionState::Expired(email)
    })
}

/// The user a session token belongs to, if the session exists and has not expired.
/// Presenting an expired, unknown or forged token is a refused attempt, and is audited.
pub fn actor_for_token(store: &Store, token: &str) -> Result<Actor> {
    store.require_initialized()?;
    let state = store.read(|conn, now| session_state(conn, store.key(), token, now))?;
    let (who, err) = match state {
        SessionState::Valid(actor) => return Ok(actor),
        SessionState::Expired(email) => {
            let err = AccessError::Authentication(format!(
                "the session of {email} has expired: log in again"
            ));
            (email, err)
        }
        SessionState::Forged => (
            "(forged session)".to_owned(),
            AccessError::Integrity(
                "this session was written into the database without the server's key".to_owned(),
            ),
        ),
        SessionState::Unknown => (
            "(unknown session)".to_owned(),
            AccessError::Authentication(
                "no valid session: log in with `secrets-guard access login EMAIL --otp CODE`"
                    .to_owned(),
            ),
        ),
    };
    store.record_refusal(&who, "session", "", &err)?;
    Err(err)
}

/// Ends the session `token` belongs to, or with `all`, every session of its user.
pub fn logout(store: &Store, token: &str, all: bool) -> Result<Actor> {
    let actor = actor_for_token(store, token)?;
    store.write(&actor.email, "logout", &actor.email, |conn, now| {
        let ended = if all {
            conn.exec("DELETE FROM sessions WHERE user_id = ?1", p![actor.user_id])?
        } else {
            conn.exec(
                "DELETE FROM sessions WHERE token_hash = ?1",
                p![hash_hex(token.trim())],
            )?
        };
        audit::append(
            conn,
            store.key(),
            &NewEntry {
                at: now,
                actor: &actor.email,
                action: "logout",
                target: &actor.email,
                result: "ok",
                detail: &format!("{ended} session(s) ended"),
                subaccount: None,
            },
        )?;
        Ok(())
    })?;
    Ok(actor)
}

/// The sessions of the user `token` belongs to.
pub fn list_sessions(store: &Store, token: &str) -> Result<Vec<SessionInfo>> {
    let actor = actor_for_token(store, token)?;
    let mine = hash_hex(token.trim());
    store.read_as(&actor.email, "session list", &actor.email, |conn, now| {
        acting(conn, store.key(), &actor)?;
        conn.query(
            "SELECT token_hash, created, expires FROM sessions WHERE user_id = ?1 AND expires > ?2 ORDER BY created",
            p![actor.user_id, now],
        )?
        .iter()
        .map(|r| {
            let hash = r.text(0)?;
            Ok(SessionInfo {
                id: hash.chars().take(12).collect(),
                created: r.int(1)?,
                expires: r.int(2)?,
                current: hash == mine,
            })
        })
        .collect()
    })
}

/// Ends every session of another user: the Owner for anyone, Administrators for the roles
/// they manage. Returns how many sessions ended.
pub fn end_sessions(store: &Store, actor: &Actor, email: &str) -> Result<u64> {
    store.require_initialized()?;
    let key = store.key();
    store.write(&actor.email, "session end", email, |conn, now| {
        let me = acting(conn, key, actor)?;
        let target = member_by_email(conn, key, email)?.ok_or_else(|| AccessError::NotFound {
            what: "user",
            name: email.to_owned(),
        })?;
        if target.id != me.id {
            let Some(capability) = capability_to_manage(target.role) else {
                return Err(me.denied(format!("end the sessions of the Owner {}", target.email)));
            };
            me.require(capability, None, || {
                format!("end the sessions of {} ({})", target.email, target.role)
            })?;
        }
        let ended = conn.exec("DELETE FROM sessions WHERE user_id = ?1", p![target.id])?;
        audit::append(
            conn,
            key,
            &NewEntry {
                at: now,
                actor: &me.email,
                action: "session end",
                target: &target.email,
                result: "ok",
                detail: &format!("{ended} session(s) ended"),
                subaccount: None,
            },
        )?;
        Ok(ended)
    })
}

/// The session file: `$SECRETS_GUARD_SESSION`, else `$XDG_STATE_HOME/secrets-guard/session`,
/// else `~/.local/state/secrets-guard/session`.
pub fn default_session_path() -> PathBuf {
    if let Some(p) = std::env::var_os("SECRETS_GUARD_SESSION").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    data_dir("XDG_STATE_HOME", ".local/state").join("session")
}

/// Writes `token` to `path`, readable by its owner only (mode 0600), replacing any
/// previous session file atomically.
pub fn write_session_file(path: &Path, token: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| AccessError::io(parent, e))?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "session".to_owned());
    let temp = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let _ = std::fs::remove_file(&temp);
    let mut file = options.open(&temp).map_err(|e| AccessError::io(&temp, e))?;
    file.write_all(token.as_bytes())
        .and_then(|_| file.write_all(b"\n"))
        .and_then(|_| file.sync_all())
        .map_err(|e| AccessError::io(&temp, e))?;
    std::fs::rename(&temp, path).map_err(|e| AccessError::io(path, e))
}

/// Reads the token from a session file.
pub fn read_session_file(path: &Path) -> Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
        Ok(_) => Err(AccessError::Authentication(format!(
            "the session file {} is empty: log in again",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(AccessError::Authentication(format!(
                "not logged in (no session file at {}): run `secrets-guard access login EMAIL --otp CODE`",
                path.display()
            )))
        }
        Err(e) => Err(AccessError::io(path, e)),
    }
}

/// The user of the session stored in `session_file`: the one way the CLI, `scan
/// --revoke-leaked` and anything else find out who is acting.
pub fn current_user(store: &Store, session_file: &Path) -> Result<Actor> {
    let token = read_session_file(session_file)?;
    actor_for_token(store, &token)
}
