//! The hash-chained audit log: appending inside a mutation's transaction, listing, verifying.

use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An entry about to be appended.
pub(crate) struct NewEntry<'a> {
    pub at: i64,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub result: &'a str,
    pub detail: &'a str,
}

/// One stored audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    /// `ok` or `refused`.
    pub result: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The outcome of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub entries: u64,
    /// The first entry that does not verify, and why.
    pub first_bad: Option<BadEntry>,
}

/// An entry that was edited, or that follows a deleted one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadEntry {
    pub id: i64,
    pub problem: String,
}

fn entry_hash(id: i64, entry: &NewEntry<'_>, prev_hash: &str) -> String {
    // A JSON array is an unambiguous encoding of the fields: no separator can be forged.
    let canonical = serde_json::json!([
        id,
        entry.at,
        entry.actor,
        entry.action,
        entry.target,
        entry.result,
        entry.detail,
        prev_hash
    ]);
    hex(&Sha256::digest(canonical.to_string().as_bytes()))
}

impl AuditEntry {
    fn fields(&self) -> NewEntry<'_> {
        NewEntry {
            at: self.at,
            actor: &self.actor,
            action: &self.action,
            target: &self.target,
            result: &self.result,
            detail: &self.detail,
        }
    }
}

/// A Unix time as RFC 3339 UTC, for messages and listings.
pub fn time_text(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| unix.to_string())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends an entry after the current head. Must run inside the caller's write transaction.
pub(crate) fn append(conn: &Connection, entry: &NewEntry<'_>) -> Result<i64> {
    let last: Option<(i64, String)> = conn
        .query_row(
            "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (prev_id, prev_hash) = last.unwrap_or((0, GENESIS_HASH.to_owned()));
    let id = prev_id + 1;
    let hash = entry_hash(id, entry, &prev_hash);
    conn.execute(
        "INSERT INTO audit (id, at, actor, action, target, result, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            id,
            entry.at,
            entry.actor,
            entry.action,
            entry.target,
            entry.result,
            entry.detail,
            prev_hash,
            hash
        ],
    )?;
    // The head is kept with the account so that cutting entries off the end is detected too.
    conn.execute(
        "UPDATE account SET audit_head_id = ?1, audit_head_hash = ?2 WHERE id = 1",
        params![id, hash],
    )?;
    Ok(id)
}

pub(crate) fn entries(conn: &Connection, limit: Option<u64>) -> Result<Vec<AuditEntry>> {
    // The newest `limit` entries, returned oldest first; no limit is every entry.
    let limit = limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
    let mut stmt = conn.prepare(
        "SELECT id, at, actor, action, target, result, detail, prev_hash, hash FROM (
             SELECT * FROM audit ORDER BY id DESC LIMIT ?1
         ) ORDER BY id",
    )?;
    let rows = stmt.query_map(params![limit], |r| {
        Ok(AuditEntry {
            id: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            target: r.get(4)?,
            result: r.get(5)?,
            detail: r.get(6)?,
            prev_hash: r.get(7)?,
            hash: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Walks the chain from the first entry and reports the first one that does not verify.
pub(crate) fn verify(conn: &Connection) -> Result<ChainReport> {
    let all = entries(conn, None)?;
    let mut expected_id = 1;
    let mut prev_hash = GENESIS_HASH.to_owned();
    for entry in &all {
        let problem = if entry.id != expected_id {
            Some(format!(
                "entry {expected_id} is missing (deleted?) before entry {}",
                entry.id
            ))
        } else if entry.prev_hash != prev_hash {
            Some("its link to the previous entry does not match (an earlier entry was deleted or edited)".to_owned())
        } else if entry_hash(entry.id, &entry.fields(), &entry.prev_hash) != entry.hash {
            Some("its contents do not match its hash (edited)".to_owned())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Ok(ChainReport {
                entries: all.len() as u64,
                first_bad: Some(BadEntry {
                    id: entry.id,
                    problem,
                }),
            });
        }
        prev_hash = entry.hash.clone();
        expected_id += 1;
    }
    let head: Option<(i64, String)> = conn
        .query_row(
            "SELECT audit_head_id, audit_head_hash FROM account WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((head_id, head_hash)) = head {
        let last_id = expected_id - 1;
        if head_id != last_id || (head_id > 0 && head_hash != prev_hash) {
            return Ok(ChainReport {
                entries: all.len() as u64,
                first_bad: Some(BadEntry {
                    id: head_id.max(last_id + 1),
                    problem: format!(
                        "the log ends at entry {last_id} but the account records entry {head_id} as the last (entries cut off the end)"
                    ),
                }),
            });
        }
    }
    Ok(ChainReport {
        entries: all.len() as u64,
        first_bad: None,
    })
}

/// The last `limit` entries (all when `None`), oldest first. Anyone who may view usage may read them.
pub fn list_audit(
    store: &crate::Store,
    actor: &crate::Actor,
    limit: Option<u64>,
) -> Result<Vec<AuditEntry>> {
    store.require_initialized()?;
    store.write(&actor.email, "audit list", "", |tx, _| {
        let me = crate::authz::acting(tx, actor)?;
        me.require(crate::Capability::ViewUsageAndAudit, None, || {
            "view the audit log".to_owned()
        })?;
        entries(tx, limit)
    })
}

/// Checks the whole chain and reports the first entry that was edited or follows a deletion.
pub fn verify_audit(store: &crate::Store, actor: &crate::Actor) -> Result<ChainReport> {
    store.require_initialized()?;
    store.write(&actor.email, "audit verify", "", |tx, _| {
        let me = crate::authz::acting(tx, actor)?;
        me.require(crate::Capability::ViewUsageAndAudit, None, || {
            "verify the audit log".to_owned()
        })?;
        verify(tx)
    })
}

/// [`verify_audit`] without a session, for recovery tools and tests that inspect a
/// database directly.
pub fn verify_chain(store: &crate::Store) -> Result<ChainReport> {
    store.read(|tx, _| verify(tx))
}
