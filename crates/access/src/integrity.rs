//! Integrity codes on the records that decide who someone is and what they may do:
//! users (email, role, scope, sealed 2FA secret), sessions, recovery codes and
//! invitations. Each carries an HMAC under the server key over its security-relevant
//! columns, so rewriting a role, inserting a session or adding a recovery code with the
//! database file in hand is detected the next time the record is read.

use crate::db::{p, Conn};
use crate::error::{AccessError, Result};
use crate::serverkey::ServerKey;
use serde_json::json;

fn user_fields(conn: &Conn<'_>, user_id: i64) -> Result<Option<serde_json::Value>> {
    let Some(row) = conn.query_opt(
        "SELECT lower(email), role, all_subaccounts, enrolled, totp_secret, recovery_salt
         FROM users WHERE id = ?1",
        p![user_id],
    )?
    else {
        return Ok(None);
    };
    let scope: Vec<i64> = conn
        .query(
            "SELECT subaccount_id FROM user_subaccounts WHERE user_id = ?1 ORDER BY subaccount_id",
            p![user_id],
        )?
        .iter()
        .map(|r| r.int(0))
        .collect::<Result<_>>()?;
    Ok(Some(json!([
        user_id,
        row.text(0)?,
        row.text(1)?,
        row.int(2)?,
        scope,
        row.int(3)?,
        row.text(4)?,
        row.text(5)?
    ])))
}

/// Recomputes a user's integrity code after a legitimate change of the user or their scope.
pub(crate) fn seal_user(conn: &Conn<'_>, key: &ServerKey, user_id: i64) -> Result<()> {
    if let Some(fields) = user_fields(conn, user_id)? {
        conn.exec(
            "UPDATE users SET mac = ?1 WHERE id = ?2",
            p![key.record_mac("user", &fields), user_id],
        )?;
    }
    Ok(())
}

/// Refuses a user record whose integrity code does not match.
pub(crate) fn check_user(conn: &Conn<'_>, key: &ServerKey, user_id: i64) -> Result<()> {
    let Some(fields) = user_fields(conn, user_id)? else {
        return Ok(());
    };
    let stored = conn.query_one("SELECT mac, email FROM users WHERE id = ?1", p![user_id])?;
    if !constant_time_eq(&stored.text(0)?, &key.record_mac("user", &fields)) {
        return Err(AccessError::Integrity(format!(
            "the record of user {} (id {user_id}) was changed without the server's key (its role, scope, email or 2FA secret); restore it from a backup",
            stored.text(1)?
        )));
    }
    Ok(())
}

pub(crate) fn session_mac(key: &ServerKey, token_hash: &str, user_id: i64, expires: i64) -> String {
    key.record_mac("session", &json!([token_hash, user_id, expires]))
}

pub(crate) fn recovery_mac(key: &ServerKey, user_id: i64, code_hash: &str) -> String {
    key.record_mac("recovery-code", &json!([user_id, code_hash]))
}

pub(crate) fn invitation_mac(
    key: &ServerKey,
    token_hash: &str,
    user_id: i64,
    purpose: &str,
    expires: i64,
) -> String {
    key.record_mac(
        "invitation",
        &json!([token_hash, user_id, purpose, expires]),
    )
}

pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Seals a store written before the server key existed: TOTP secrets stored in clear are
/// sealed, and every user, session and recovery code gets its integrity code. Used once,
/// by the store's upgrade.
pub(crate) fn seal_legacy(conn: &Conn<'_>, key: &ServerKey) -> Result<()> {
    for row in conn.query("SELECT id, totp_secret FROM users", p![])? {
        let id = row.int(0)?;
        let secret = row.text(1)?;
        if !secret.is_empty() && !secret.starts_with("v1:") {
            let raw = crate::totp::base32_decode(&secret).ok_or_else(|| AccessError::Corrupt {
                path: Default::default(),
                problem: format!("the stored 2FA secret of user {id} is not base32"),
            })?;
            conn.exec(
                "UPDATE users SET totp_secret = ?1 WHERE id = ?2",
                p![key.seal_totp(id, &raw), id],
            )?;
        }
    }
    reseal_records(conn, key)
}

/// Recomputes every record's integrity code under `key` (after a key rotation, once the
/// old codes were checked under the old key).
pub(crate) fn reseal_records(conn: &Conn<'_>, key: &ServerKey) -> Result<()> {
    for row in conn.query("SELECT id FROM users", p![])? {
        seal_user(conn, key, row.int(0)?)?;
    }
    for row in conn.query("SELECT token_hash, user_id, expires FROM sessions", p![])? {
        let (hash, user, expires) = (row.text(0)?, row.int(1)?, row.int(2)?);
        conn.exec(
            "UPDATE sessions SET mac = ?1 WHERE token_hash = ?2",
            p![session_mac(key, &hash, user, expires), hash],
        )?;
    }
    for row in conn.query("SELECT user_id, code_hash FROM recovery_codes", p![])? {
        let (user, hash) = (row.int(0)?, row.text(1)?);
        conn.exec(
            "UPDATE recovery_codes SET mac = ?1 WHERE user_id = ?2 AND code_hash = ?3",
            p![recovery_mac(key, user, &hash), user, hash],
        )?;
    }
    for row in conn.query(
        "SELECT token_hash, user_id, purpose, expires FROM invitations",
        p![],
    )? {
        let (hash, user, purpose, expires) = (row.text(0)?, row.int(1)?, row.text(2)?, row.int(3)?);
        conn.exec(
            "UPDATE invitations SET mac = ?1 WHERE token_hash = ?2",
            p![invitation_mac(key, &hash, user, &purpose, expires), hash],
        )?;
    }
    Ok(())
}

/// Checks every record's integrity code under `key` (before a rotation re-seals them), so
/// that a rotation never launders a tampered record.
pub(crate) fn check_all(conn: &Conn<'_>, key: &ServerKey) -> Result<()> {
    for row in conn.query("SELECT id FROM users", p![])? {
        check_user(conn, key, row.int(0)?)?;
    }
    for row in conn.query(
        "SELECT token_hash, user_id, expires, mac FROM sessions",
        p![],
    )? {
        if !constant_time_eq(
            &row.text(3)?,
            &session_mac(key, &row.text(0)?, row.int(1)?, row.int(2)?),
        ) {
            return Err(AccessError::Integrity(
                "a session record was changed or added without the server's key".to_owned(),
            ));
        }
    }
    for row in conn.query("SELECT user_id, code_hash, mac FROM recovery_codes", p![])? {
        if !constant_time_eq(
            &row.text(2)?,
            &recovery_mac(key, row.int(0)?, &row.text(1)?),
        ) {
            return Err(AccessError::Integrity(
                "a recovery code record was changed or added without the server's key".to_owned(),
            ));
        }
    }
    Ok(())
}

/// Records which key the store is sealed under (an HMAC of a fixed text, which reveals
/// nothing of the key).
pub(crate) fn set_key_check(conn: &Conn<'_>, key: &ServerKey) -> Result<()> {
    conn.exec(
        "UPDATE account SET key_check = ?1 WHERE id = 1",
        p![key.record_mac("key-check", &json!("secrets-guard"))],
    )?;
    Ok(())
}

/// Whether the store is sealed under `key` (true for a store with no account yet).
pub(crate) fn key_check_matches(conn: &Conn<'_>, key: &ServerKey) -> Result<bool> {
    let Some(row) = conn.query_opt("SELECT key_check FROM account WHERE id = 1", p![])? else {
        return Ok(true);
    };
    let stored = row.text(0)?;
    Ok(stored.is_empty()
        || constant_time_eq(
            &stored,
            &key.record_mac("key-check", &json!("secrets-guard")),
        ))
}
