//! Per-environment API keys: issuing, listing, rotating, revoking, verifying, and the
//! lookups the scanner uses to find and revoke leaked keys.
//!
//! Only a key's SHA-256 hash and its display prefix are stored; the key itself is returned
//! once, when it is issued.

use crate::audit::{self, NewEntry};
use crate::authz::{acting, Actor, Member};
use crate::db::{p, Conn, Row};
use crate::error::{AccessError, Result};
use crate::roles::Capability;
use crate::store::Store;
use crate::subaccounts::subaccount_id;
use serde::{Deserialize, Serialize};
use sg_keyformat::ApiKey;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Default grace period, in hours, during which a rotated key keeps working.
pub const DEFAULT_GRACE_HOURS: u32 = 24;
/// The longest grace period of a rotated key: 30 days.
pub const MAX_GRACE_HOURS: u32 = 720;
/// The longest lifetime a key can be given at creation: 10 years.
pub const MAX_KEY_DAYS: u32 = 3650;

/// Where a key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Serialize, Deserialize)]
pub struct IssuedKey {
    pub id: i64,
    pub name: String,
    pub subaccount: String,
    pub environment: String,
    pub expires: Option<i64>,
    #[serde(rename = "key", with = "key_text")]
    pub secret: ApiKey,
}

/// An issued key travels (once, to its creator) as its text.
mod key_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use sg_keyformat::ApiKey;

    pub fn serialize<S: Serializer>(key: &ApiKey, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(key.expose())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ApiKey, D::Error> {
        let text = String::deserialize(d)?;
        ApiKey::parse(&text).map_err(|e| serde::de::Error::custom(format!("not a key: {e}")))
    }
}

/// A key as listings show it: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// A key found where it should not be, as the scanner reports it: by its hash, so that
/// reporting a leak to a server never sends the key itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeakedKey {
    /// [`key_hash`] of the key.
    pub key_hash: String,
    /// The file it was found in.
    pub path: String,
    /// The commit it was found in, for history scans.
    pub commit: Option<String>,
}

impl LeakedKey {
    /// The leak of `secret`, found in `path` (at `commit`).
    pub fn new(secret: &str, path: impl Into<String>, commit: Option<String>) -> LeakedKey {
        LeakedKey {
            key_hash: key_hash(secret.trim()),
            path: path.into(),
            commit,
        }
    }
}

/// A key `revoke_leaked` revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedKey {
    pub key_id: i64,
    pub key_name: String,
    pub subaccount: String,
    pub environment: String,
    pub prefix: String,
    pub path: String,
    pub commit: Option<String>,
}

/// The hash a key is stored and looked up by (SHA-256, hex): what `keys/status` takes
/// instead of the key itself.
pub fn key_hash(secret: &str) -> String {
    audit::hex(&Sha256::digest(secret.as_bytes()))
}

#[derive(Clone)]
pub(crate) struct KeyRow {
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

fn key_row(r: &Row) -> Result<KeyRow> {
    Ok(KeyRow {
        id: r.int(0)?,
        subaccount_id: r.int(1)?,
        subaccount: r.text(2)?,
        environment: r.text(3)?,
        name: r.text(4)?,
        prefix: r.text(5)?,
        hash: r.text(6)?,
        created: r.int(7)?,
        created_by: r.text(8)?,
        expires: r.opt_int(9)?,
        revoked: r.opt_int(10)?,
        grace_until: r.opt_int(11)?,
        replaced_by: r.opt_int(12)?,
        last_used: r.opt_int(13)?,
    })
}

fn key_rows(conn: &Conn<'_>, condition: &str, params: &[crate::db::Value]) -> Result<Vec<KeyRow>> {
    conn.query(&format!("SELECT {KEY_COLUMNS} {condition}"), params)?
        .iter()
        .map(key_row)
        .collect()
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

fn key_by_id(conn: &Conn<'_>, id: i64) -> Result<KeyRow> {
    key_rows(conn, "WHERE k.id = ?1", p![id])?
        .into_iter()
        .next()
        .ok_or_else(|| AccessError::NotFound {
            what: "key with id",
            name: id.to_string(),
        })
}

/// A presented key, reduced to what its lookup needs: the display prefix that narrows the
/// candidates, and the hash that must match one of them. Verifications build one per
/// request, so it borrows the prefix and keeps the hash as bytes: the hex form is only
/// needed when the store is read.
pub(crate) struct Presented<'a> {
    pub(crate) prefix: &'a str,
    /// SHA-256 of the key ([`key_hash`] is its hex form).
    pub(crate) digest: [u8; 32],
}

impl<'a> Presented<'a> {
    /// `None` when `secret` is not one of our keys at all (no lookup is needed).
    pub(crate) fn parse(secret: &'a str) -> Option<Presented<'a>> {
        let secret = secret.trim();
        let prefix = ApiKey::checked_display_prefix(secret).ok()?;
        Some(Presented {
            prefix,
            digest: Sha256::digest(secret.as_bytes()).into(),
        })
    }

    /// The candidate whose hash matches, compared in constant time.
    pub(crate) fn pick(&self, candidates: Vec<KeyRow>) -> Option<KeyRow> {
        let hash = audit::hex(&self.digest);
        let mut found = None;
        for row in candidates {
            if bool::from(row.hash.as_bytes().ct_eq(hash.as_bytes())) {
                found = Some(row);
            }
        }
        found
    }
}

/// The one query of a key lookup: the keys sharing a display prefix (`?1`).
pub(crate) fn candidates_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| format!("SELECT {KEY_COLUMNS} WHERE k.display_prefix = ?1"))
}

/// Maps the rows of [`candidates_sql`].
pub(crate) fn candidate_rows(rows: &[Row]) -> Result<Vec<KeyRow>> {
    rows.iter().map(key_row).collect()
}

/// The stored key matching `presented`, in one statement.
pub(crate) fn find_presented(store: &Store, presented: &Presented<'_>) -> Result<Option<KeyRow>> {
    store.read_one_statement(|conn, _| {
        let rows = conn.query(candidates_sql(), p![presented.prefix])?;
        Ok(presented.pick(candidate_rows(&rows)?))
    })
}

/// Finds the stored key matching `secret`: candidates are narrowed by the display prefix,
/// then the SHA-256 hashes are compared in constant time.
fn find_by_secret(conn: &Conn<'_>, secret: &str) -> Result<Option<KeyRow>> {
    let Some(presented) = Presented::parse(secret) else {
        return Ok(None);
    };
    let rows = conn.query(candidates_sql(), p![presented.prefix])?;
    Ok(presented.pick(candidate_rows(&rows)?))
}

fn validate_key_name(name: &str) -> Result<()> {
    crate::validate::validate_text("the key name", name, 100)
}

fn insert_key(
    conn: &Conn<'_>,
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
    let id = conn
        .query_one(
            "INSERT INTO api_keys (subaccount_id, name, display_prefix, hash, created, created_by, expires)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
            p![
                subaccount_id,
                name,
                key.display_prefix(),
                key_hash(key.expose()),
                now,
                me.email.clone(),
                expires
            ],
        )?
        .int(0)?;
    Ok((id, key))
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
    if expires_in_days.is_some_and(|d| d == 0 || d > MAX_KEY_DAYS) {
        return Err(AccessError::invalid(format!(
            "--expires-in must be 1 to {MAX_KEY_DAYS} days"
        )));
    }
    store.write(&actor.email, "key create", subaccount, |tx, now| {
        let me = acting(tx, store.key(), actor)?;
        let sub_id = subaccount_id(tx, subaccount)?;
        me.require(Capability::ManageKeys, Some(sub_id), || {
            format!("create keys in subaccount {subaccount}")
        })?;
        let environment = tx
            .query_one(
                "SELECT environment FROM subaccounts WHERE id = ?1",
                p![sub_id],
            )?
            .text(0)?;
        let expires = expires_in_days.map(|d| now + i64::from(d) * 86_400);
        let (id, key) = insert_key(tx, &me, sub_id, &environment, name, expires, now)?;
        audit::append(
            tx,
            store.key(),
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
                subaccount: Some(sub_id),
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
    store.read_as(
        &actor.email,
        "key list",
        subaccount.unwrap_or(""),
        |tx, now| {
            let me = acting(tx, store.key(), actor)?;
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
            let rows = key_rows(tx, "ORDER BY k.id", p![])?;
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
    if grace_hours > MAX_GRACE_HOURS {
        return Err(AccessError::invalid(format!(
            "--grace-hours must be at most {MAX_GRACE_HOURS} (30 days)"
        )));
    }
    store.write(
        &actor.email,
        "key rotate",
        &format!("key {id}"),
        |tx, now| {
            let me = acting(tx, store.key(), actor)?;
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
            tx.exec(
                "UPDATE api_keys SET grace_until = ?1, replaced_by = ?2 WHERE id = ?3",
                p![grace_until, new_id, id],
            )?;
            let subaccount_of_key = Some(old.subaccount_id);
            audit::append(
                tx,
                store.key(),
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
                    subaccount: subaccount_of_key,
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

fn revoke_row(
    conn: &Conn<'_>,
    key: &crate::ServerKey,
    me: &Member,
    row: &KeyRow,
    now: i64,
    detail: &str,
) -> Result<()> {
    conn.exec(
        "UPDATE api_keys SET revoked = ?1 WHERE id = ?2",
        p![now, row.id],
    )?;
    audit::append(
        conn,
        key,
        &NewEntry {
            at: now,
            actor: &me.email,
            action: "key revoke",
            target: &format!("key {}", row.id),
            result: "ok",
            detail,
            subaccount: Some(row.subaccount_id),
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
            let me = acting(tx, store.key(), actor)?;
            let row = key_by_id(tx, id)?;
            me.require(Capability::ManageKeys, Some(row.subaccount_id), || {
                format!("revoke keys in subaccount {}", row.subaccount)
            })?;
            if row.revoked.is_some() {
                return Err(AccessError::invalid(format!("key {id} is already revoked")));
            }
            revoke_row(
                tx,
                store.key(),
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

/// How stale a key's `last_used` may get before a verification records the use again.
/// Verifying is the hot path of services that check keys: most verifications are then
/// reads, and only one a minute per key takes the write lock.
pub const LAST_USED_RESOLUTION_SECONDS: i64 = 60;

/// `key verify`: [`lookup_key`], and when the key is live, records that it was used (to
/// the minute).
pub fn verify_key(store: &Store, secret: &str) -> Result<KeyLookup> {
    let (result, used) = check_key(store, secret)?;
    if let Some(used) = used {
        record_key_use(store, used)?;
    }
    Ok(result)
}

/// A live key's use that [`record_key_use`] should write down: its `last_used` is older
/// than [`LAST_USED_RESOLUTION_SECONDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUse {
    key_id: i64,
}

impl KeyUse {
    /// The key's id in the store.
    pub fn key_id(&self) -> i64 {
        self.key_id
    }
}

/// The read half of [`verify_key`]: one statement, no write. A server answers from this
/// and records the use afterwards, off the request's path.
pub fn check_key(store: &Store, secret: &str) -> Result<(KeyLookup, Option<KeyUse>)> {
    store.read_one_statement(|tx, now| Ok(verdict(find_by_secret(tx, secret)?.as_ref(), now)))
}

/// What a verification answers for the stored key `found` at `now`, and whether its use
/// should be recorded.
pub(crate) fn verdict(found: Option<&KeyRow>, now: i64) -> (KeyLookup, Option<KeyUse>) {
    let Some(row) = found else {
        return (KeyLookup::unknown(), None);
    };
    let result = row.lookup(now);
    let stale = result.status == KeyStatus::Live
        && row
            .last_used
            .is_none_or(|t| now - t >= LAST_USED_RESOLUTION_SECONDS);
    (result, stale.then_some(KeyUse { key_id: row.id }))
}

/// The write half of [`verify_key`]. Usage timestamps are bookkeeping, not a change of who
/// may do what, so they are not audited (every API call would otherwise append an entry).
pub fn record_key_use(store: &Store, used: KeyUse) -> Result<()> {
    store.transaction(true, |tx, now| {
        tx.exec(
            "UPDATE api_keys SET last_used = ?1 WHERE id = ?2",
            p![now, used.key_id],
        )
        .map(|_| ())
    })
}

/// What the store knows about the key whose [`key_hash`] is `hash`, for a user who may
/// view keys there: the scanner asks this of a server without ever sending the key.
/// A key in a subaccount the user may not see is reported as unknown.
pub fn key_status_by_hash(store: &Store, actor: &Actor, hash: &str) -> Result<KeyLookup> {
    store.require_initialized()?;
    store.read_as(&actor.email, "key status", "", |tx, now| {
        let me = acting(tx, store.key(), actor)?;
        me.require(Capability::ManageKeys, None, || {
            "look up key status".to_owned()
        })?;
        let wanted = hash.trim().to_ascii_lowercase();
        let found = key_rows(tx, "WHERE k.hash = ?1", p![wanted])?
            .into_iter()
            .find(|r| me.can(Capability::ManageKeys, Some(r.subaccount_id)));
        Ok(found.map_or_else(KeyLookup::unknown, |r| r.lookup(now)))
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
            let me = acting(tx, store.key(), actor)?;
            let mut revoked: Vec<RevokedKey> = Vec::new();
            for leak in leaks {
                let wanted = leak.key_hash.trim().to_ascii_lowercase();
                let Some(row) = key_rows(tx, "WHERE k.hash = ?1", p![wanted])?
                    .into_iter()
                    .next()
                else {
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
                    store.key(),
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
pub(crate) fn all_keys(conn: &Conn<'_>, now: i64) -> Result<Vec<(KeyInfo, i64)>> {
    let rows = key_rows(conn, "ORDER BY k.id", p![])?;
    Ok(rows
        .iter()
        .map(|r| (r.info(now), r.subaccount_id))
        .collect())
}

/// A leak of a key, as a scan reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leak {
    pub key_id: i64,
    pub key_name: String,
    pub subaccount: String,
    pub environment: String,
    pub prefix: String,
    pub status: KeyStatus,
    pub path: String,
    pub commit: Option<String>,
    pub reported: i64,
    pub reported_by: String,
}

/// Records where keys were found leaked (`POST /api/v1/leaks`), for the keys `actor` may
/// see; a key the actor may not see, or that this account did not issue, is skipped
/// without saying so. Returns the leaks newly recorded (one already known is not repeated).
pub fn report_leaks(store: &Store, actor: &Actor, leaks: &[LeakedKey]) -> Result<Vec<Leak>> {
    store.require_initialized()?;
    store.write(&actor.email, "key leak", &format!("{} leaks", leaks.len()), |tx, now| {
        let me = acting(tx, store.key(), actor)?;
        let mut recorded = Vec::new();
        for leak in leaks {
            crate::validate::validate_text("a leak's path", &leak.path, 4096)?;
            let wanted = leak.key_hash.trim().to_ascii_lowercase();
            let Some(row) = key_rows(tx, "WHERE k.hash = ?1", p![wanted])?.into_iter().next() else {
                continue;
            };
            if !me.can(Capability::ManageKeys, Some(row.subaccount_id)) {
                continue;
            }
            let commit = leak.commit.clone().unwrap_or_default();
            let known = tx.query_opt(
                "SELECT id FROM leaks WHERE key_id = ?1 AND path = ?2 AND commit_id = ?3",
                p![row.id, &leak.path, &commit],
            )?;
            if known.is_some() {
                continue;
            }
            tx.exec(
                "INSERT INTO leaks (key_id, path, commit_id, reported, reported_by) VALUES (?1, ?2, ?3, ?4, ?5)",
                p![row.id, &leak.path, &commit, now, &me.email],
            )?;
            let place = match &leak.commit {
                Some(c) => format!("{} at commit {c}", leak.path),
                None => leak.path.clone(),
            };
            audit::append(
                tx,
                store.key(),
                &NewEntry {
                    at: now,
                    actor: &me.email,
                    action: "key leak",
                    target: &format!("key {}", row.id),
                    result: "ok",
                    detail: &format!("{} ({}) found in {place}", row.name, row.status(now).as_str()),
                    subaccount: Some(row.subaccount_id),
                },
            )?;
            recorded.push(Leak {
                key_id: row.id,
                key_name: row.name.clone(),
                subaccount: row.subaccount.clone(),
                environment: row.environment.clone(),
                prefix: row.prefix.clone(),
                status: row.status(now),
                path: leak.path.clone(),
                commit: leak.commit.clone(),
                reported: now,
                reported_by: me.email.clone(),
            });
        }
        Ok(recorded)
    })
}

/// Every recorded leak of a key `actor` may see, newest first.
pub fn list_leaks(store: &Store, actor: &Actor) -> Result<Vec<Leak>> {
    store.require_initialized()?;
    store.read_as(&actor.email, "key leaks", "", |tx, now| {
        let me = acting(tx, store.key(), actor)?;
        me.require(Capability::ManageKeys, None, || "view leaked keys".to_owned())?;
        let mut out = Vec::new();
        for r in tx.query(
            "SELECT key_id, path, commit_id, reported, reported_by FROM leaks ORDER BY reported DESC, id DESC",
            p![],
        )? {
            let key = key_by_id(tx, r.int(0)?)?;
            if !me.can(Capability::ManageKeys, Some(key.subaccount_id)) {
                continue;
            }
            let commit = r.text(2)?;
            out.push(Leak {
                key_id: key.id,
                key_name: key.name.clone(),
                subaccount: key.subaccount.clone(),
                environment: key.environment.clone(),
                prefix: key.prefix.clone(),
                status: key.status(now),
                path: r.text(1)?,
                commit: (!commit.is_empty()).then_some(commit),
                reported: r.int(3)?,
                reported_by: r.text(4)?,
            });
        }
        Ok(out)
    })
}
