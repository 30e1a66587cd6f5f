//! Property test: random sequences of operations by random actors, checked against a model
//! of the permission table, with the account's invariants checked after every step.

mod common;

use common::{account, add_user, next_step, secret_of};
use proptest::prelude::*;
use sg_access::{AccessError, Actor, Credential, Role, Store};
use std::collections::{BTreeMap, BTreeSet};

const EMAILS: [&str; 5] = [
    "owner@acme.test",
    "a@acme.test",
    "b@acme.test",
    "c@acme.test",
    "d@acme.test",
];
const SUBS: [&str; 3] = ["prod", "qa", "dev"];

#[derive(Debug, Clone)]
enum Op {
    Login(usize),
    Add(usize, usize, Role, Option<BTreeSet<usize>>),
    Remove(usize, usize),
    SetRole(usize, usize, Role, Option<BTreeSet<usize>>),
    Transfer(usize, usize),
    CreateKey(usize, usize),
    Charge(usize, usize, i64),
}

fn role() -> impl Strategy<Value = Role> {
    prop::sample::select(Role::ALL.to_vec())
}

fn scope() -> impl Strategy<Value = Option<BTreeSet<usize>>> {
    prop::option::of(prop::collection::btree_set(0..SUBS.len(), 0..=SUBS.len()))
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..EMAILS.len();
    prop_oneof![
        3 => who.clone().prop_map(Op::Login),
        3 => (who.clone(), who.clone(), role(), scope()).prop_map(|(a, t, r, s)| Op::Add(a, t, r, s)),
        1 => (who.clone(), who.clone()).prop_map(|(a, t)| Op::Remove(a, t)),
        2 => (who.clone(), who.clone(), role(), scope()).prop_map(|(a, t, r, s)| Op::SetRole(a, t, r, s)),
        1 => (who.clone(), who.clone()).prop_map(|(a, t)| Op::Transfer(a, t)),
        2 => (who.clone(), 0..SUBS.len()).prop_map(|(a, s)| Op::CreateKey(a, s)),
        2 => (who, 0..SUBS.len(), 1i64..1_000_000).prop_map(|(a, s, c)| Op::Charge(a, s, c)),
    ]
}

/// The table, independent of the library's.
fn table(role: Role, capability: &str) -> bool {
    use Role::*;
    match capability {
        "keys" => matches!(role, Owner | Administrator | Developer),
        "billing" => matches!(role, Owner | Administrator | BillingManager),
        "users" => matches!(role, Owner | Administrator),
        "administrators" => matches!(role, Owner),
        "transfer" => matches!(role, Owner),
        _ => false,
    }
}

fn manage_cap(role: Role) -> Option<&'static str> {
    match role {
        Role::Owner => None,
        Role::Administrator => Some("administrators"),
        _ => Some("users"),
    }
}

#[derive(Debug, Clone, PartialEq)]
struct ModelUser {
    role: Role,
    scope: Option<BTreeSet<String>>,
    verified: bool,
    id: Option<i64>,
    secret: String,
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Ok,
    Refused,
    Other,
}

fn classify<T>(r: &Result<T, AccessError>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok,
        Err(e) if e.is_refusal() => Outcome::Refused,
        Err(_) => Outcome::Other,
    }
}

/// The login backoff of one email: consecutive failures, lockouts so far, locked until.
#[derive(Debug, Default, Clone, Copy)]
struct Attempts {
    failures: i64,
    lockouts: i64,
    locked_until: i64,
}

struct Model {
    users: BTreeMap<String, ModelUser>,
    charges: BTreeMap<String, i64>,
    attempts: BTreeMap<String, Attempts>,
}

impl Model {
    fn actor(&self, i: usize) -> Actor {
        let email = EMAILS[i];
        let user_id = self.users.get(email).and_then(|u| u.id).unwrap_or(-1);
        Actor {
            user_id,
            email: email.to_owned(),
        }
    }

    /// The acting user, if they exist and verified 2FA; otherwise the action is refused.
    fn acting(&self, i: usize) -> Option<&ModelUser> {
        self.users
            .get(EMAILS[i])
            .filter(|u| u.verified && u.id.is_some())
    }
}

fn names(scope: &Option<BTreeSet<usize>>) -> Option<Vec<String>> {
    scope
        .as_ref()
        .map(|s| s.iter().map(|i| SUBS[*i].to_owned()).collect())
}

fn step(store: &Store, model: &mut Model, op: &Op) {
    match op {
        Op::Login(t) => {
            let email = EMAILS[*t];
            let now = store.now();
            let attempts = model.attempts.get(email).copied().unwrap_or_default();
            let Some(user) = model.users.get_mut(email) else {
                // Nobody by that name: a failure that counts towards the backoff, and
                // after five in a row every attempt is refused for a doubling window.
                let r = sg_access::login(store, email, &Credential::Totp("123456".into()));
                let mut next = attempts;
                let locked = if attempts.locked_until > now {
                    true
                } else {
                    next.failures += 1;
                    if next.failures >= 5 {
                        next.failures = 0;
                        next.lockouts += 1;
                        next.locked_until = now + (30i64 << (next.lockouts - 1).min(10)).min(900);
                        true
                    } else {
                        false
                    }
                };
                model.attempts.insert(email.to_owned(), next);
                match r {
                    Err(AccessError::TooManyAttempts { until, .. }) if locked => {
                        assert_eq!(until, next.locked_until, "{op:?}");
                    }
                    Err(AccessError::Authentication(_)) if !locked => {}
                    other => panic!("{op:?} with {attempts:?}: got {other:?}"),
                }
                return;
            };
            next_step(store);
            let code = sg_access::totp::code_for_base32(&user.secret, store.now()).expect("secret");
            let r = sg_access::login(store, email, &Credential::Totp(code));
            if attempts.locked_until > store.now() {
                // Even the right code is refused while the account is locked.
                assert!(
                    matches!(r, Err(AccessError::TooManyAttempts { .. })),
                    "{op:?} with {attempts:?}: {r:?}"
                );
                return;
            }
            let session = r.expect("login");
            model.attempts.remove(email);
            user.id = Some(session.actor.user_id);
            user.verified = true;
        }
        Op::Add(a, t, role, scope) => {
            let email = EMAILS[*t];
            let scope_names = names(scope);
            let r = add_user(store, &model.actor(*a), email, *role, scope_names.as_ref());
            let expected = if scope.is_some() && *role != Role::Developer {
                Outcome::Other
            } else {
                match model.acting(*a) {
                    None => Outcome::Refused,
                    Some(me) => match manage_cap(*role) {
                        None => Outcome::Refused,
                        Some(cap) if !table(me.role, cap) => Outcome::Refused,
                        Some(_) if model.users.contains_key(email) => Outcome::Other,
                        Some(_) => Outcome::Ok,
                    },
                }
            };
            assert_eq!(classify(&r), expected, "{op:?} -> {r:?}");
            if let Ok(enrollment) = r {
                model.users.insert(
                    email.to_owned(),
                    ModelUser {
                        role: *role,
                        scope: scope_names.map(|n| n.into_iter().collect()),
                        verified: false,
                        id: None,
                        secret: secret_of(&enrollment),
                    },
                );
            }
        }
        Op::Remove(a, t) => {
            let email = EMAILS[*t];
            let r = sg_access::remove_user(store, &model.actor(*a), email);
            let expected = match (model.acting(*a), model.users.get(email)) {
                (None, _) => Outcome::Refused,
                (Some(_), None) => Outcome::Other,
                (Some(me), Some(target)) => match manage_cap(target.role) {
                    None => Outcome::Refused,
                    Some(cap) if table(me.role, cap) => Outcome::Ok,
                    Some(_) => Outcome::Refused,
                },
            };
            assert_eq!(classify(&r), expected, "{op:?} -> {r:?}");
            if r.is_ok() {
                model.users.remove(email);
            }
        }
        Op::SetRole(a, t, role, scope) => {
            let email = EMAILS[*t];
            let scope_names = names(scope);
            let r =
                sg_access::set_role(store, &model.actor(*a), email, *role, scope_names.as_ref());
            let expected = if scope.is_some() && *role != Role::Developer {
                Outcome::Other
            } else {
                match (model.acting(*a), model.users.get(email)) {
                    (None, _) => Outcome::Refused,
                    (Some(_), None) => Outcome::Other,
                    (Some(me), Some(target)) => {
                        match (manage_cap(target.role), manage_cap(*role)) {
                            (None, _) | (_, None) => Outcome::Refused,
                            (Some(c1), Some(c2)) if table(me.role, c1) && table(me.role, c2) => {
                                Outcome::Ok
                            }
                            _ => Outcome::Refused,
                        }
                    }
                }
            };
            assert_eq!(classify(&r), expected, "{op:?} -> {r:?}");
            if r.is_ok() {
                let user = model.users.get_mut(email).expect("exists");
                // A Developer gets exactly the subaccounts named: none when none are named.
                user.scope = match (scope_names, *role) {
                    (Some(n), _) => Some(n.into_iter().collect()),
                    (None, Role::Developer) => Some(BTreeSet::new()),
                    (None, _) => None,
                };
                user.role = *role;
            }
        }
        Op::Transfer(a, t) => {
            let email = EMAILS[*t];
            // The actor confirms with a fresh code of their own authenticator, so that a
            // refusal comes from the rules, not from the code.
            next_step(store);
            let otp = model
                .users
                .get(EMAILS[*a])
                .and_then(|u| sg_access::totp::code_for_base32(&u.secret, store.now()))
                .unwrap_or_else(|| "000000".to_owned());
            let r = sg_access::transfer_ownership(store, &model.actor(*a), email, &otp);
            // The fresh code is checked under the login backoff: refused while locked.
            let locked = model
                .attempts
                .get(EMAILS[*a])
                .is_some_and(|at| at.locked_until > store.now());
            let expected = match model.acting(*a) {
                None => Outcome::Refused,
                Some(me) if !table(me.role, "transfer") => Outcome::Refused,
                Some(_) if locked => Outcome::Refused,
                Some(_) => match model.users.get(email) {
                    None => Outcome::Other,
                    Some(_) if *a == *t => Outcome::Other,
                    Some(target) if !target.verified => Outcome::Refused,
                    Some(_) => Outcome::Ok,
                },
            };
            assert_eq!(classify(&r), expected, "{op:?} -> {r:?}");
            if r.is_ok() {
                // An accepted code ends the backoff, as a login does.
                model.attempts.remove(EMAILS[*a]);
                let old = model.users.get_mut(EMAILS[*a]).expect("actor");
                old.role = Role::Administrator;
                old.scope = None;
                let new = model.users.get_mut(email).expect("target");
                new.role = Role::Owner;
                new.scope = None;
            }
        }
        Op::CreateKey(a, s) => {
            let sub = SUBS[*s];
            let r = sg_access::create_key(store, &model.actor(*a), sub, None, None);
            let expected = match model.acting(*a) {
                Some(me)
                    if table(me.role, "keys")
                        && me.scope.as_ref().is_none_or(|sc| sc.contains(sub)) =>
                {
                    Outcome::Ok
                }
                _ => Outcome::Refused,
            };
            assert_eq!(classify(&r), expected, "{op:?} -> {r:?}");
            if let Ok(key) = r {
                assert_eq!(key.secret.environment(), sub);
            }
        }
        Op::Charge(a, s, cents) => {
            let sub = SUBS[*s];
            let amount = format!("{}.{:02}", cents / 100, cents % 100);
            let r = sg_access::record_charge(store, &model.actor(*a), sub, &amount, "usage");
            let expected = match model.acting(*a) {
                Some(me) if table(me.role, "billing") => Outcome::Ok,
                _ => Outcome::Refused,
            };
            assert_eq!(classify(&r), expected, "{op:?} -> {r:?}");
            if r.is_ok() {
                *model.charges.entry(sub.to_owned()).or_default() += cents;
            }
        }
    }
}

fn check_invariants(store: &Store, model: &Model) {
    let owners: Vec<(&String, &ModelUser)> = model
        .users
        .iter()
        .filter(|(_, u)| u.role == Role::Owner)
        .collect();
    assert_eq!(owners.len(), 1, "the model has one owner");
    let (owner_email, owner) = owners[0];
    // Never locked out: the Owner has verified 2FA and can act.
    assert!(owner.verified);
    let owner_actor = Actor {
        user_id: owner.id.expect("owner logged in"),
        email: owner_email.clone(),
    };
    let users = sg_access::list_users(store, &owner_actor).expect("the owner can always act");
    assert_eq!(users.iter().filter(|u| u.role == Role::Owner).count(), 1);
    // Nobody holds a role or scope other than the one a permitted actor gave them.
    let stored: BTreeMap<String, (Role, Option<BTreeSet<String>>)> = users
        .iter()
        .map(|u| {
            (
                u.email.clone(),
                (
                    u.role,
                    u.subaccounts.clone().map(|s| s.into_iter().collect()),
                ),
            )
        })
        .collect();
    let expected: BTreeMap<String, (Role, Option<BTreeSet<String>>)> = model
        .users
        .iter()
        .map(|(e, u)| (e.clone(), (u.role, u.scope.clone())))
        .collect();
    assert_eq!(stored, expected);
    let rollup = sg_access::rollup(store, &owner_actor).expect("rollup");
    let sum: i64 = rollup.subaccounts.iter().map(|s| s.total_minor).sum();
    assert_eq!(rollup.total_minor, sum);
    assert_eq!(rollup.total_minor, model.charges.values().sum::<i64>());
    for line in &rollup.subaccounts {
        assert_eq!(
            line.total_minor,
            model.charges.get(&line.name).copied().unwrap_or(0)
        );
    }
    let chain = sg_access::verify_chain(store).expect("verify");
    assert_eq!(chain.first_bad, None);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_every_invariant(ops in prop::collection::vec(op(), 1..40)) {
        let (store, owner, enrollment) = account();
        let mut model = Model {
            users: BTreeMap::from([(
                EMAILS[0].to_owned(),
                ModelUser {
                    role: Role::Owner,
                    scope: None,
                    verified: true,
                    id: Some(owner.user_id),
                    secret: secret_of(&enrollment),
                },
            )]),
            charges: BTreeMap::new(),
            attempts: BTreeMap::new(),
        };
        // Start from a populated account so that short sequences already reach
        // administrators and scoped developers acting on each other.
        let seed = [
            Op::Add(0, 1, Role::Administrator, None),
            Op::Login(1),
            Op::Add(0, 2, Role::Developer, Some(BTreeSet::from([2]))),
            Op::Login(2),
            Op::Add(1, 3, Role::BillingManager, None),
            Op::Login(3),
        ];
        for op in seed.iter().chain(&ops) {
            step(&store, &mut model, op);
            check_invariants(&store, &model);
        }
    }
}
