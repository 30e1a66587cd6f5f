//! Who is acting, and the single place where permission checks happen.

use crate::error::{AccessError, Result};
use crate::roles::{grant, Capability, Grant, Role};
use rusqlite::{params, Connection, OptionalExtension};

/// The user a session belongs to. Every command other than `init`, `login` and `key verify`
/// acts as an `Actor`; the role is re-read inside each transaction, so a role changed by
/// another process since login takes effect at once.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Loads a member by id, with its scope.
pub(crate) fn member_by_id(conn: &Connection, id: i64) -> Result<Option<Member>> {
    let row: Option<(String, String, bool)> = conn
        .query_row(
            "SELECT email, role, all_subaccounts FROM users WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((email, role, all)) = row else {
        return Ok(None);
    };
    let scope = if all {
        None
    } else {
        let mut stmt = conn.prepare(
            "SELECT subaccount_id FROM user_subaccounts WHERE user_id = ?1 ORDER BY subaccount_id",
        )?;
        let ids = stmt
            .query_map(params![id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        Some(ids)
    };
    Ok(Some(Member {
        id,
        email,
        role: parse_role(&role)?,
        scope,
    }))
}

pub(crate) fn member_by_email(conn: &Connection, email: &str) -> Result<Option<Member>> {
    let id: Option<i64> = conn
        .query_row(
            "SELECT id FROM users WHERE email = ?1",
            params![email],
            |r| r.get(0),
        )
        .optional()?;
    match id {
        Some(id) => member_by_id(conn, id),
        None => Ok(None),
    }
}

/// The acting member, checked to still exist and, when the account requires 2FA, to have
/// verified it: until then a user can do nothing but log in with a code.
pub(crate) fn acting(conn: &Connection, actor: &Actor) -> Result<Member> {
    let Some(member) = member_by_id(conn, actor.user_id)? else {
        return Err(AccessError::Authentication(format!(
            "{} is no longer a member of this account",
            actor.email
        )));
    };
    let (require_2fa, verified): (bool, bool) = conn.query_row(
        "SELECT a.require_2fa, u.totp_verified FROM account a, users u WHERE a.id = 1 AND u.id = ?1",
        params![actor.user_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if require_2fa && !verified {
        return Err(AccessError::Authentication(format!(
            "{} has not verified 2FA yet: log in with a code from the authenticator app first",
            member.email
        )));
    }
    Ok(member)
}
