//! Logging in with a TOTP or recovery code, sessions, and the session file.
//!
//! A session token is 32 random bytes, shown to the user's shell only through the session
//! file (mode 0600); the database stores its SHA-256 hash. Sessions last 12 hours.

use crate::audit::{self, NewEntry};
use crate::authz::Actor;
use crate::error::{AccessError, Result};
use crate::store::{data_dir, Store};
use crate::totp;
use crate::users::{hash_hex, normalize_recovery_code};
use rand::RngCore;
use rusqlite::{params, OptionalExtension};
use std::io::Write;
use std::path::{Path, PathBuf};

/// How long a session lasts.
pub const SESSION_SECONDS: i64 = 12 * 60 * 60;

/// The second factor presented at login.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A six-digit code from the authenticator app.
    Totp(String),
    /// One of the recovery codes printed at enrollment; each works once.
    RecoveryCode(String),
}

/// A started session. `token` is the secret that goes into the session file.
#[derive(Debug)]
pub struct Session {
    pub token: String,
    pub actor: Actor,
    pub expires: i64,
}

const REFUSED_LOGIN: &str = "unknown user or wrong code";

/// Checks `credential` for `email` and starts a session. A TOTP code is accepted once only
/// (replays and codes older than the last one used are refused); the first successful
/// TOTP login marks the user's 2FA as verified.
pub fn login(store: &Store, email: &str, credential: &Credential) -> Result<Session> {
    store.require_initialized()?;
    store.write(email, "login", email, |tx, now| {
        let user: Option<(i64, String, String, i64)> = tx
            .query_row(
                "SELECT id, email, totp_secret, last_totp_step FROM users WHERE email = ?1",
                params![email],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((id, email, secret_b32, last_step)) = user else {
            return Err(AccessError::Authentication(REFUSED_LOGIN.to_owned()));
        };
        let method = match credential {
            Credential::Totp(code) => {
                let secret =
                    totp::base32_decode(&secret_b32).ok_or_else(|| AccessError::Corrupt {
                        path: Default::default(),
                        problem: format!("the stored 2FA secret of {email} is not base32"),
                    })?;
                let Some(step) = totp::matching_step(&secret, code, now) else {
                    return Err(AccessError::Authentication(REFUSED_LOGIN.to_owned()));
                };
                if step <= last_step {
                    return Err(AccessError::Authentication(
                        "this code was already used: wait for the next one".to_owned(),
                    ));
                }
                tx.execute(
                    "UPDATE users SET last_totp_step = ?1, totp_verified = 1 WHERE id = ?2",
                    params![step, id],
                )?;
                "authenticator code".to_owned()
            }
            Credential::RecoveryCode(code) => {
                let hash = hash_hex(&normalize_recovery_code(code));
                let used = tx.execute(
                    "UPDATE recovery_codes SET used = ?1
                     WHERE user_id = ?2 AND code_hash = ?3 AND used IS NULL",
                    params![now, id, hash],
                )?;
                if used != 1 {
                    return Err(AccessError::Authentication(REFUSED_LOGIN.to_owned()));
                }
                let left: i64 = tx.query_row(
                    "SELECT count(*) FROM recovery_codes WHERE user_id = ?1 AND used IS NULL",
                    params![id],
                    |r| r.get(0),
                )?;
                format!("recovery code ({left} left)")
            }
        };
        let mut raw = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let token = audit::hex(&raw);
        let expires = now + SESSION_SECONDS;
        tx.execute(
            "INSERT INTO sessions (token_hash, user_id, created, expires) VALUES (?1, ?2, ?3, ?4)",
            params![hash_hex(&token), id, now, expires],
        )?;
        tx.execute(
            "UPDATE users SET last_login = ?1 WHERE id = ?2",
            params![now, id],
        )?;
        tx.execute("DELETE FROM sessions WHERE expires <= ?1", params![now])?;
        audit::append(
            tx,
            &NewEntry {
                at: now,
                actor: &email,
                action: "login",
                target: &email,
                result: "ok",
                detail: &method,
            },
        )?;
        Ok(Session {
            token,
            actor: Actor { user_id: id, email },
            expires,
        })
    })
}

enum SessionState {
    Valid(Actor),
    Expired(String),
    Unknown,
}

fn session_state(store: &Store, token: &str) -> Result<SessionState> {
    store.read(|tx, now| {
        let row: Option<(i64, String, i64)> = tx
            .query_row(
                "SELECT u.id, u.email, s.expires FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = ?1",
                params![hash_hex(token.trim())],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        Ok(match row {
            Some((user_id, email, expires)) if expires > now => {
                SessionState::Valid(Actor { user_id, email })
            }
            Some((_, email, _)) => SessionState::Expired(email),
            None => SessionState::Unknown,
        })
    })
}

/// The user a session token belongs to, if the session exists and has not expired.
/// Presenting an expired or unknown token is a refused attempt, and is audited.
pub fn actor_for_token(store: &Store, token: &str) -> Result<Actor> {
    store.require_initialized()?;
    let (who, err) = match session_state(store, token)? {
        SessionState::Valid(actor) => return Ok(actor),
        SessionState::Expired(email) => {
            let err = AccessError::Authentication(format!(
                "the session of {email} has expired: log in again"
            ));
            (email, err)
        }
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

/// Ends the session `token` belongs to.
pub fn logout(store: &Store, token: &str) -> Result<Actor> {
    let actor = actor_for_token(store, token)?;
    store.write(&actor.email, "logout", &actor.email, |tx, now| {
        tx.execute(
            "DELETE FROM sessions WHERE token_hash = ?1",
            params![hash_hex(token.trim())],
        )?;
        audit::append(
            tx,
            &NewEntry {
                at: now,
                actor: &actor.email,
                action: "logout",
                target: &actor.email,
                result: "ok",
                detail: "",
            },
        )?;
        Ok(())
    })?;
    Ok(actor)
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
