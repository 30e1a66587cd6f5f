//! Shared setup for the sg-access integration tests: an account with a logged-in Owner,
//! and users who have verified their 2FA.
#![allow(dead_code)]

use sg_access::{Actor, Credential, Enrollment, InitOptions, Role, Store};

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

/// A fresh in-memory account at time [`T0`] with subaccounts prod, qa and dev.
pub fn account() -> (Store, Actor, Enrollment) {
    let store = Store::open_in_memory().expect("in-memory store");
    store.set_time(Some(T0));
    let owner = sg_access::init(
        &store,
        &InitOptions {
            account: "Acme".into(),
            owner_email: "owner@acme.test".into(),
            currency: "USD".into(),
            require_2fa: true,
        },
    )
    .expect("init");
    let actor = login(&store, &owner);
    for (name, env) in [("prod", "prod"), ("qa", "qa"), ("dev", "dev")] {
        sg_access::add_subaccount(&store, &actor, name, env).expect("add subaccount");
    }
    (store, actor, owner)
}

pub fn add_verified(
    store: &Store,
    by: &Actor,
    email: &str,
    role: Role,
    scope: Option<&[&str]>,
) -> (Actor, Enrollment) {
    let scope: Option<Vec<String>> = scope.map(|s| s.iter().map(|x| x.to_string()).collect());
    let enrollment = sg_access::add_user(store, by, email, role, scope.as_ref()).expect("add user");
    let actor = login(store, &enrollment);
    (actor, enrollment)
}

/// Moves the clock to the next TOTP step so a new code is accepted.
pub fn next_step(store: &Store) {
    store.set_time(Some(store.now() + 30));
}
