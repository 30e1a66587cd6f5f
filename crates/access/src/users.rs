//! The account and its users: `init`, invitations and their acceptance, resetting 2FA,
//! removing and re-roling users, ownership transfer.
//!
//! Whoever enrols someone never sees that person's second factor: they get a single-use
//! invitation token (stored only as a hash), and the invitee, redeeming it, is the only
//! one shown the TOTP secret and recovery codes.

use crate::audit::{self, NewEntry};
use crate::authz::{acting, member_by_email, Actor, Member};
use crate::billing::currency_exponent;
use crate::db::{p, Conn};
use crate::error::{AccessError, Result};
use crate::integrity::{invitation_mac, recovery_mac, seal_user};
use crate::roles::{capability_to_manage, Capability, Role};
use crate::serverkey::ServerKey;
use crate::store::Store;
use crate::subaccounts::subaccount_id;
use crate::totp;
use crate::validate::{email_skeleton, validate_email};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Recovery codes issued to each user at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// How long an invitation lasts unless `--expires-in` says otherwise.
pub const DEFAULT_INVITE_HOURS: u32 = 72;
/// The longest an invitation may last (`--expires-in`): 30 days.
pub const MAX_INVITE_HOURS: u32 = 720;
const INVITE_PREFIX: &str = "sginv_";

/// What a user needs to set up 2FA, shown once, to that user only: the sealed TOTP
/// secret and the hashes of the recovery codes are all that is stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Enrollment {
    pub email: String,
    pub role: Role,
    pub otpauth_uri: String,
    pub recovery_codes: Vec<String>,
}

/// A single-use invitation: the token goes to the invitee, only its hash is stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invitation {
    pub token: String,
    pub email: String,
    pub role: Role,
    pub expires: i64,
    /// `invite`, `owner` or `reset-2fa`.
    pub purpose: String,
}

/// A user as `user list` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserInfo {
    pub email: String,
    pub role: Role,
    /// `None`: every subaccount.
    pub subaccounts: Option<Vec<String>>,
    /// Whether the invitation was accepted (a 2FA secret exists).
    pub enrolled: bool,
    pub two_factor_verified: bool,
    pub last_login: Option<i64>,
    pub created: i64,
}

/// Settings chosen at `init`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InitOptions {
    pub account: String,
    pub owner_email: String,
    /// ISO 4217 code; see [`crate::billing::currency_exponent`].
    pub currency: String,
    /// Whether users must verify 2FA before doing anything (the default).
    pub require_2fa: bool,
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

/// The stored hash of a recovery code: salted per user (the codes carry 80 bits).
pub(crate) fn recovery_hash(salt: &str, code: &str) -> String {
    hash_hex(&format!("{salt}:{}", normalize_recovery_code(code)))
}

fn random_hex(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    audit::hex(&raw)
}

/// Issues an invitation for user `user_id`, ending any earlier one still open.
fn issue_invitation(
    conn: &Conn<'_>,
    key: &ServerKey,
    member: (&str, Role, i64),
    purpose: &str,
    hours: u32,
    by: &str,
    now: i64,
) -> Result<Invitation> {
    let (email, role, user_id) = member;
    conn.exec(
        "UPDATE invitations SET revoked = ?1 WHERE user_id = ?2 AND used IS NULL AND revoked IS NULL",
        p![now, user_id],
    )?;
    let token = format!("{INVITE_PREFIX}{}", random_hex(32));
    let token_hash = hash_hex(&token);
    let expires = now + i64::from(hours) * 3600;
    conn.exec(
        "INSERT INTO invitations (token_hash, user_id, purpose, created, expires, created_by, mac)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        p![
            token_hash.clone(),
            user_id,
            purpose,
            now,
            expires,
            by,
            invitation_mac(key, &token_hash, user_id, purpose, expires)
        ],
    )?;
    Ok(Invitation {
        token,
        email: email.to_owned(),
        role,
        expires,
        purpose: purpose.to_owned(),
    })
}

fn check_invite_hours(hours: Option<u32>) -> Result<u32> {
    let hours = hours.unwrap_or(DEFAULT_INVITE_HOURS);
    if hours == 0 || hours > MAX_INVITE_HOURS {
        return Err(AccessError::invalid(format!(
            "--expires-in must be 1 to {MAX_INVITE_HOURS} hours"
        )));
    }
    Ok(hours)
}

/// Creates the account and its Owner, and returns the Owner's invitation. Fails if the
/// store already has an account.
pub fn init(store: &Store, options: &InitOptions) -> Result<Invitation> {
    validate_email(&options.owner_email)?;
    let name = options.account.trim();
    crate::validate::validate_text("the account name", name, 200)?;
    let currency = options.currency.to_ascii_uppercase();
    let exponent = currency_exponent(&currency)?;
    let key = store.key();
    store.write(&options.owner_email, "init", name, |conn, now| {
        if let Some(existing) = conn.query_opt("SELECT name FROM account WHERE id = 1", p![])? {
            return Err(AccessError::invalid(format!(
                "this store already has an account ({:?}); use another database",
                existing.text(0)?
            )));
        }
        conn.exec(
            "INSERT INTO account (id, name, currency, currency_exponent, require_2fa, created, audit_keyed)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, 1)",
            p![name, currency.clone(), i64::from(exponent), options.require_2fa, now],
        )?;
        crate::integrity::set_key_check(conn, key)?;
        let id = conn
            .query_one(
                "INSERT INTO users (email, role, totp_secret, created, added_by, email_skeleton, enrolled)
                 VALUES (?1, 'owner', '', ?2, ?1, ?3, 0) RETURNING id",
                p![options.owner_email.clone(), now, email_skeleton(&options.owner_email)],
            )?
            .int(0)?;
        seal_user(conn, key, id)?;
        let invitation = issue_invitation(
            conn,
            key,
            (&options.owner_email, Role::Owner, id),
            "owner",
            DEFAULT_INVITE_HOURS,
            &options.owner_email,
            now,
        )?;
        audit::append(
            conn,
            key,
            &NewEntry {
                at: now,
                actor: &options.owner_email,
                action: "init",
                target: name,
                result: "ok",
                detail: &format!("owner {}, currency {currency}", options.owner_email),
                subaccount: None,
            },
        )?;
        Ok(invitation)
    })
}

/// Resolves subaccount names to ids, failing on the first unknown one.
fn scope_ids(conn: &Conn<'_>, names: &[String]) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        ids.push(subaccount_id(conn, name)?);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

fn set_scope(conn: &Conn<'_>, user_id: i64, scope: Option<&[i64]>) -> Result<()> {
    conn.exec(
        "DELETE FROM user_subaccounts WHERE user_id = ?1",
        p![user_id],
    )?;
    conn.exec(
        "UPDATE users SET all_subaccounts = ?1 WHERE id = ?2",
        p![scope.is_none(), user_id],
    )?;
    for id in scope.unwrap_or_default() {
        conn.exec(
            "INSERT INTO user_subaccounts (user_id, subaccount_id) VALUES (?1, ?2)",
            p![user_id, *id],
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

/// Refuses an email that is, or looks like, an existing user's.
fn refuse_lookalike(conn: &Conn<'_>, email: &str) -> Result<()> {
    let rows = conn.query(
        "SELECT email FROM users WHERE lower(email) = lower(?1) OR email_skeleton = ?2",
        p![email, email_skeleton(email)],
    )?;
    if let Some(row) = rows.first() {
        let existing = row.text(0)?;
        if existing.eq_ignore_ascii_case(email) {
            return Err(AccessError::AlreadyExists {
                what: "user",
                name: email.to_owned(),
            });
        }
        return Err(AccessError::invalid(format!(
            "{email:?} can be mistaken for the existing user {existing:?} (confusable characters); use another address"
        )));
    }
    Ok(())
}

/// Invites a user with `role` (and, for Developers, only `scope`'s subaccounts). Returns
/// the single-use invitation; the invitee redeems it with [`accept_invite`].
pub fn invite_user(
    store: &Store,
    actor: &Actor,
    email: &str,
    role: Role,
    scope: Option<&Vec<String>>,
    expires_in_hours: Option<u32>,
) -> Result<Invitation> {
    store.require_initialized()?;
    validate_email(email)?;
    check_scope_role(role, scope)?;
    let hours = check_invite_hours(expires_in_hours)?;
    let key = store.key();
    store.write(&actor.email, "user invite", email, |conn, now| {
        let me = acting(conn, key, actor)?;
        require_may_grant(&me, role, "invite", email)?;
        refuse_lookalike(conn, email)?;
        let ids = scope.map(|names| scope_ids(conn, names)).transpose()?;
        let id = conn
            .query_one(
                "INSERT INTO users (email, role, totp_secret, created, added_by, email_skeleton, enrolled)
                 VALUES (?1, ?2, '', ?3, ?4, ?5, 0) RETURNING id",
                p![email, role.as_str(), now, me.email.clone(), email_skeleton(email)],
            )?
            .int(0)?;
        set_scope(conn, id, ids.as_deref())?;
        seal_user(conn, key, id)?;
        let invitation = issue_invitation(conn, key, (email, role, id), "invite", hours, &me.email, now)?;
        let detail = match scope {
            Some(names) => format!("role {role}, subaccounts {}, expires in {hours} h", names.join(",")),
            None => format!("role {role}, expires in {hours} h"),
        };
        audit::append(
            conn,
            key,
            &NewEntry {
                at: now,
                actor: &me.email,
                action: "user invite",
                target: email,
                result: "ok",
                detail: &detail,
                subaccount: None,
            },
        )?;
        Ok(invitation)
    })
}

/// Redeems an invitation: creates the invitee's TOTP secret and recovery codes and returns
/// them, once. An expired, used or revoked invitation is refused.
pub fn accept_invite(store: &Store, token: &str) -> Result<Enrollment> {
    store.require_initialized()?;
    let key = store.key();
    let token = token.trim();
    let refused = || {
        AccessError::Authentication(
            "this invitation is not valid (unknown, expired, already used or revoked): ask for a new one".to_owned(),
        )
    };
    // Refusals are decided inside the transaction but recorded after it.
    let outcome = store.transaction(true, |conn, now| {
        let row = conn.query_opt(
            "SELECT i.user_id, i.purpose, i.expires, i.used, i.revoked, i.mac, u.email, u.role
             FROM invitations i JOIN users u ON u.id = i.user_id WHERE i.token_hash = ?1",
            p![hash_hex(token)],
        )?;
        let Some(row) = row else {
            return Ok(Err(("(unknown invitation)".to_owned(), refused())));
        };
        let (user_id, purpose, expires) = (row.int(0)?, row.text(1)?, row.int(2)?);
        let email = row.text(6)?;
        let expected = invitation_mac(key, &hash_hex(token), user_id, &purpose, expires);
        if !crate::integrity::constant_time_eq(&row.text(5)?, &expected) {
            return Err(AccessError::Integrity(format!(
                "the invitation for {email} was changed or added without the server's key"
            )));
        }
        if row.opt_int(3)?.is_some() || row.opt_int(4)?.is_some() || expires <= now {
            return Ok(Err((email, refused())));
        }
        crate::integrity::check_user(conn, key, user_id)?;
        let role = crate::authz::parse_role(&row.text(7)?)?;
        conn.exec(
            "UPDATE invitations SET used = ?1 WHERE token_hash = ?2",
            p![now, hash_hex(token)],
        )?;
        let enrollment = enroll(conn, key, user_id, &email, role)?;
        audit::append(
            conn,
            key,
            &NewEntry {
                at: now,
                actor: &email,
                action: "accept-invite",
                target: &email,
                result: "ok",
                detail: &format!("{purpose}: 2FA secret and recovery codes issued"),
                subaccount: None,
            },
        )?;
        Ok(Ok(enrollment))
    })?;
    match outcome {
        Ok(enrollment) => Ok(enrollment),
        Err((who, err)) => {
            store.record_refusal(&who, "accept-invite", &who, &err)?;
            Err(err)
        }
    }
}

/// Creates the TOTP secret (sealed under the server key) and recovery codes of a user.
fn enroll(
    conn: &Conn<'_>,
    key: &ServerKey,
    user_id: i64,
    email: &str,
    role: Role,
) -> Result<Enrollment> {
    let mut secret = [0u8; totp::SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let salt = random_hex(16);
    conn.exec(
        "UPDATE users SET totp_secret = ?1, enrolled = 1, totp_verified = 0, last_totp_step = -1, recovery_salt = ?2
         WHERE id = ?3",
        p![key.seal_totp(user_id, &secret), salt.clone(), user_id],
    )?;
    conn.exec("DELETE FROM recovery_codes WHERE user_id = ?1", p![user_id])?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let mut raw = [0u8; 10];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let text = totp::base32_encode(&raw);
        let code = format!(
            "{}-{}-{}-{}",
            &text[..4],
            &text[4..8],
            &text[8..12],
            &text[12..16]
        );
        let hash = recovery_hash(&salt, &code);
        conn.exec(
            "INSERT INTO recovery_codes (user_id, code_hash, mac) VALUES (?1, ?2, ?3)",
            p![user_id, hash.clone(), recovery_mac(key, user_id, &hash)],
        )?;
        codes.push(code);
    }
    seal_user(conn, key, user_id)?;
    Ok(Enrollment {
        email: email.to_owned(),
        role,
        otpauth_uri: totp::otpauth_uri(email, &totp::base32_encode(&secret)),
        recovery_codes: codes,
    })
}

fn target_member(conn: &Conn<'_>, key: &ServerKey, email: &str) -> Result<Member> {
    member_by_email(conn, key, email)?.ok_or_else(|| AccessError::NotFound {
        what: "user",
        name: email.to_owned(),
    })
}

/// Ends a user's sessions, clears their 2FA secret and recovery codes, and returns a new
/// invitation for them to enrol again. The Owner may do this for anyone else;
/// Administrators for the roles below their own.
pub fn reset_2fa(
    store: &Store,
    actor: &Actor,
    email: &str,
    expires_in_hours: Option<u32>,
) -> Result<Invitation> {
    store.require_initialized()?;
    let hours = check_invite_hours(expires_in_hours)?;
    let key = store.key();
    store.write(&actor.email, "user reset-2fa", email, |conn, now| {
        let me = acting(conn, key, actor)?;
        let target = target_member(conn, key, email)?;
        if target.id == me.id {
            return Err(AccessError::Invariant(
                "you cannot reset your own 2FA: ask the Owner or an administrator".to_owned(),
            ));
        }
        let Some(capability) = capability_to_manage(target.role) else {
            return Err(AccessError::Invariant(
                "the Owner's 2FA cannot be reset by another user: the Owner uses a recovery code".to_owned(),
            ));
        };
        me.require(capability, None, || {
            format!("reset the 2FA of {} ({})", target.email, target.role)
        })?;
        conn.exec("DELETE FROM sessions WHERE user_id = ?1", p![target.id])?;
        conn.exec("DELETE FROM recovery_codes WHERE user_id = ?1", p![target.id])?;
        conn.exec(
            "UPDATE users SET totp_secret = '', enrolled = 0, totp_verified = 0, last_totp_step = -1 WHERE id = ?1",
            p![target.id],
        )?;
        seal_user(conn, key, target.id)?;
        let invitation = issue_invitation(
            conn,
            key,
            (&target.email, target.role, target.id),
            "reset-2fa",
            hours,
            &me.email,
            now,
        )?;
        audit::append(
            conn,
            key,
            &NewEntry {
                at: now,
                actor: &me.email,
                action: "user reset-2fa",
                target: &target.email,
                result: "ok",
                detail: "sessions ended, 2FA and recovery codes cleared, new invitation issued",
                subaccount: None,
            },
        )?;
        Ok(invitation)
    })
}

/// Removes a user. The Owner cannot be removed: ownership must be transferred first.
pub fn remove_user(store: &Store, actor: &Actor, email: &str) -> Result<()> {
    store.require_initialized()?;
    let key = store.key();
    store.write(&actor.email, "user remove", email, |conn, now| {
        let me = acting(conn, key, actor)?;
        let target = target_member(conn, key, email)?;
        let Some(capability) = capability_to_manage(target.role) else {
            return Err(AccessError::Invariant(
                "the Owner cannot be removed: transfer ownership first".to_owned(),
            ));
        };
        me.require(capability, None, || {
            format!("remove {} ({})", target.email, target.role)
        })?;
        conn.exec("DELETE FROM users WHERE id = ?1", p![target.id])?;
        audit::append(
            conn,
            key,
            &NewEntry {
                at: now,
                actor: &me.email,
                action: "user remove",
                target: &target.email,
                result: "ok",
                detail: &format!("was {}", target.role),
                subaccount: None,
            },
        )?;
        Ok(())
    })
}

/// Gives a user a new role. A Developer gets exactly the subaccounts `scope` names (none
/// when it names none: the scope must be given, so a re-role fails closed). The Owner
/// cannot be demoted, and nobody becomes Owner except by transfer.
pub fn set_role(
    store: &Store,
    actor: &Actor,
    email: &str,
    role: Role,
    scope: Option<&Vec<String>>,
) -> Result<()> {
    store.require_initialized()?;
    check_scope_role(role, scope)?;
    let key = store.key();
    store.write(&actor.email, "user role", email, |conn, now| {
        let me = acting(conn, key, actor)?;
        let target = target_member(conn, key, email)?;
        let Some(current) = capability_to_manage(target.role) else {
            return Err(AccessError::Invariant(
                "the Owner cannot be demoted: transfer ownership first".to_owned(),
            ));
        };
        me.require(current, None, || {
            format!("change the role of {} ({})", target.email, target.role)
        })?;
        require_may_grant(&me, role, "make", email)?;
        let ids = scope.map(|names| scope_ids(conn, names)).transpose()?;
        conn.exec(
            "UPDATE users SET role = ?1 WHERE id = ?2",
            p![role.as_str(), target.id],
        )?;
        // A scope belongs to the Developer role; other roles see every subaccount.
        let scope_ids: Option<Vec<i64>> = if role == Role::Developer {
            Some(ids.unwrap_or_default())
        } else {
            None
        };
        set_scope(conn, target.id, scope_ids.as_deref())?;
        seal_user(conn, key, target.id)?;
        let detail = match (role, scope) {
            (Role::Developer, Some(names)) => {
                format!("{} -> {role}, subaccounts {}", target.role, names.join(","))
            }
            (Role::Developer, None) => format!("{} -> {role}, no subaccounts", target.role),
            _ => format!("{} -> {role}", target.role),
        };
        audit::append(
            conn,
            key,
            &NewEntry {
                at: now,
                actor: &me.email,
                action: "user role",
                target: &target.email,
                result: "ok",
                detail: &detail,
                subaccount: None,
            },
        )?;
        Ok(())
    })
}

/// Makes `email` the Owner; the old Owner becomes an Administrator. The new Owner must have
/// completed enrolment and verified 2FA, and the Owner must confirm with a fresh code.
pub fn transfer_ownership(store: &Store, actor: &Actor, email: &str, otp: &str) -> Result<()> {
    store.require_initialized()?;
    let key = store.key();
    // A wrong code counts towards the Owner's login backoff, so the failure is committed
    // even though the transfer is refused.
    let outcome = store.write(&actor.email, "transfer-ownership", email, |conn, now| {
        let me = acting(conn, key, actor)?;
        me.require(Capability::TransferOwnership, None, || {
            format!("transfer ownership to {email}")
        })?;
        if let Some(err) = crate::session::lockout(conn, &me.email, now)? {
            return Ok(Err(err));
        }
        match crate::session::consume_code(conn, key, me.id, otp, now) {
            Ok(()) => conn.exec("DELETE FROM login_attempts WHERE email = ?1", p![me.email.to_lowercase()])?,
            Err(AccessError::Authentication(_)) => {
                return Ok(Err(crate::session::count_failure(conn, &me.email, now)?))
            }
            Err(other) => return Err(other),
        };
        let target = target_member(conn, key, email)?;
        if target.id == me.id {
            return Err(AccessError::invalid(format!("{email} is already the Owner")));
        }
        let row = conn.query_one(
            "SELECT enrolled, totp_verified FROM users WHERE id = ?1",
            p![target.id],
        )?;
        if !row.flag(0)? || !row.flag(1)? {
            return Err(AccessError::Invariant(format!(
                "{email} has not completed enrolment (accepted the invitation and logged in with a code): they cannot own the account yet"
            )));
        }
        conn.exec("UPDATE users SET role = 'administrator' WHERE id = ?1", p![me.id])?;
        conn.exec("UPDATE users SET role = 'owner' WHERE id = ?1", p![target.id])?;
        set_scope(conn, me.id, None)?;
        set_scope(conn, target.id, None)?;
        seal_user(conn, key, me.id)?;
        seal_user(conn, key, target.id)?;
        audit::append(
            conn,
            key,
            &NewEntry {
                at: now,
                actor: &me.email,
                action: "transfer-ownership",
                target: &target.email,
                result: "ok",
                detail: &format!("{} -> owner; {} -> administrator", target.email, me.email),
                subaccount: None,
            },
        )?;
        Ok(Ok(()))
    })?;
    outcome.or_else(|err| {
        store.record_refusal(&actor.email, "transfer-ownership", email, &err)?;
        Err(err)
    })
}

/// Every user, for anyone allowed to view usage.
pub fn list_users(store: &Store, actor: &Actor) -> Result<Vec<UserInfo>> {
    store.require_initialized()?;
    let key = store.key();
    store.read_as(&actor.email, "user list", "", |conn, _| {
        let me = acting(conn, key, actor)?;
        me.require(Capability::ViewUsageAndAudit, None, || {
            "list users".to_owned()
        })?;
        let rows = conn.query(
            "SELECT id, email, role, all_subaccounts, totp_verified, last_login, created, enrolled
             FROM users ORDER BY id",
            p![],
        )?;
        let mut users = Vec::with_capacity(rows.len());
        for r in rows {
            let id = r.int(0)?;
            let subaccounts = if r.flag(3)? {
                None
            } else {
                Some(scope_names(conn, id)?)
            };
            users.push(UserInfo {
                email: r.text(1)?,
                role: crate::authz::parse_role(&r.text(2)?)?,
                subaccounts,
                enrolled: r.flag(7)?,
                two_factor_verified: r.flag(4)?,
                last_login: r.opt_int(5)?,
                created: r.int(6)?,
            });
        }
        Ok(users)
    })
}

pub(crate) fn scope_names(conn: &Conn<'_>, user_id: i64) -> Result<Vec<String>> {
    conn.query(
        "SELECT s.name FROM user_subaccounts us JOIN subaccounts s ON s.id = us.subaccount_id
         WHERE us.user_id = ?1 ORDER BY s.name",
        p![user_id],
    )?
    .iter()
    .map(|r| r.text(0))
    .collect()
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
