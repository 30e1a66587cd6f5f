//! The audit log: appending inside a mutation's transaction, listing what each role may
//! see, verifying the keyed chain, and signed checkpoints of its head.
//!
//! Each entry's hash is an HMAC under a key derived from the server key, over the entry
//! and the previous entry's hash, so the chain cannot be recomputed without the key. The
//! head (last id and hash) is kept with the account under its own MAC, so cutting entries
//! off the end is detected; a checkpoint signed with the server's Ed25519 key, kept
//! outside the database, also catches a log rolled back to an older copy.

use crate::authz::{acting, Actor, Member};
use crate::db::{p, Conn, Row};
use crate::error::{AccessError, Result};
use crate::roles::{Capability, Role};
use crate::serverkey::ServerKey;
use serde::{Deserialize, Serialize};
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
    /// The subaccount the entry is about, which decides who may read it.
    pub subaccount: Option<i64>,
}

/// One stored audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// `account`, `users`, `sessions`, `subaccounts`, `keys`, `billing` or `audit`.
    pub category: String,
    pub subaccount_id: Option<i64>,
    pub prev_hash: String,
    pub hash: String,
}

/// The outcome of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainReport {
    pub entries: u64,
    /// The first entry that does not verify, and why.
    pub first_bad: Option<BadEntry>,
    /// Whether a checkpoint was given and the log still contains it.
    #[serde(default)]
    pub checkpoint_verified: Option<bool>,
}

/// An entry that was edited, or that follows a deleted one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadEntry {
    pub id: i64,
    pub problem: String,
}

/// The log's head at one moment, signed by the server. Kept outside the database, it
/// proves later that the log was not truncated or rolled back to before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub account: String,
    pub entries: u64,
    pub head_hash: String,
    pub at: i64,
    /// The Ed25519 public key that signed it, hex.
    pub public_key: String,
    /// Ed25519 signature over [`Checkpoint::signed_text`], hex.
    pub signature: String,
}

impl Checkpoint {
    /// The exact text the signature covers.
    pub fn signed_text(&self) -> String {
        serde_json::json!([
            "secrets-guard audit checkpoint v1",
            self.account,
            self.entries,
            self.head_hash,
            self.at
        ])
        .to_string()
    }
}

/// Which part of the account an action concerns, from its name.
fn category_of(action: &str) -> &'static str {
    let first = action.split_whitespace().next().unwrap_or("");
    match first {
        "key" => "keys",
        "billing" => "billing",
        "user" | "invite" | "accept-invite" | "transfer-ownership" => "users",
        "login" | "logout" | "session" => "sessions",
        "subaccount" => "subaccounts",
        "audit" => "audit",
        _ => "account",
    }
}

fn canonical(id: i64, e: &NewEntry<'_>, category: &str, prev_hash: &str) -> String {
    // A JSON array is an unambiguous encoding of the fields: no separator can be forged.
    serde_json::json!([
        id,
        e.at,
        e.actor,
        e.action,
        e.target,
        e.result,
        e.detail,
        category,
        e.subaccount,
        prev_hash
    ])
    .to_string()
}

/// The unkeyed hash of entries written before the server key existed.
fn legacy_hash(id: i64, e: &NewEntry<'_>, prev_hash: &str) -> String {
    let canonical =
        serde_json::json!([id, e.at, e.actor, e.action, e.target, e.result, e.detail, prev_hash]);
    hex(&Sha256::digest(canonical.to_string().as_bytes()))
}

fn head_mac(key: &ServerKey, id: i64, hash: &str) -> String {
    key.record_mac("audit-head", &serde_json::json!([id, hash]))
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
            subaccount: self.subaccount_id,
        }
    }

    fn from_row(r: &Row) -> Result<AuditEntry> {
        Ok(AuditEntry {
            id: r.int(0)?,
            at: r.int(1)?,
            actor: r.text(2)?,
            action: r.text(3)?,
            target: r.text(4)?,
            result: r.text(5)?,
            detail: r.text(6)?,
            category: r.text(7)?,
            subaccount_id: r.opt_int(8)?,
            prev_hash: r.text(9)?,
            hash: r.text(10)?,
        })
    }
}

const ENTRY_COLUMNS: &str =
    "id, at, actor, action, target, result, detail, category, subaccount_id, prev_hash, hash";

/// A Unix time as RFC 3339 UTC, for messages and listings.
pub fn time_text(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| unix.to_string())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    // Every key verification hashes the presented key: no allocation per byte.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Appends an entry after the current head. Must run inside the caller's write transaction.
pub(crate) fn append(conn: &Conn<'_>, key: &ServerKey, entry: &NewEntry<'_>) -> Result<i64> {
    let last = conn.query_opt("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", p![])?;
    let (prev_id, prev_hash) = match last {
        Some(r) => (r.int(0)?, r.text(1)?),
        None => (0, GENESIS_HASH.to_owned()),
    };
    let id = prev_id + 1;
    let category = category_of(entry.action);
    let hash = key.audit_mac(&canonical(id, entry, category, &prev_hash));
    conn.exec(
        "INSERT INTO audit (id, at, actor, action, target, result, detail, category, subaccount_id, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        p![
            id,
            entry.at,
            entry.actor,
            entry.action,
            entry.target,
            entry.result,
            entry.detail,
            category,
            entry.subaccount,
            prev_hash,
            hash.clone()
        ],
    )?;
    conn.exec(
        "UPDATE account SET audit_head_id = ?1, audit_head_hash = ?2, audit_head_mac = ?3 WHERE id = 1",
        p![id, hash.clone(), head_mac(key, id, &hash)],
    )?;
    Ok(id)
}

fn all_entries(conn: &Conn<'_>) -> Result<Vec<AuditEntry>> {
    conn.query(
        &format!("SELECT {ENTRY_COLUMNS} FROM audit ORDER BY id"),
        p![],
    )?
    .iter()
    .map(AuditEntry::from_row)
    .collect()
}

/// Walks the chain from the first entry and reports the first one that does not verify.
/// `legacy` checks the unkeyed hashes of a store written before the key existed.
fn verify_with(conn: &Conn<'_>, key: &ServerKey, legacy: bool) -> Result<ChainReport> {
    let all = all_entries(conn)?;
    let mut expected_id = 1;
    let mut prev_hash = GENESIS_HASH.to_owned();
    let bad = |id: i64, problem: String| ChainReport {
        entries: all.len() as u64,
        first_bad: Some(BadEntry { id, problem }),
        checkpoint_verified: None,
    };
    for entry in &all {
        let expected_hash = if legacy {
            legacy_hash(entry.id, &entry.fields(), &entry.prev_hash)
        } else {
            key.audit_mac(&canonical(
                entry.id,
                &entry.fields(),
                &entry.category,
                &entry.prev_hash,
            ))
        };
        let problem = if entry.id != expected_id {
            Some(format!(
                "entry {expected_id} is missing (deleted, or entries reordered) before entry {}",
                entry.id
            ))
        } else if entry.prev_hash != prev_hash {
            Some("its link to the previous entry does not match (an earlier entry was deleted, edited or moved)".to_owned())
        } else if !crate::integrity::constant_time_eq(&expected_hash, &entry.hash) {
            Some("its contents do not match its keyed hash (edited, or the chain was recomputed without the server's key)".to_owned())
        } else if !legacy && category_of(&entry.action) != entry.category {
            Some("its category does not match its action (edited)".to_owned())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Ok(bad(entry.id, problem));
        }
        prev_hash = entry.hash.clone();
        expected_id += 1;
    }
    let last_id = expected_id - 1;
    let head = conn.query_opt(
        "SELECT audit_head_id, audit_head_hash, audit_head_mac FROM account WHERE id = 1",
        p![],
    )?;
    if let Some(head) = head {
        let (head_id, head_hash, mac) = (head.int(0)?, head.text(1)?, head.text(2)?);
        if head_id != last_id || (head_id > 0 && head_hash != prev_hash) {
            return Ok(bad(
                head_id.max(last_id + 1),
                format!("the log ends at entry {last_id} but the account records entry {head_id} as the last (entries cut off the end)"),
            ));
        }
        if !legacy
            && last_id > 0
            && !crate::integrity::constant_time_eq(&mac, &head_mac(key, head_id, &head_hash))
        {
            return Ok(bad(
                head_id,
                "the recorded head of the log was rewritten without the server's key (the last entries were deleted)".to_owned(),
            ));
        }
    }
    Ok(ChainReport {
        entries: all.len() as u64,
        first_bad: None,
        checkpoint_verified: None,
    })
}

/// Re-links the whole chain under `new_key` after checking it under `old_key` (or, for a
/// store written before keys, under the unkeyed hash). A chain that does not verify is
/// never re-linked: that would launder the tampering.
pub(crate) fn rekey_chain(
    conn: &Conn<'_>,
    new_key: &ServerKey,
    old_key: Option<&ServerKey>,
) -> Result<()> {
    let report = match old_key {
        Some(old) => verify_with(conn, old, false)?,
        None => verify_with(conn, new_key, true)?,
    };
    if let Some(bad) = report.first_bad {
        return Err(AccessError::Integrity(format!(
            "the audit log does not verify (entry {}: {}); it is left as it is",
            bad.id, bad.problem
        )));
    }
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut last = (0, String::new());
    for mut entry in all_entries(conn)? {
        entry.category = category_of(&entry.action).to_owned();
        let hash = new_key.audit_mac(&canonical(
            entry.id,
            &entry.fields(),
            &entry.category,
            &prev_hash,
        ));
        conn.exec(
            "UPDATE audit SET category = ?1, prev_hash = ?2, hash = ?3 WHERE id = ?4",
            p![
                entry.category.clone(),
                prev_hash.clone(),
                hash.clone(),
                entry.id
            ],
        )?;
        prev_hash = hash.clone();
        last = (entry.id, hash);
    }
    conn.exec(
        "UPDATE account SET audit_head_id = ?1, audit_head_hash = ?2, audit_head_mac = ?3, audit_keyed = 1 WHERE id = 1",
        p![last.0, last.1.clone(), head_mac(new_key, last.0, &last.1)],
    )?;
    Ok(())
}

/// What `audit list` shows: filters and a page.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuditQuery {
    /// Only the last N visible entries (after the filters).
    pub limit: Option<u64>,
    /// Skip the newest N visible entries first (for paging backwards).
    #[serde(default)]
    pub offset: u64,
    /// Only entries by this actor.
    pub actor: Option<String>,
    /// Only entries whose action starts with this.
    pub action: Option<String>,
}

/// Whether `me` may read `entry`: Owner, Administrators and Billing Managers read the
/// whole log; Developers and Support read their own actions, and otherwise only entries
/// about what they may see themselves (no billing, keys only in their subaccounts).
fn visible(me: &Member, entry: &AuditEntry) -> bool {
    if matches!(
        me.role,
        Role::Owner | Role::Administrator | Role::BillingManager
    ) {
        return true;
    }
    if entry.actor.eq_ignore_ascii_case(&me.email) {
        return true;
    }
    match entry.category.as_str() {
        "billing" => me.can(Capability::Billing, None),
        "keys" => match entry.subaccount_id {
            Some(id) => me.can(Capability::ManageKeys, Some(id)),
            None => me.scope.is_none() && me.can(Capability::ManageKeys, None),
        },
        _ => true,
    }
}

/// The entries `actor` may see, oldest first, filtered and paged by `query`.
pub fn list_audit(
    store: &crate::Store,
    actor: &Actor,
    query: &AuditQuery,
) -> Result<Vec<AuditEntry>> {
    store.require_initialized()?;
    store.read_as(&actor.email, "audit list", "", |conn, _| {
        let me = acting(conn, store.key(), actor)?;
        me.require(Capability::ViewUsageAndAudit, None, || {
            "view the audit log".to_owned()
        })?;
        let mut shown: Vec<AuditEntry> = all_entries(conn)?
            .into_iter()
            .filter(|e| visible(&me, e))
            .filter(|e| {
                query
                    .actor
                    .as_deref()
                    .is_none_or(|a| e.actor.eq_ignore_ascii_case(a))
            })
            .filter(|e| {
                query
                    .action
                    .as_deref()
                    .is_none_or(|a| e.action.starts_with(a))
            })
            .collect();
        let offset = usize::try_from(query.offset)
            .unwrap_or(usize::MAX)
            .min(shown.len());
        shown.truncate(shown.len() - offset);
        if let Some(limit) = query.limit {
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            let skip = shown.len().saturating_sub(limit);
            shown.drain(..skip);
        }
        Ok(shown)
    })
}

/// Checks the whole chain (and, given a checkpoint, that the log still holds it) and
/// reports the first entry that was edited, deleted or moved.
pub fn verify_audit(
    store: &crate::Store,
    actor: &Actor,
    checkpoint: Option<&Checkpoint>,
) -> Result<ChainReport> {
    store.require_initialized()?;
    store.read_as(&actor.email, "audit verify", "", |conn, _| {
        let me = acting(conn, store.key(), actor)?;
        me.require(Capability::ViewUsageAndAudit, None, || {
            "verify the audit log".to_owned()
        })?;
        verify_conn(conn, store.key(), checkpoint)
    })
}

fn verify_conn(
    conn: &Conn<'_>,
    key: &ServerKey,
    checkpoint: Option<&Checkpoint>,
) -> Result<ChainReport> {
    let mut report = verify_with(conn, key, false)?;
    let Some(cp) = checkpoint else {
        return Ok(report);
    };
    if cp.public_key != key.public_key_hex() {
        report.checkpoint_verified = Some(false);
        report.first_bad.get_or_insert(BadEntry {
            id: 0,
            problem: "the checkpoint was signed by another key than this server's".to_owned(),
        });
        return Ok(report);
    }
    if !crate::serverkey::verify_signature(
        &cp.public_key,
        cp.signed_text().as_bytes(),
        &cp.signature,
    ) {
        report.checkpoint_verified = Some(false);
        report.first_bad.get_or_insert(BadEntry {
            id: 0,
            problem: "the checkpoint's signature does not verify (the file was edited)".to_owned(),
        });
        return Ok(report);
    }
    let id = i64::try_from(cp.entries).unwrap_or(i64::MAX);
    let at_checkpoint = conn.query_opt("SELECT hash FROM audit WHERE id = ?1", p![id])?;
    let holds = match at_checkpoint {
        Some(r) => crate::integrity::constant_time_eq(&r.text(0)?, &cp.head_hash),
        None => cp.entries == 0,
    };
    report.checkpoint_verified = Some(holds);
    if !holds {
        report.first_bad.get_or_insert(BadEntry {
            id,
            problem: format!(
                "the checkpoint of {} records {} entries ending in {}, which the log no longer holds (truncated or rolled back)",
                time_text(cp.at),
                cp.entries,
                &cp.head_hash[..cp.head_hash.len().min(16)]
            ),
        });
    }
    Ok(report)
}

/// Signs the current head of the log with the server's checkpoint key.
pub fn checkpoint(store: &crate::Store, actor: &Actor) -> Result<Checkpoint> {
    store.require_initialized()?;
    store.read_as(&actor.email, "audit checkpoint", "", |conn, now| {
        let me = acting(conn, store.key(), actor)?;
        me.require(Capability::ViewUsageAndAudit, None, || {
            "checkpoint the audit log".to_owned()
        })?;
        let report = verify_with(conn, store.key(), false)?;
        if let Some(bad) = report.first_bad {
            return Err(AccessError::Integrity(format!(
                "the audit log does not verify (entry {}: {}): no checkpoint is signed over it",
                bad.id, bad.problem
            )));
        }
        let row = conn.query_one(
            "SELECT name, audit_head_id, audit_head_hash FROM account WHERE id = 1",
            p![],
        )?;
        let mut cp = Checkpoint {
            account: row.text(0)?,
            entries: u64::try_from(row.int(1)?).unwrap_or(0),
            head_hash: row.text(2)?,
            at: now,
            public_key: store.key().public_key_hex(),
            signature: String::new(),
        };
        cp.signature = store.key().sign(cp.signed_text().as_bytes());
        Ok(cp)
    })
}

/// [`verify_audit`] without a session, for recovery tools and tests that inspect a
/// database directly (with its key).
pub fn verify_chain(store: &crate::Store) -> Result<ChainReport> {
    store.read(|conn, _| verify_conn(conn, store.key(), None))
}
