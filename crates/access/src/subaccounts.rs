//! Subaccounts: named parts of the primary account, each tagged with one environment.

use crate::audit::{self, NewEntry};
use crate::authz::{acting, Actor};
use crate::error::{AccessError, Result};
use crate::roles::Capability;
use crate::store::Store;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// A subaccount as listings show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subaccount {
    pub name: String,
    pub environment: String,
    pub created: i64,
}

/// Names may not contain commas (they separate `--subaccounts` lists) or whitespace.
fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AccessError::invalid(format!(
            "subaccount name {name:?} must be 1 to 64 characters of letters, digits, '-', '_' or '.'"
        )))
    }
}

pub(crate) fn subaccount_id(conn: &Connection, name: &str) -> Result<i64> {
    conn.query_row(
        "SELECT id FROM subaccounts WHERE name = ?1",
        params![name],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| AccessError::NotFound {
        what: "subaccount",
        name: name.to_owned(),
    })
}

/// Adds a subaccount for `environment` (`prod`, `qa`, `dev` or a custom name that can
/// appear in a key: 1 to 20 characters of a-z and 0-9).
pub fn add_subaccount(
    store: &Store,
    actor: &Actor,
    name: &str,
    environment: &str,
) -> Result<Subaccount> {
    store.require_initialized()?;
    validate_name(name)?;
    if !sg_keyformat::is_valid_environment(environment) {
        return Err(AccessError::invalid(format!(
            "environment {environment:?} must be 1 to 20 characters of a-z and 0-9 (it appears in every key)"
        )));
    }
    store.write(&actor.email, "subaccount add", name, |tx, now| {
        let me = acting(tx, actor)?;
        me.require(Capability::ManageSubaccounts, None, || {
            format!("add subaccount {name}")
        })?;
        if subaccount_id(tx, name).is_ok() {
            return Err(AccessError::AlreadyExists {
                what: "subaccount",
                name: name.to_owned(),
            });
        }
        tx.execute(
            "INSERT INTO subaccounts (name, environment, created, created_by) VALUES (?1, ?2, ?3, ?4)",
            params![name, environment, now, me.email],
        )?;
        audit::append(
            tx,
            &NewEntry {
                at: now,
                actor: &me.email,
                action: "subaccount add",
                target: name,
                result: "ok",
                detail: &format!("environment {environment}"),
            },
        )?;
        Ok(Subaccount {
            name: name.to_owned(),
            environment: environment.to_owned(),
            created: now,
        })
    })
}

/// Every subaccount, for anyone allowed to view usage.
pub fn list_subaccounts(store: &Store, actor: &Actor) -> Result<Vec<Subaccount>> {
    store.require_initialized()?;
    store.write(&actor.email, "subaccount list", "", |tx, _| {
        let me = acting(tx, actor)?;
        me.require(Capability::ViewUsageAndAudit, None, || {
            "list subaccounts".to_owned()
        })?;
        all_subaccounts(tx)
    })
}

pub(crate) fn all_subaccounts(conn: &Connection) -> Result<Vec<Subaccount>> {
    let mut stmt =
        conn.prepare("SELECT name, environment, created FROM subaccounts ORDER BY name")?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Subaccount {
                name: r.get(0)?,
                environment: r.get(1)?,
                created: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
