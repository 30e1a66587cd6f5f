//! The role × capability table, checked cell by cell by performing each action as each role.

mod common;

use common::{account, add_user, add_verified, audit_all, fresh_code};
use sg_access::{AccessError, Actor, AuditQuery, Enrollment, Role, Store};

/// The issue's table, written out independently of `roles::PERMISSIONS`.
/// Columns: Owner, Administrator, Developer, Billing Manager, Support.
const EXPECTED: [(&str, [bool; 5]); 7] = [
    ("manage keys", [true, true, true, false, false]),
    ("billing", [true, true, false, true, false]),
    ("view usage and audit", [true, true, true, true, true]),
    ("manage users", [true, true, false, false, false]),
    ("manage administrators", [true, false, false, false, false]),
    ("manage subaccounts", [true, true, false, false, false]),
    ("transfer ownership", [true, false, false, false, false]),
];

fn actor_with(role: Role) -> (Store, Actor, Enrollment) {
    let (store, owner, owner_enrollment) = account();
    // A verified bystander to be the target of transfers.
    add_verified(&store, &owner, "target@acme.test", Role::Support, None);
    if role == Role::Owner {
        return (store, owner, owner_enrollment);
    }
    let (actor, enrollment) = add_verified(&store, &owner, "subject@acme.test", role, None);
    (store, actor, enrollment)
}

/// Performs `capability` as `actor`; `enrollment` is the actor's own, for the fresh code
/// a transfer of ownership needs (so a refusal is about the role, never the code).
fn attempt(
    store: &Store,
    actor: &Actor,
    enrollment: &Enrollment,
    capability: &str,
) -> Result<(), AccessError> {
    match capability {
        "manage keys" => {
            let key = sg_access::create_key(store, actor, "prod", Some("k"), None)?;
            sg_access::list_keys(store, actor, Some("prod"))?;
            sg_access::rotate_key(store, actor, key.id, 1)?;
            sg_access::revoke_key(store, actor, key.id).map(|_| ())
        }
        "billing" => {
            sg_access::record_charge(store, actor, "qa", "1.00", "test")?;
            sg_access::rollup(store, actor).map(|_| ())
        }
        "view usage and audit" => {
            sg_access::list_audit(store, actor, &AuditQuery::default())?;
            sg_access::verify_audit(store, actor, None).map(|_| ())
        }
        "manage users" => {
            add_user(store, actor, "new@acme.test", Role::Developer, None)?;
            sg_access::set_role(store, actor, "new@acme.test", Role::Support, None)?;
            sg_access::remove_user(store, actor, "new@acme.test")
        }
        "manage administrators" => {
            add_user(store, actor, "admin2@acme.test", Role::Administrator, None)?;
            sg_access::set_role(store, actor, "admin2@acme.test", Role::Developer, None)?;
            sg_access::set_role(store, actor, "admin2@acme.test", Role::Administrator, None)?;
            sg_access::remove_user(store, actor, "admin2@acme.test")
        }
        "manage subaccounts" => {
            sg_access::add_subaccount(store, actor, "staging", "staging").map(|_| ())
        }
        "transfer ownership" => {
            let otp = fresh_code(store, enrollment);
            sg_access::transfer_ownership(store, actor, "target@acme.test", &otp)
        }
        other => panic!("no exercise for {other}"),
    }
}

#[test]
fn every_cell_of_the_permission_table() {
    for (capability, row) in EXPECTED {
        for (column, role) in Role::ALL.into_iter().enumerate() {
            let (store, actor, enrollment) = actor_with(role);
            let result = attempt(&store, &actor, &enrollment, capability);
            match (row[column], result) {
                (true, Ok(())) => {}
                (false, Err(AccessError::PermissionDenied { role: r, .. })) => {
                    assert_eq!(r, role.as_str());
                }
                (expected, got) => panic!(
                    "{role} / {capability}: expected {}, got {got:?}",
                    if expected {
                        "allowed"
                    } else {
                        "permission denied"
                    }
                ),
            }
        }
    }
}

#[test]
fn the_library_table_matches_the_issue() {
    for (row, (capability, _)) in sg_access::roles::PERMISSIONS.iter().zip(EXPECTED) {
        let allowed: Vec<bool> = row
            .1
            .iter()
            .map(|g| *g != sg_access::Grant::Denied)
            .collect();
        let expected = EXPECTED
            .iter()
            .find(|(c, _)| *c == capability)
            .map(|(_, r)| r.to_vec());
        assert_eq!(Some(allowed), expected, "{:?}", row.0);
    }
}

#[test]
fn a_scoped_developer_manages_keys_only_in_their_subaccounts() {
    let (store, owner, _) = account();
    let (dev, _) = add_verified(
        &store,
        &owner,
        "dev@acme.test",
        Role::Developer,
        Some(&["dev", "qa"]),
    );
    assert!(sg_access::create_key(&store, &dev, "dev", None, None).is_ok());
    assert!(sg_access::create_key(&store, &dev, "qa", None, None).is_ok());
    let err =
        sg_access::create_key(&store, &dev, "prod", None, None).expect_err("prod is out of scope");
    assert_eq!(
        err.to_string(),
        "permission denied: dev@acme.test (developer) may not create keys in subaccount prod"
    );
    let prod_key = sg_access::create_key(&store, &owner, "prod", None, None).expect("owner");
    assert!(sg_access::revoke_key(&store, &dev, prod_key.id).is_err());
    assert!(sg_access::rotate_key(&store, &dev, prod_key.id, 1).is_err());
    assert!(sg_access::list_keys(&store, &dev, Some("prod")).is_err());
    let visible = sg_access::list_keys(&store, &dev, None).expect("list own");
    assert_eq!(visible.len(), 2);
    assert!(visible.iter().all(|k| k.subaccount != "prod"));
}

#[test]
fn refusals_are_audited() {
    let (store, owner, _) = account();
    let (support, _) = add_verified(&store, &owner, "s@acme.test", Role::Support, None);
    assert!(sg_access::add_subaccount(&store, &support, "x", "x").is_err());
    let log = audit_all(&store, &owner);
    let last = log.last().expect("entries");
    assert_eq!(last.actor, "s@acme.test");
    assert_eq!(last.action, "subaccount add");
    assert_eq!(last.result, "refused");
    assert!(last.detail.contains("permission denied"));
    assert!(sg_access::verify_chain(&store)
        .expect("verify")
        .first_bad
        .is_none());
}
