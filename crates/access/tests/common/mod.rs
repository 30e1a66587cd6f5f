//! Shared setup for the sg-access integration tests: an account with a logged-in Owner,
//! and users enrolled by invitation who have verified their 2FA.
#![allow(dead_code)]

use sg_access::{AccessError, Actor, Credential, Enrollment, InitOptions, Role, Store};

pub const T0: i64 = 1_800_000_000;

pub fn secret_of(enrollment: &Enrollment) -> String {
    sg_access::totp::secret_from_uri(&enrollment.otpauth_uri).expect("uri has a secret")
}

pub fn code_now(store: &Store, enrollment: &Enrollment) -> String {
    sg_access::totp::code_for_base32(&secret_of(enrollment), store.now()).expect("valid secret")
}

pub fn login(store: &Store, enrollment: &Enrollment) -> Actor {
    let code = code_now(store, enrollment);
    sg_access::login(store, &enrollment.email, &Credential::Totp(code))
        .expect("login with the current code")
        .actor
}

/// Creates the account and redeems the Owner's invitation: the Owner's enrollment.
pub fn init_account(store: &Store, owner_email: &str, currency: &str) -> Enrollment {
    let invitation = sg_access::init(
        store,
        &InitOptions {
            account: "Acme".into(),
            owner_email: owner_email.into(),
            currency: currency.into(),
            require_2fa: true,
        },
    )
    .expect("init");
    assert_eq!(invitation.purpose, "owner");
    assert_eq!(invitation.role, Role::Owner);
    sg_access::accept_invite(store, &invitation.token).expect("the Owner accepts")
}

/// A fresh in-memory account at time [`T0`] with subaccounts prod, qa and dev.
pub fn account() -> (Store, Actor, Enrollment) {
    let store = Store::open_in_memory().expect("in-memory store");
    store.set_time(Some(T0));
    let owner = init_account(&store, "owner@acme.test", "USD");
    let actor = login(&store, &owner);
    for (name, env) in [("prod", "prod"), ("qa", "qa"), ("dev", "dev")] {
        sg_access::add_subaccount(&store, &actor, name, env).expect("add subaccount");
    }
    (store, actor, owner)
}

/// Invites `email` as `by` and redeems the invitation as the invitee: what `user add` was.
/// The user has enrolled but not yet logged in (2FA not verified).
pub fn add_user(
    store: &Store,
    by: &Actor,
    email: &str,
    role: Role,
    scope: Option<&Vec<String>>,
) -> Result<Enrollment, AccessError> {
    let invitation = sg_access::invite_user(store, by, email, role, scope, None)?;
    sg_access::accept_invite(store, &invitation.token)
}

pub fn add_verified(
    store: &Store,
    by: &Actor,
    email: &str,
    role: Role,
    scope: Option<&[&str]>,
) -> (Actor, Enrollment) {
    let scope: Option<Vec<String>> = scope.map(|s| s.iter().map(|x| x.to_string()).collect());
    let enrollment = add_user(store, by, email, role, scope.as_ref()).expect("add user");
    let actor = login(store, &enrollment);
    (actor, enrollment)
}

/// Moves the clock to the next TOTP step so a new code is accepted.
pub fn next_step(store: &Store) {
    store.set_time(Some(store.now() + 30));
}

/// A fresh TOTP code of `enrollment`'s user (for `transfer_ownership`): the clock moves on
/// one step first, so the code was never used.
pub fn fresh_code(store: &Store, enrollment: &Enrollment) -> String {
    next_step(store);
    code_now(store, enrollment)
}

/// Every audit entry `actor` may see.
pub fn audit_all(store: &Store, actor: &Actor) -> Vec<sg_access::AuditEntry> {
    sg_access::list_audit(store, actor, &sg_access::AuditQuery::default()).expect("audit list")
}
