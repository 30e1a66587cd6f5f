//! The account and its users: `init`, adding, removing and re-roling users, ownership transfer.

use crate::audit::{self, NewEntry};
use crate::authz::{acting, member_by_email, Actor, Member};
use crate::billing::currency_exponent;
use crate::error::{AccessError, Result};
use crate::roles::{capability_to_manage, Capability, Role};
use crate::store::Store;
use crate::subaccounts::subaccount_id;
use crate::totp;
use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Recovery codes issued to each new user.
pub const RECOVERY_CODES: usize = 10;

/// What a new user needs to set up 2FA. Shown once and never again: only the TOTP secret
/// (needed to check codes) and the hashes of the recovery codes are stored.
#[derive(Debug, Clone, Serialize)]
pub struct Enrollment {
    pub email: String,
    pub role: Role,
    pub otpauth_uri: String,
    pub recovery_codes: Vec<String>,
}

/// A user as `user list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct UserInfo {
    pub email: String,
    pub role: Role,
    /// `None`: every subaccount.
    pub subaccounts: Option<Vec<String>>,
    pub two_factor_verified: bool,
    pub last_login: Option<i64>,
    pub created: i64,
}

/// Settings chosen at `init`.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub account: String,
    pub owner_email: String,
    /// ISO 4217 code; see [`crate::billing::currency_exponent`].
    pub currency: String,
    /// Whether users must verify 2FA before doing anything (the default).
    pub require_2fa: bool,
}

pub(crate) fn validate_email(email: &str) -> Result<()> {
    let ok = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ',');
    if ok {
        Ok(())
    } else {
        Err(AccessError::invalid(format!(
            "{email:?} is not an email address"
        )))
    }
}

pub(crate) fn hash_hex(text: &str) -> String {
    audit::hex(&Sha256::digest(text.as_bytes()))
}

/// Recovery codes are compared without case, spaces or dashes so they can be typed loosely.
pub(crate) fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Creates the TOTP secret and recovery codes for a user row that was just inserted.
fn enroll(conn: &Connection, user_id: i64, email: &str, role: Role) -> Result<Enrollment> {
    let mut rng = rand::rngs::OsRng;
    let mut secret = [0u8; totp::SECRET_BYTES];
    rng.fill_bytes(&mut secret);
    let secret_b32 = totp::base32_encode(&secret);
    conn.execute(
        "UPDATE users SET totp_secret = ?1 WHERE id = ?2",
        params![secret_b32, user_id],
    )?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let mut raw = [0u8; 7];
        rng.fill_bytes(&mut raw);
        let text = totp::base32_encode(&raw);
        let code = format!("{}-{}", &text[..5], &text[5..10]);
        conn.execute(
            "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)",
            params![user_id, hash_hex(&normalize_recovery_code(&code))],
        )?;
        codes.push(code);
    }
    Ok(Enrollment {
        email: email.to_owned(),
        role,
        otpauth_uri: totp::otpauth_uri(email, &secret_b32),
        recovery_codes: codes,
    })
}

/// Creates the account and its Owner. Fails if the database already has an account.
pub fn init(store: &Store, options: &InitOptions) -> Result<Enrollment> {
    validate_email(&options.owner_email)?;
    let name = options.account.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(AccessError::invalid(
            "the account name must be 1 to 200 characters",
        ));
    }
    let currency = options.currency.to_ascii_uppercase();
    let exponent = currency_exponent(&currency)?;
    store.write(&options.owner_email, "init", name, |tx, now| {
        let existing: Option<String> = tx
            .query_row("SELECT name FROM account WHERE id = 1", [], |r| r.get(0))
            .optional()?;
        if let Some(existing) = existing {
            return Err(AccessError::invalid(format!(
                "this database already has an account ({existing:?}); use another --db"
            )));
        }
        tx.execute(
            "INSERT INTO account (id, name, currency, currency_exponent, require_2fa, created)
             VALUES (1, ?1, ?2, ?3, ?4, ?5)",
            params![name, currency, exponent, options.require_2fa, now],
        )?;
        tx.execute(
            "INSERT INTO users (email, role, totp_secret, created, added_by)
             VALUES (?1, 'owner', '', ?2, ?1)",
            params![options.owner_email, now],
        )?;
        let id = tx.last_insert_rowid();
        let enrollment = enroll(tx, id, &options.owner_email, Role::Owner)?;
        audit::append(
            tx,
            &NewEntry {
                at: now,
                actor: &options.owner_email,
                action: "init",
                target: name,
                result: "ok",
                detail: &format!("owner {}, currency {currency}", options.owner_email),
            },
        )?;
        Ok(enrollment)
    })
}

/// Resolves subaccount names to ids, failing on the first unknown one.
fn scope_ids(conn: &Connection, names: &[String]) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        ids.push(subaccount_id(conn, name)?);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

fn set_scope(conn: &Connection, user_id: i64, scope: Option<&[i64]>) -> Result<()> {
    conn.execute(
        "DELETE FROM user_subaccounts WHERE user_id = ?1",
        params![user_id],
    )?;
    conn.execute(
        "UPDATE users SET all_subaccounts = ?1 WHERE id = ?2",
        params![scope.is_none(), user_id],
    )?;
    for id in scope.unwrap_or_default() {
        conn.execute(
            "INSERT INTO user_subaccounts (user_id, subaccount_id) VALUES (?1, ?2)",
            params![user_id, id],
        )?;
    }
    Ok(())
}

/// Checks that `actor` may give someone `role`: there is one Owner, made only by transfer,
/// and each role can be handed out only by those the permission table lets manage it.
fn require_may_grant(actor: &Member, role: Role, verb: &str, email: &str) -> Result<()> {
    let Some(capability) = capability_to_manage(role) else {
        return Err(AccessError::Invariant(format!(
            "there is exactly one Owner: use `transfer-ownership {email}` instead of {verb} them as owner"
        )));
    };
    actor.require(capability, None, || format!("{verb} {email} as {role}"))
}

fn check_scope_role(role: Role, scope: Option<&Vec<String>>) -> Result<()> {
    if scope.is_some() && role != Role::Developer {
        return Err(AccessError::invalid(format!(
            "--subaccounts limits a developer's access; a user with role {role} cannot be limited"
        )));
    }
    Ok(())
}

/// Adds a user with `role` (and, for Developers, optionally only `scope`'s subaccounts).
pub fn add_user(
    store: &Store,
    actor: &Actor,
    email: &str,
    role: Role,
    scope: Option<&Vec<String>>,
) -> Result<Enrollment> {
    store.require_initialized()?;
    validate_email(email)?;
    check_scope_role(role, scope)?;
    store.write(&actor.email, "user add", email, |tx, now| {
        let me = acting(tx, actor)?;
        require_may_grant(&me, role, "add", email)?;
        if member_by_email(tx, email)?.is_some() {
            return Err(AccessError::AlreadyExists {
                what: "user",
                name: email.to_owned(),
            });
        }
        let ids = scope.map(|names| scope_ids(tx, names)).transpose()?;
        tx.execute(
            "INSERT INTO users (email, role, totp_secret, created, added_by)
             VALUES (?1, ?2, '', ?3, ?4)",
            params![email, role.as_str(), now, me.email],
        )?;
        let id = tx.last_insert_rowid();
        set_scope(tx, id, ids.as_deref())?;
        let enrollment = enroll(tx, id, email, role)?;
        let detail = match scope {
            Some(names) => format!("role {role}, subaccounts {}", names.join(",")),
            None => format!("role {role}"),
        };
        audit::append(
            tx,
            &NewEntry {
                at: now,
                actor: &me.email,
                action: "user add",
                target: email,
                result: "ok",
                detail: &detail,
            },
        )?;
        Ok(enrollment)
    })
}

fn target_member(conn: &Connection, email: &str) -> Result<Member> {
    member_by_email(conn, email)?.ok_or_else(|| AccessError::NotFound {
        what: "user",
        name: email.to_owned(),
    })
}

/// Removes a user. The Owner cannot be removed: ownership must be transferred first.
pub fn remove_user(store: &Store, actor: &Actor, email: &str) -> Result<()> {
    store.require_initialized()?;
    store.write(&actor.email, "user remove", email, |tx, now| {
        let me = acting(tx, actor)?;
        let target = target_member(tx, email)?;
        let Some(capability) = capability_to_manage(target.role) else {
            return Err(AccessError::Invariant(
                "the Owner cannot be removed: transfer ownership first".to_owned(),
            ));
        };
        me.require(capability, None, || {
            format!("remove {} ({})", target.email, target.role)
        })?;
        tx.execute("DELETE FROM users WHERE id = ?1", params![target.id])?;
        audit::append(
            tx,
            &NewEntry {
                at: now,
                actor: &me.email,
                action: "user remove",
                target: &target.email,
                result: "ok",
                detail: &format!("was {}", target.role),
            },
        )?;
        Ok(())
    })
}

/// Gives a user a new role (and, for Developers, optionally a subaccount scope).
/// The Owner cannot be demoted, and nobody becomes Owner except by transfer.
pub fn set_role(
    store: &Store,
    actor: &Actor,
    email: &str,
    role: Role,
    scope: Option<&Vec<String>>,
) -> Result<()> {
    store.require_initialized()?;
    check_scope_role(role, scope)?;
    store.write(&actor.email, "user role", email, |tx, now| {
        let me = acting(tx, actor)?;
        let target = target_member(tx, email)?;
        let Some(current) = capability_to_manage(target.role) else {
            return Err(AccessError::Invariant(
                "the Owner cannot be demoted: transfer ownership first".to_owned(),
            ));
        };
        me.require(current, None, || {
            format!("change the role of {} ({})", target.email, target.role)
        })?;
        require_may_grant(&me, role, "make", email)?;
        let ids = scope.map(|names| scope_ids(tx, names)).transpose()?;
        tx.execute(
            "UPDATE users SET role = ?1 WHERE id = ?2",
            params![role.as_str(), target.id],
        )?;
        // A scope belongs to the Developer role; other roles see every subaccount.
        let keep = if role == Role::Developer && scope.is_none() {
            target
                .scope
                .clone()
                .filter(|_| target.role == Role::Developer)
        } else {
            ids
        };
        set_scope(tx, target.id, keep.as_deref())?;
        let detail = match scope {
            Some(names) => format!("{} -> {role}, subaccounts {}", target.role, names.join(",")),
            None => format!("{} -> {role}", target.role),
        };
        audit::append(
            tx,
            &NewEntry {
                at: now,
                actor: &me.email,
                action: "user role",
                target: &target.email,
                result: "ok",
                detail: &detail,
            },
        )?;
        Ok(())
    })
}

/// Makes `email` the Owner; the old Owner becomes an Administrator. The new Owner must have
/// verified 2FA (when required), so the account can never end up with an Owner who cannot act.
pub fn transfer_ownership(store: &Store, actor: &Actor, email: &str) -> Result<()> {
    store.require_initialized()?;
    store.write(&actor.email, "transfer-ownership", email, |tx, now| {
        let me = acting(tx, actor)?;
        me.require(Capability::TransferOwnership, None, || {
            format!("transfer ownership to {email}")
        })?;
        let target = target_member(tx, email)?;
        if target.id == me.id {
            return Err(AccessError::invalid(format!("{email} is already the Owner")));
        }
        let (require_2fa, verified): (bool, bool) = tx.query_row(
            "SELECT a.require_2fa, u.totp_verified FROM account a, users u WHERE a.id = 1 AND u.id = ?1",
            params![target.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if require_2fa && !verified {
            return Err(AccessError::Invariant(format!(
                "{email} has not verified 2FA yet: they must log in once before they can own the account"
            )));
        }
        tx.execute(
            "UPDATE users SET role = 'administrator' WHERE id = ?1",
            params![me.id],
        )?;
        tx.execute(
            "UPDATE users SET role = 'owner' WHERE id = ?1",
            params![target.id],
        )?;
        set_scope(tx, me.id, None)?;
        set_scope(tx, target.id, None)?;
        audit::append(
            tx,
            &NewEntry {
                at: now,
                actor: &me.email,
                action: "transfer-ownership",
                target: &target.email,
                result: "ok",
                detail: &format!("{} -> owner; {} -> administrator", target.email, me.email),
            },
        )?;
        Ok(())
    })
}

/// Every user, for anyone allowed to view usage.
pub fn list_users(store: &Store, actor: &Actor) -> Result<Vec<UserInfo>> {
    store.require_initialized()?;
    store.write(&actor.email, "user list", "", |tx, _| {
        let me = acting(tx, actor)?;
        me.require(Capability::ViewUsageAndAudit, None, || {
            "list users".to_owned()
        })?;
        let mut stmt = tx.prepare(
            "SELECT id, email, role, all_subaccounts, totp_verified, last_login, created
             FROM users ORDER BY id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, bool>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut users = Vec::with_capacity(rows.len());
        for (id, email, role, all, verified, last_login, created) in rows {
            let subaccounts = if all {
                None
            } else {
                Some(scope_names(tx, id)?)
            };
            users.push(UserInfo {
                email,
                role: crate::authz::parse_role(&role)?,
                subaccounts,
                two_factor_verified: verified,
                last_login,
                created,
            });
        }
        Ok(users)
    })
}

pub(crate) fn scope_names(conn: &Connection, user_id: i64) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT s.name FROM user_subaccounts us JOIN subaccounts s ON s.id = us.subaccount_id
         WHERE us.user_id = ?1 ORDER BY s.name",
    )?;
    let names = stmt
        .query_map(params![user_id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(names)
}

/// The session user's own membership.
pub fn whoami(store: &Store, actor: &Actor) -> Result<UserInfo> {
    list_users(store, actor)?
        .into_iter()
        .find(|u| u.email.eq_ignore_ascii_case(&actor.email))
        .ok_or_else(|| {
            AccessError::Authentication(format!("{} is no longer a member", actor.email))
        })
}
