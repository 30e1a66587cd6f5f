//! Who is acting, and the single place where permission checks happen.

use crate::db::{p, Conn};
use crate::error::{AccessError, Result};
use crate::roles::{grant, Capability, Grant, Role};
use crate::serverkey::ServerKey;
use serde::{Deserialize, Serialize};

/// The user a session belongs to. Every command other than `init`, `login` and `key verify`
/// acts as an `Actor`; the role is re-read inside each transaction, so a role changed by
/// another process since login takes effect at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: i64,
    pub email: String,
}

/// A user's membership, as it stands inside the current transaction.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub id: i64,
    pub email: String,
    pub role: Role,
    /// `None`: every subaccount. `Some`: only these subaccount ids (Developers).
    pub scope: Option<Vec<i64>>,
}

impl Member {
    /// Whether the permission table lets this member use `capability`, in `subaccount` when
    /// the capability is scoped. Denied unless the table says otherwise.
    pub fn can(&self, capability: Capability, subaccount: Option<i64>) -> bool {
        match grant(self.role, capability) {
            Grant::Denied => false,
            Grant::Allowed => true,
            Grant::OwnSubaccounts => match (&self.scope, subaccount) {
                (None, _) => true,
                (Some(_), None) => true,
                (Some(ids), Some(id)) => ids.contains(&id),
            },
        }
    }

    /// [`Member::can`], or a refusal whose message names the actor, role and `action`.
    pub fn require(
        &self,
        capability: Capability,
        subaccount: Option<i64>,
        action: impl FnOnce() -> String,
    ) -> Result<()> {
        if self.can(capability, subaccount) {
            Ok(())
        } else {
            Err(self.denied(action()))
        }
    }

    pub fn denied(&self, action: String) -> AccessError {
        AccessError::PermissionDenied {
            actor: self.email.clone(),
            role: self.role.to_string(),
            action,
        }
    }
}

pub(crate) fn parse_role(text: &str) -> Result<Role> {
    text.parse::<Role>()
        .map_err(|problem| AccessError::Corrupt {
            path: Default::default(),
            problem,
        })
}

/// Loads a member by id, with its scope, after checking the record's integrity code.
pub(crate) fn member_by_id(conn: &Conn<'_>, key: &ServerKey, id: i64) -> Result<Option<Member>> {
    let Some(row) = conn.query_opt(
        "SELECT email, role, all_subaccounts FROM users WHERE id = ?1",
        p![id],
    )?
    else {
        return Ok(None);
    };
    crate::integrity::check_user(conn, key, id)?;
    let scope = if row.flag(2)? {
        None
    } else {
        let ids = conn
            .query(
                "SELECT subaccount_id FROM user_subaccounts WHERE user_id = ?1 ORDER BY subaccount_id",
                p![id],
            )?
            .iter()
            .map(|r| r.int(0))
            .collect::<Result<Vec<i64>>>()?;
        Some(ids)
    };
    Ok(Some(Member {
        id,
        email: row.text(0)?,
        role: parse_role(&row.text(1)?)?,
        scope,
    }))
}

pub(crate) fn member_by_email(
    conn: &Conn<'_>,
    key: &ServerKey,
    email: &str,
) -> Result<Option<Member>> {
    let id = conn.query_opt(
        "SELECT id FROM users WHERE lower(email) = lower(?1)",
        p![email],
    )?;
    match id {
        Some(r) => member_by_id(conn, key, r.int(0)?),
        None => Ok(None),
    }
}

/// The acting member, checked to still exist, to be intact and, when the account requires
/// 2FA, to have verified it: until then a user can do nothing but log in with a code.
pub(crate) fn acting(conn: &Conn<'_>, key: &ServerKey, actor: &Actor) -> Result<Member> {
    let Some(member) = member_by_id(conn, key, actor.user_id)? else {
        return Err(AccessError::Authentication(format!(
            "{} is no longer a member of this account",
            actor.email
        )));
    };
    let row = conn.query_one(
        "SELECT a.require_2fa, u.totp_verified, u.enrolled FROM account a, users u WHERE a.id = 1 AND u.id = ?1",
        p![actor.user_id],
    )?;
    if !row.flag(2)? {
        return Err(AccessError::Authentication(format!(
            "{} has not accepted their invitation yet",
            member.email
        )));
    }
    if row.flag(0)? && !row.flag(1)? {
        return Err(AccessError::Authentication(format!(
            "{} has not verified 2FA yet: log in with a code from the authenticator app first",
            member.email
        )));
    }
    Ok(member)
}
