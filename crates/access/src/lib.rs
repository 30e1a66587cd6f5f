//! The secrets-guard access core: one primary account with environment-tagged subaccounts,
//! users with one role each, TOTP two-factor login, per-environment API keys
//! (`sgk_<env>_…`), usage billing in integer minor units, and a hash-chained audit log,
//! all in one SQLite database.
//!
//! Every permission check happens here, never in the CLI: each operation takes the acting
//! [`Actor`], re-reads the actor's role inside the operation's transaction, and consults the
//! permission table in [`roles::PERMISSIONS`], which denies anything it does not list.
//! Every change runs in one `BEGIN IMMEDIATE` transaction together with its audit entry;
//! refused attempts are audited too.
//!
//! # Security of the database
//! The database holds each user's TOTP secret, because codes cannot be checked without it.
//! It is created with mode 0600; treat it like the credentials it protects. API keys,
//! session tokens and recovery codes are stored only as SHA-256 hashes.
//!
//! # For the scanner and the env loader
//! - [`lookup_key`]`(store, secret)` says whether a found key is live, revoked, expired or
//!   unknown, with its subaccount, environment, id and name. It needs no session and never
//!   returns the secret. A rotated key inside its grace period is live.
//! - [`revoke_leaked`]`(store, actor, leaks)` revokes every live key among [`LeakedKey`]s in
//!   one transaction, auditing each with the file and commit where it leaked. It applies the
//!   checks of `key revoke`: if any one is refused, nothing is revoked, the refusal is
//!   audited and returned ([`AccessError::is_refusal`] is true; the CLI exits 3).
//! - [`current_user`]`(store, session_file)` with [`default_session_path`] loads the user of
//!   the current CLI session, so `scan --revoke-leaked` can act as that user.
//! - [`default_db_path`] resolves `SECRETS_GUARD_DB` and the per-user default.
//!
//! ```no_run
//! use sg_access::{current_user, default_db_path, default_session_path, lookup_key, revoke_leaked, LeakedKey, Store};
//! # fn main() -> Result<(), sg_access::AccessError> {
//! let store = Store::open(&default_db_path())?;
//! let found = "sgk_prod_…";
//! if lookup_key(&store, found)?.status == sg_access::KeyStatus::Live {
//!     let me = current_user(&store, &default_session_path())?;
//!     let leaks = [LeakedKey::new(found, ".env", None)];
//!     for k in revoke_leaked(&store, &me, &leaks)? {
//!         println!("revoked key {} ({})", k.key_id, k.prefix);
//!     }
//! }
//! # Ok(()) }
//! ```

pub mod api;
pub mod audit;
mod authz;
pub mod billing;
pub mod client;
pub mod db;
pub mod doctor;
mod error;
mod integrity;
pub mod keycache;
pub mod keys;
mod lockholder;
pub mod pgverify;
pub mod roles;
pub mod serverkey;
pub mod session;
mod store;
pub mod subaccounts;
pub mod totp;
pub mod users;
pub mod validate;

pub use audit::{
    checkpoint, list_audit, verify_audit, verify_chain, AuditEntry, AuditQuery, BadEntry,
    ChainReport, Checkpoint,
};
pub use authz::Actor;
pub use billing::{
    list_charges, record_charge, rollup, void_charge, Charge, Rollup, SubaccountTotal,
};
pub use doctor::{doctor, Warning};
pub use error::{AccessError, DbError, Result};
pub use keys::{
    check_key, create_key, key_hash, key_status_by_hash, list_keys, list_leaks, lookup_key,
    record_key_use, report_leaks, revoke_key, revoke_leaked, rotate_key, verify_key, IssuedKey,
    KeyInfo, KeyLookup, KeyStatus, KeyUse, Leak, LeakedKey, RevokedKey, DEFAULT_GRACE_HOURS,
    LAST_USED_RESOLUTION_SECONDS, MAX_GRACE_HOURS, MAX_KEY_DAYS,
};
pub use roles::{Capability, Grant, Role};
pub use serverkey::ServerKey;
pub use session::{
    actor_for_token, current_user, default_session_path, end_sessions, list_sessions, login,
    logout, read_session_file, write_session_file, Credential, Session, SessionInfo,
};
pub use store::{default_db_path, rotate_server_key, Store};
pub use subaccounts::{add_subaccount, list_subaccounts, Subaccount};
pub use users::{
    accept_invite, init, invite_user, list_users, remove_user, reset_2fa, set_role,
    transfer_ownership, whoami, Enrollment, InitOptions, Invitation, UserInfo,
};
