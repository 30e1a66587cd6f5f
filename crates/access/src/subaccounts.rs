//! Subaccounts: named parts of the primary account, each tagged with one environment.

use crate::audit::{self, NewEntry};
use crate::authz::{acting, Actor};
use crate::db::{p, Conn};
use crate::error::{AccessError, Result};
use crate::roles::Capability;
use crate::store::Store;
use serde::{Deserialize, Serialize};

/// A subaccount as listings show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

pub(crate) fn subaccount_id(conn: &Conn<'_>, name: &str) -> Result<i64> {
    conn.query_opt("SELECT id FROM subaccounts WHERE name = ?1", p![name])?
        .ok_or_else(|| AccessError::NotFound {
            what: "subaccount",
            name: name.to_owned(),
        })?
        .int(0)
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
        let me = acting(tx, store.key(), actor)?;
        me.require(Capability::ManageSubaccounts, None, || {
            format!("add subaccount {name}")
        })?;
        if subaccount_id(tx, name).is_ok() {
            return Err(AccessError::AlreadyExists {
                what: "subaccount",
                name: name.to_owned(),
            });
        }
        let sub_id = tx
            .query_one(
                "INSERT INTO subaccounts (name, environment, created, created_by) VALUES (?1, ?2, ?3, ?4) RETURNING id",
                p![name, environment, now, &me.email],
            )?
            .int(0)?;
        audit::append(
            tx,
            store.key(),
            &NewEntry {
                at: now,
                actor: &me.email,
                action: "subaccount add",
                target: name,
                result: "ok",
                detail: &format!("environment {environment}"),
                subaccount: Some(sub_id),
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
    store.read_as(&actor.email, "subaccount list", "", |tx, _| {
        let me = acting(tx, store.key(), actor)?;
        me.require(Capability::ViewUsageAndAudit, None, || {
            "list subaccounts".to_owned()
        })?;
        all_subaccounts(tx)
    })
}

pub(crate) fn all_subaccounts(conn: &Conn<'_>) -> Result<Vec<Subaccount>> {
    conn.query(
        "SELECT name, environment, created FROM subaccounts ORDER BY name",
        p![],
    )?
    .iter()
    .map(|r| {
        Ok(Subaccount {
            name: r.text(0)?,
            environment: r.text(1)?,
            created: r.int(2)?,
        })
    })
    .collect()
}
