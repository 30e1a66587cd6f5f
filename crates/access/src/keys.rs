//! Per-environment API keys: issuing, listing, rotating, revoking, verifying, and the
//! lookups the scanner uses to find and revoke leaked keys.
//!
//! Only a key's SHA-256 hash and its display prefix are stored; the key itself is returned
//! once, when it is issued.

use crate::audit::{self, NewEntry};
use crate::authz::{acting, Actor, Member};
use crate::error::{AccessError, Result};
use crate::roles::Capability;
use crate::store::Store;
use crate::subaccounts::subaccount_id;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sg_keyformat::ApiKey;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Default grace period, in hours, during which a rotated key keeps working.
pub const DEFAULT_GRACE_HOURS: u32 = 24;

/// Where a key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Usable (including a rotated key still inside its grace period).
    Live,
    Revoked,
    /// Past its expiry, or a rotated key past its grace deadline.
    Expired,
    /// Not a key this account issued.
    Unknown,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Live => "live",
            KeyStatus::Revoked => "revoked",
            KeyStatus::Expired => "expired",
            KeyStatus::Unknown => "unknown",
        }
    }
}

/// A key just issued. `secret` is the only copy of the key: show it once.
#[derive(Debug)]
pub struct IssuedKey {
    pub id: i64,
    pub name: String,
    pub subaccount: String,
    pub environment: String,
    pub expires: Option<i64>,
    pub secret: ApiKey,
}

/// A key as listings show it: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub id: i64,
    pub name: String,
    pub subaccount: String,
    pub environment: String,
    pub prefix: String,
    pub created: i64,
    pub created_by: String,
    pub expires: Option<i64>,
    pub last_used: Option<i64>,
    pub status: KeyStatus,
    /// For a rotated key: when it stops working.
    pub grace_until: Option<i64>,
    /// For a rotated key: the id of its replacement.
    pub replaced_by: Option<i64>,
}

/// What the store knows about a presented key. Never contains the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyLookup {
    pub status: KeyStatus,
    pub subaccount: Option<String>,
    pub environment: Option<String>,
    pub key_id: Option<i64>,
    pub key_name: Option<String>,
}

impl KeyLookup {
    fn unknown() -> KeyLookup {
        KeyLookup {
            status: KeyStatus::Unknown,
            subaccount: None,
            environment: None,
            key_id: None,
            key_name: None,
        }
    }
}

/// A key found where it should not be, as the scanner reports it.
#[derive(Debug, Clone)]
pub struct LeakedKey {
    pub secret: String,
    /// The file it was found in.
    pub path: String,
    /// The commit it was found in, for history scans.
    pub commit: Option<String>,
}

/// A key `revoke_leaked` revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevokedKey {
    pub key_id: i64,
    pub key_name: String,
    pub subaccount: String,
    pub environment: String,
    pub prefix: String,
    pub path: String,
    pub commit: Option<String>,
}

fn key_hash(secret: &str) -> String {
    audit::hex(&Sha256::digest(secret.as_bytes()))
}

struct KeyRow {
    id: i64,
    subaccount_id: i64,
    subaccount: String,
    environment: String,
    name: String,
    prefix: String,
    hash: String,
    created: i64,
    created_by: String,
    expires: Option<i64>,
    revoked: Option<i64>,
    grace_until: Option<i64>,
    replaced_by: Option<i64>,
    last_used: Option<i64>,
}

const KEY_COLUMNS: &str = "k.id, k.subaccount_id, s.name, s.environment, k.name, k.display_prefix,
    k.hash, k.created, k.created_by, k.expires, k.revoked, k.grace_until, k.replaced_by, k.last_used
    FROM api_keys k JOIN subaccounts s ON s.id = k.subaccount_id";

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok(KeyRow {
        id: r.get(0)?,
        subaccount_id: r.get(1)?,
        subaccount: r.get(2)?,
        environment: r.get(3)?,
        name: r.get(4)?,
        prefix: r.get(5)?,
        hash: r.get(6)?,
        created: r.get(7)?,
        created_by: r.get(8)?,
        expires: r.get(9)?,
        revoked: r.get(10)?,
        grace_until: r.get(11)?,
        replaced_by: r.get(12)?,
        last_used: r.get(13)?,
    })
}

impl KeyRow {
    fn status(&self, now: i64) -> KeyStatus {
        if self.revoked.is_some() {
            KeyStatus::Revoked
        } else if self.expires.is_some_and(|t| t <= now)
            || self.grace_until.is_some_and(|t| t <= now)
        {
            KeyStatus::Expired
        } else {
            KeyStatus::Live
        }
    }

    fn info(&self, now: i64) -> KeyInfo {
        KeyInfo {
            id: self.id,
            name: self.name.clone(),
            subaccount: self.subaccount.clone(),
            environment: self.environment.clone(),
            prefix: self.prefix.clone(),
            created: self.created,
            created_by: self.created_by.clone(),
            expires: self.expires,
            last_used: self.last_used,
            status: self.status(now),
            grace_until: self.grace_until,
            replaced_by: self.replaced_by,
        }
    }

    fn lookup(&self, now: i64) -> KeyLookup {
        KeyLookup {
            status: self.status(now),
            subaccount: Some(self.subaccount.clone()),
            environment: Some(self.environment.clone()),
            key_id: Some(self.id),
            key_name: Some(self.name.clone()),
        }
    }
}

fn key_by_id(conn: &Connection, id: i64) -> Result<KeyRow> {
    conn.query_row(
        &format!("SELECT {KEY_COLUMNS} WHERE k.id = ?1"),
        params![id],
        key_row,
    )
    .optional()?
    .ok_or_else(|| AccessError::NotFound {
        what: "key with id",
        name: id.to_string(),
    })
}

/// Finds the stored key matching `secret`: candidates are narrowed by the display prefix,
/// then the SHA-256 hashes are compared in constant time.
fn find_by_secret(conn: &Connection, secret: &str) -> Result<Option<KeyRow>> {
    let Ok(key) = ApiKey::parse(secret.trim()) else {
        return Ok(None);
    };
    let wanted = key_hash(key.expose());
    let mut stmt = conn.prepare(&format!("SELECT {KEY_COLUMNS} WHERE k.display_prefix = ?1"))?;
    let candidates = stmt
        .query_map(params![key.display_prefix()], key_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut found = None;
    for row in candidates {
        if bool::from(row.hash.as_bytes().ct_eq(wanted.as_bytes())) {
            found = Some(row);
        }
    }
    Ok(found)
}

fn validate_key_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(AccessError::invalid(format!(
            "key name {name:?} must be 1 to 100 printable characters"
        )));
    }
    Ok(())
}

fn insert_key(
    conn: &Connection,
    me: &Member,
    subaccount_id: i64,
    environment: &str,
    name: &str,
    expires: Option<i64>,
    now: i64,
) -> Result<(i64, ApiKey)> {
    let key = ApiKey::generate(environment).map_err(|e| AccessError::Corrupt {
        path: Default::default(),
        problem: format!("subaccount environment {environment:?}: {e}"),
    })?;
    conn.execute(
        "INSERT INTO api_keys (subaccount_id, name, display_prefix, hash, created, created_by, expires)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            subaccount_id,
            name,
            key.display_prefix(),
            key_hash(key.expose()),
            now,
            me.email,
            expires
        ],
    )?;
    Ok((conn.last_insert_rowid(), key))
}

/// Issues a key for one subaccount, and so for its environment.
pub fn create_key(
    store: &Store,
    actor: &Actor,
    subaccount: &str,
    name: Option<&str>,
    expires_in_days: Option<u32>,
) -> Result<IssuedKey> {
    store.require_initialized()?;
    let name = name.unwrap_or("default");
    validate_key_name(name)?;
    if expires_in_days == Some(0) {
        return Err(AccessError::invalid("--expires-in must be at least 1 day"));
    }
    store.write(&actor.email, "key create", subaccount, |tx, now| {
        let me = acting(tx, actor)?;
        let sub_id = subaccount_id(tx, subaccount)?;
        me.require(Capability::ManageKeys, Some(sub_id), || {
            format!("create keys in subaccount {subaccount}")
        })?;
        let environment: String = tx.query_row(
            "SELECT environment FROM subaccounts WHERE id = ?1",
            params![sub_id],
            |r| r.get(0),
        )?;
        let expires = expires_in_days.map(|d| now + i64::from(d) * 86_400);
        let (id, key) = insert_key(tx, &me, sub_id, &environment, name, expires, now)?;
        audit::append(
            tx,
            &NewEntry {
                at: now,
                actor: &me.email,
                action: "key create",
                target: &format!("key {id}"),
                result: "ok",
                detail: &format!(
                    "{name} in subaccount {subaccount} ({environment}), prefix {}",
                    key.display_prefix()
                ),
            },
        )?;
        Ok(IssuedKey {
            id,
            name: name.to_owned(),
            subaccount: subaccount.to_owned(),
            environment,
            expires,
            secret: key,
        })
    })
}

/// Lists keys (never their secrets): those in `subaccount`, or every key the actor may see.
/// A Developer limited to some subaccounts sees only theirs.
pub fn list_keys(store: &Store, actor: &Actor, subaccount: Option<&str>) -> Result<Vec<KeyInfo>> {
    store.require_initialized()?;
    store.write(
        &actor.email,
        "key list",
        subaccount.unwrap_or(""),
        |tx, now| {
            let me = acting(tx, actor)?;
            let only = match subaccount {
                Some(name) => {
                    let id = subaccount_id(tx, name)?;
                    me.require(Capability::ManageKeys, Some(id), || {
                        format!("view keys in subaccount {name}")
                    })?;
                    Some(id)
                }
                None => {
                    me.require(Capability::ManageKeys, None, || "view keys".to_owned())?;
                    None
                }
            };
            let mut stmt = tx.prepare(&format!("SELECT {KEY_COLUMNS} ORDER BY k.id"))?;
            let rows = stmt
                .query_map([], key_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows
                .iter()
                .filter(|r| only.is_none_or(|id| r.subaccount_id == id))
                .filter(|r| me.can(Capability::ManageKeys, Some(r.subaccount_id)))
                .map(|r| r.info(now))
                .collect())
        },
    )
}

/// Issues a replacement for key `id`; the old key keeps working for `grace_hours`.
pub fn rotate_key(store: &Store, actor: &Actor, id: i64, grace_hours: u32) -> Result<IssuedKey> {
    store.require_initialized()?;
    store.write(
        &actor.email,
        "key rotate",
        &format!("key {id}"),
        |tx, now| {
            let me = acting(tx, actor)?;
            let old = key_by_id(tx, id)?;
            me.require(Capability::ManageKeys, Some(old.subaccount_id), || {
                format!("rotate keys in subaccount {}", old.subaccount)
            })?;
            if old.status(now) != KeyStatus::Live {
                return Err(AccessError::invalid(format!(
                    "key {id} is {}: only a live key can be rotated",
                    old.status(now).as_str()
                )));
            }
            if let Some(new_id) = old.replaced_by {
                return Err(AccessError::invalid(format!(
                    "key {id} was already rotated: rotate its replacement, key {new_id}"
                )));
            }
            // The replacement keeps the old key's lifetime, counted from now.
            let expires = old.expires.map(|t| now + (t - old.created).max(86_400));
            let (new_id, key) = insert_key(
                tx,
                &me,
                old.subaccount_id,
                &old.environment,
                &old.name,
                expires,
                now,
            )?;
            let grace_until = now + i64::from(grace_hours) * 3600;
            tx.execute(
                "UPDATE api_keys SET grace_until = ?1, replaced_by = ?2 WHERE id = ?3",
                params![grace_until, new_id, id],
            )?;
            audit::append(
                tx,
                &NewEntry {
                    at: now,
                    actor: &me.email,
                    action: "key rotate",
                    target: &format!("key {id}"),
                    result: "ok",
                    detail: &format!(
                        "replaced by key {new_id} (prefix {}); old key valid until {grace_until}",
                        key.display_prefix()
                    ),
                },
            )?;
            Ok(IssuedKey {
                id: new_id,
                name: old.name.clone(),
                subaccount: old.subaccount.clone(),
                environment: old.environment.clone(),
                expires,
                secret: key,
            })
        },
    )
}

fn revoke_row(conn: &Connection, me: &Member, row: &KeyRow, now: i64, detail: &str) -> Result<()> {
    conn.execute(
        "UPDATE api_keys SET revoked = ?1 WHERE id = ?2",
        params![now, row.id],
    )?;
    audit::append(
        conn,
        &NewEntry {
            at: now,
            actor: &me.email,
            action: "key revoke",
            target: &format!("key {}", row.id),
            result: "ok",
            detail,
        },
    )?;
    Ok(())
}

/// Revokes key `id` at once.
pub fn revoke_key(store: &Store, actor: &Actor, id: i64) -> Result<KeyInfo> {
    store.require_initialized()?;
    store.write(
        &actor.email,
        "key revoke",
        &format!("key {id}"),
        |tx, now| {
            let me = acting(tx, actor)?;
            let row = key_by_id(tx, id)?;
            me.require(Capability::ManageKeys, Some(row.subaccount_id), || {
                format!("revoke keys in subaccount {}", row.subaccount)
            })?;
            if row.revoked.is_some() {
                return Err(AccessError::invalid(format!("key {id} is already revoked")));
            }
            revoke_row(
                tx,
                &me,
                &row,
                now,
                &format!(
                    "{} in subaccount {} ({})",
                    row.name, row.subaccount, row.environment
                ),
            )?;
            Ok(key_by_id(tx, id)?.info(now))
        },
    )
}

/// What the store knows about `secret`, by its hash. Needs no session and never returns
/// the secret; a malformed key (bad checksum included) is `unknown`.
pub fn lookup_key(store: &Store, secret: &str) -> Result<KeyLookup> {
    store.require_initialized()?;
    store.read(|tx, now| {
        Ok(find_by_secret(tx, secret)?
            .map(|row| row.lookup(now))
            .unwrap_or_else(KeyLookup::unknown))
    })
}

/// `key verify`: [`lookup_key`], and when the key is live, records that it was used.
pub fn verify_key(store: &Store, secret: &str) -> Result<KeyLookup> {
    store.require_initialized()?;
    // Usage timestamps are bookkeeping, not a change of who may do what, so they are
    // not audited (every API call would otherwise append an entry).
    store.write("", "key verify", "", |tx, now| {
        let Some(row) = find_by_secret(tx, secret)? else {
            return Ok(KeyLookup::unknown());
        };
        let result = row.lookup(now);
        if result.status == KeyStatus::Live {
            tx.execute(
                "UPDATE api_keys SET last_used = ?1 WHERE id = ?2",
                params![now, row.id],
            )?;
        }
        Ok(result)
    })
}

/// Revokes every live key among `leaks` in one transaction, auditing each revocation with
/// the file (and commit) where it leaked. Permission checks are those of `key revoke`: if
/// any live key may not be revoked by `actor`, nothing is revoked, the refusal is audited,
/// and the refusal is returned. Keys that are unknown, revoked or expired are skipped.
pub fn revoke_leaked(store: &Store, actor: &Actor, leaks: &[LeakedKey]) -> Result<Vec<RevokedKey>> {
    store.require_initialized()?;
    store.write(
        &actor.email,
        "key revoke-leaked",
        &format!("{} leaked keys", leaks.len()),
        |tx, now| {
            let me = acting(tx, actor)?;
            let mut revoked: Vec<RevokedKey> = Vec::new();
            for leak in leaks {
                let Some(row) = find_by_secret(tx, &leak.secret)? else {
                    continue;
                };
                // The same key can leak in several places; revoke it once, at its first sighting.
                if row.status(now) != KeyStatus::Live || revoked.iter().any(|r| r.key_id == row.id)
                {
                    continue;
                }
                me.require(Capability::ManageKeys, Some(row.subaccount_id), || {
                    format!(
                        "revoke keys in subaccount {} (key {} leaked in {})",
                        row.subaccount, row.id, leak.path
                    )
                })?;
                let place = match &leak.commit {
                    Some(commit) => format!("{} at commit {commit}", leak.path),
                    None => leak.path.clone(),
                };
                revoke_row(
                    tx,
                    &me,
                    &row,
                    now,
                    &format!(
                        "leaked: {} in subaccount {} ({}) found in {place}",
                        row.name, row.subaccount, row.environment
                    ),
                )?;
                revoked.push(RevokedKey {
                    key_id: row.id,
                    key_name: row.name.clone(),
                    subaccount: row.subaccount.clone(),
                    environment: row.environment.clone(),
                    prefix: row.prefix.clone(),
                    path: leak.path.clone(),
                    commit: leak.commit.clone(),
                });
            }
            Ok(revoked)
        },
    )
}

/// Every key with its creator, for the doctor.
pub(crate) fn all_keys(conn: &Connection, now: i64) -> Result<Vec<(KeyInfo, i64)>> {
    let mut stmt = conn.prepare(&format!("SELECT {KEY_COLUMNS} ORDER BY k.id"))?;
    let rows = stmt
        .query_map([], key_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .iter()
        .map(|r| (r.info(now), r.subaccount_id))
        .collect())
}
