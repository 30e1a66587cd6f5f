//! Invariants, 2FA, sessions, keys, billing and the audit chain, through the library API.

mod common;

use common::{
    account, add_user, add_verified, audit_all, code_now, fresh_code, init_account, login,
    next_step, secret_of, T0,
};
use sg_access::{AccessError, AuditQuery, Credential, KeyStatus, LeakedKey, Role, Store};

#[test]
fn the_owner_cannot_be_removed_demoted_or_duplicated() {
    let (store, owner, _) = account();
    let (admin, _) = add_verified(&store, &owner, "admin@acme.test", Role::Administrator, None);
    for err in [
        sg_access::remove_user(&store, &owner, "owner@acme.test").expect_err("remove"),
        sg_access::remove_user(&store, &admin, "owner@acme.test").expect_err("remove"),
        sg_access::set_role(&store, &owner, "owner@acme.test", Role::Support, None)
            .expect_err("demote"),
    ] {
        assert!(matches!(err, AccessError::Invariant(_)), "{err}");
    }
    let err =
        add_user(&store, &owner, "o2@acme.test", Role::Owner, None).expect_err("second owner");
    assert!(
        err.is_refusal() && err.to_string().contains("transfer-ownership"),
        "{err}"
    );
    let err = sg_access::set_role(&store, &owner, "admin@acme.test", Role::Owner, None)
        .expect_err("owner by re-role");
    assert!(err.is_refusal());
    let owners = sg_access::list_users(&store, &owner)
        .expect("list")
        .iter()
        .filter(|u| u.role == Role::Owner)
        .count();
    assert_eq!(owners, 1);
}

#[test]
fn transferring_ownership_makes_the_old_owner_an_administrator() {
    let (store, owner, owner_enrollment) = account();
    let (admin, _) = add_verified(&store, &owner, "admin@acme.test", Role::Administrator, None);
    // Enrolled but never logged in, and invited but never enrolled: neither can receive
    // ownership, since the account must never be locked out.
    let fresh = add_user(&store, &owner, "fresh@acme.test", Role::Developer, None).expect("add");
    sg_access::invite_user(
        &store,
        &owner,
        "invited@acme.test",
        Role::Support,
        None,
        None,
    )
    .expect("invite");
    for target in [fresh.email.as_str(), "invited@acme.test"] {
        let otp = fresh_code(&store, &owner_enrollment);
        let err =
            sg_access::transfer_ownership(&store, &owner, target, &otp).expect_err("unverified");
        assert!(matches!(err, AccessError::Invariant(_)), "{target}: {err}");
    }
    // The Owner confirms with a fresh code: none, a wrong one or a replayed one is refused.
    let wrong = sg_access::transfer_ownership(&store, &owner, "admin@acme.test", "000000")
        .expect_err("wrong code");
    assert!(matches!(wrong, AccessError::Authentication(_)), "{wrong}");
    let otp = fresh_code(&store, &owner_enrollment);
    sg_access::login(&store, "owner@acme.test", &Credential::Totp(otp.clone())).expect("login");
    let replay = sg_access::transfer_ownership(&store, &owner, "admin@acme.test", &otp)
        .expect_err("a code already used to log in");
    assert!(matches!(replay, AccessError::Authentication(_)), "{replay}");
    let still_owner = sg_access::list_users(&store, &owner).expect("list");
    assert!(still_owner
        .iter()
        .any(|u| u.email == "owner@acme.test" && u.role == Role::Owner));

    let otp = fresh_code(&store, &owner_enrollment);
    sg_access::transfer_ownership(&store, &owner, "admin@acme.test", &otp).expect("transfer");
    let users = sg_access::list_users(&store, &admin).expect("list");
    let role_of = |email: &str| users.iter().find(|u| u.email == email).map(|u| u.role);
    assert_eq!(role_of("admin@acme.test"), Some(Role::Owner));
    assert_eq!(role_of("owner@acme.test"), Some(Role::Administrator));
    // The old owner lost the right to transfer, even with a fresh code.
    let otp = fresh_code(&store, &owner_enrollment);
    let err = sg_access::transfer_ownership(&store, &owner, "admin@acme.test", &otp)
        .expect_err("no longer owner");
    assert!(matches!(err, AccessError::PermissionDenied { .. }), "{err}");
    assert!(sg_access::remove_user(&store, &admin, "owner@acme.test").is_ok());
}

#[test]
fn administrators_cannot_grant_or_touch_administrators() {
    let (store, owner, _) = account();
    let (admin, _) = add_verified(&store, &owner, "admin@acme.test", Role::Administrator, None);
    add_verified(
        &store,
        &owner,
        "admin2@acme.test",
        Role::Administrator,
        None,
    );
    add_verified(&store, &owner, "dev@acme.test", Role::Developer, None);
    for err in [
        add_user(&store, &admin, "x@acme.test", Role::Administrator, None)
            .map(|_| ())
            .expect_err("grant admin"),
        sg_access::set_role(&store, &admin, "dev@acme.test", Role::Administrator, None)
            .expect_err("promote"),
        sg_access::remove_user(&store, &admin, "admin2@acme.test").expect_err("remove admin"),
        sg_access::set_role(&store, &admin, "admin2@acme.test", Role::Support, None)
            .expect_err("demote admin"),
    ] {
        assert!(matches!(err, AccessError::PermissionDenied { .. }), "{err}");
    }
    sg_access::set_role(&store, &admin, "dev@acme.test", Role::BillingManager, None)
        .expect("admins re-role non-administrators");
}

#[test]
fn unverified_users_can_do_nothing_but_log_in() {
    let (store, owner, _) = account();
    // Invited but not enrolled: no code can log in, and no session exists to act with.
    sg_access::invite_user(&store, &owner, "new@acme.test", Role::Developer, None, None)
        .expect("invite");
    let err = sg_access::login(&store, "new@acme.test", &Credential::Totp("123456".into()))
        .expect_err("not enrolled");
    assert!(matches!(err, AccessError::Authentication(_)), "{err}");

    let dev = add_user(&store, &owner, "dev@acme.test", Role::Developer, None).expect("add");
    // A recovery-code session does not verify the authenticator, so it grants nothing yet.
    let session = sg_access::login(
        &store,
        "dev@acme.test",
        &Credential::RecoveryCode(dev.recovery_codes[0].clone()),
    )
    .expect("recovery login");
    let err = sg_access::list_audit(&store, &session.actor, &AuditQuery::default())
        .expect_err("unverified");
    assert!(matches!(err, AccessError::Authentication(_)), "{err}");
    let actor = login(&store, &dev);
    assert!(sg_access::list_audit(&store, &actor, &AuditQuery::default()).is_ok());
}

#[test]
fn totp_codes_work_once_within_one_step_of_drift() {
    let (store, _, owner_enrollment) = account();
    next_step(&store);
    let secret = secret_of(&owner_enrollment);
    let email = "owner@acme.test";
    let totp =
        |t: i64| Credential::Totp(sg_access::totp::code_for_base32(&secret, t).expect("secret"));
    let now = store.now();
    assert!(
        sg_access::login(&store, email, &totp(now - 30)).is_err(),
        "already used step"
    );
    assert!(
        sg_access::login(&store, email, &totp(now + 90)).is_err(),
        "two steps ahead"
    );
    let code = totp(now + 30);
    sg_access::login(&store, email, &code).expect("one step of drift");
    let err = sg_access::login(&store, email, &code).expect_err("replay");
    assert!(err.to_string().contains("already used"), "{err}");
    // An older code, even one never used, is refused once a later one was accepted.
    assert!(sg_access::login(&store, email, &totp(now)).is_err());
    assert!(sg_access::login(&store, email, &Credential::Totp("000000x".into())).is_err());
}

#[test]
fn recovery_codes_work_once() {
    let (store, _, owner) = account();
    assert_eq!(owner.recovery_codes.len(), 10);
    for code in &owner.recovery_codes {
        // 16 base32 characters (80 bits) as XXXX-XXXX-XXXX-XXXX.
        let groups: Vec<&str> = code.split('-').collect();
        assert_eq!(groups.len(), 4, "{code}");
        assert!(groups.iter().all(|g| g.len() == 4
            && g.bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))));
    }
    // Typed loosely: lower case, no dashes.
    let code = owner.recovery_codes[3].to_lowercase().replace('-', "");
    sg_access::login(
        &store,
        &owner.email,
        &Credential::RecoveryCode(code.clone()),
    )
    .expect("first");
    let used =
        sg_access::login(&store, &owner.email, &Credential::RecoveryCode(code)).expect_err("used");
    let wrong = sg_access::login(
        &store,
        &owner.email,
        &Credential::RecoveryCode("AAAA-AAAA-AAAA-AAAA".into()),
    )
    .expect_err("wrong");
    assert!(matches!(used, AccessError::Authentication(_)), "{used}");
    assert_eq!(
        used.to_string(),
        wrong.to_string(),
        "a used and a wrong code get the same message"
    );
    // The other codes still work.
    sg_access::login(
        &store,
        &owner.email,
        &Credential::RecoveryCode(owner.recovery_codes[4].clone()),
    )
    .expect("another code");
}

#[test]
fn sessions_expire_after_twelve_hours_and_files_are_private() {
    let (store, _, owner) = account();
    next_step(&store);
    let session = sg_access::login(
        &store,
        &owner.email,
        &Credential::Totp(code_now(&store, &owner)),
    )
    .expect("login");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("nested/session");
    sg_access::write_session_file(&file, &session.token).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let actor = sg_access::current_user(&store, &file).expect("session user");
    assert_eq!(actor.email, "owner@acme.test");
    store.set_time(Some(store.now() + 12 * 3600 - 1));
    assert!(sg_access::current_user(&store, &file).is_ok());
    store.set_time(Some(store.now() + 1));
    let err = sg_access::current_user(&store, &file).expect_err("expired");
    assert!(
        err.is_refusal() && err.to_string().contains("expired"),
        "{err}"
    );
    assert!(sg_access::current_user(&store, &dir.path().join("missing")).is_err());
    let owner_again = login(&store, &owner);
    let log = audit_all(&store, &owner_again);
    let refusal = log
        .iter()
        .find(|e| e.action == "session")
        .expect("the expired session was audited");
    assert_eq!(
        (refusal.actor.as_str(), refusal.result.as_str()),
        ("owner@acme.test", "refused")
    );
}

#[test]
fn keys_round_trip_rotate_expire_and_revoke() {
    let (store, owner, _) = account();
    let key = sg_access::create_key(&store, &owner, "prod", Some("ci"), Some(30)).expect("create");
    let secret = key.secret.expose().to_owned();
    assert!(secret.starts_with("sgk_prod_"));
    let found = sg_access::lookup_key(&store, &secret).expect("lookup");
    assert_eq!(found.status, KeyStatus::Live);
    assert_eq!(found.environment.as_deref(), Some("prod"));
    assert_eq!(found.key_name.as_deref(), Some("ci"));
    // A changed character breaks the checksum: unknown, not a lookup of a near match.
    let mut forged = secret.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("ascii");
    assert_eq!(
        sg_access::lookup_key(&store, &forged)
            .expect("lookup")
            .status,
        KeyStatus::Unknown
    );
    // Well-formed but never issued.
    let other = sg_keyformat::ApiKey::generate("prod").expect("generate");
    assert_eq!(
        sg_access::lookup_key(&store, other.expose())
            .expect("lookup")
            .status,
        KeyStatus::Unknown
    );

    assert_eq!(
        sg_access::verify_key(&store, &secret)
            .expect("verify")
            .status,
        KeyStatus::Live
    );
    let listed = sg_access::list_keys(&store, &owner, None).expect("list");
    assert_eq!(listed[0].last_used, Some(store.now()));
    assert!(
        !format!("{listed:?}").contains(&secret[9..]),
        "listings never show the secret"
    );

    store.set_time(Some(T0 + 10 * 86_400));
    let new = sg_access::rotate_key(&store, &owner, key.id, 2).expect("rotate");
    assert_ne!(new.secret.expose(), secret);
    assert_eq!(
        sg_access::lookup_key(&store, &secret).expect("old").status,
        KeyStatus::Live
    );
    store.set_time(Some(store.now() + 2 * 3600));
    assert_eq!(
        sg_access::lookup_key(&store, &secret).expect("old").status,
        KeyStatus::Expired
    );
    assert_eq!(
        sg_access::lookup_key(&store, new.secret.expose())
            .expect("new")
            .status,
        KeyStatus::Live
    );
    store.set_time(Some(T0 + 31 * 86_400));
    assert_eq!(
        sg_access::lookup_key(&store, new.secret.expose())
            .expect("new")
            .status,
        KeyStatus::Live,
        "the replacement's 30 days count from its rotation"
    );
    store.set_time(Some(T0 + 40 * 86_400));
    assert_eq!(
        sg_access::lookup_key(&store, new.secret.expose())
            .expect("new")
            .status,
        KeyStatus::Expired
    );
    store.set_time(Some(T0 + 39 * 86_400));
    sg_access::revoke_key(&store, &owner, new.id).expect("revoke");
    assert_eq!(
        sg_access::verify_key(&store, new.secret.expose())
            .expect("verify")
            .status,
        KeyStatus::Revoked
    );
}

#[test]
fn revoke_leaked_is_all_or_nothing_and_audited_with_the_place() {
    let (store, owner, _) = account();
    let (dev, _) = add_verified(
        &store,
        &owner,
        "dev@acme.test",
        Role::Developer,
        Some(&["dev"]),
    );
    let dev_key = sg_access::create_key(&store, &owner, "dev", Some("d"), None).expect("dev key");
    let prod_key =
        sg_access::create_key(&store, &owner, "prod", Some("p"), None).expect("prod key");
    let leak = |secret: &str, path: &str| LeakedKey::new(secret, path, Some("abc123".to_owned()));
    let leaks = vec![
        leak(dev_key.secret.expose(), "config/dev.env"),
        leak(prod_key.secret.expose(), "deploy/prod.env"),
        leak("sgk_prod_notarealkeyatall", "README.md"),
    ];
    let err = sg_access::revoke_leaked(&store, &dev, &leaks).expect_err("prod out of scope");
    assert!(err.is_refusal());
    assert!(err.to_string().contains("deploy/prod.env"), "{err}");
    for k in [&dev_key, &prod_key] {
        assert_eq!(
            sg_access::lookup_key(&store, k.secret.expose())
                .expect("lookup")
                .status,
            KeyStatus::Live,
            "nothing is revoked when one is refused"
        );
    }
    let log = audit_all(&store, &owner);
    assert_eq!(log.last().map(|e| e.result.as_str()), Some("refused"));

    let revoked = sg_access::revoke_leaked(&store, &owner, &leaks).expect("owner revokes");
    assert_eq!(revoked.len(), 2);
    assert_eq!(revoked[1].path, "deploy/prod.env");
    for k in [&dev_key, &prod_key] {
        assert_eq!(
            sg_access::lookup_key(&store, k.secret.expose())
                .expect("lookup")
                .status,
            KeyStatus::Revoked
        );
    }
    let log = audit_all(&store, &owner);
    let leaked: Vec<_> = log
        .iter()
        .filter(|e| e.detail.starts_with("leaked:"))
        .collect();
    assert_eq!(leaked.len(), 2);
    assert!(leaked[1]
        .detail
        .contains("deploy/prod.env at commit abc123"));
    // Already revoked keys are skipped, not an error.
    assert!(sg_access::revoke_leaked(&store, &owner, &leaks)
        .expect("again")
        .is_empty());
}

#[test]
fn rollup_is_the_sum_of_subaccounts_and_only_billing_roles_see_it() {
    let (store, owner, _) = account();
    let (billing, _) = add_verified(&store, &owner, "b@acme.test", Role::BillingManager, None);
    let (dev, _) = add_verified(&store, &owner, "d@acme.test", Role::Developer, None);
    for (sub, amount) in [
        ("prod", "12.34"),
        ("prod", "0.66"),
        ("qa", "5"),
        ("dev", "0.01"),
    ] {
        sg_access::record_charge(&store, &billing, sub, amount, "usage").expect("record");
    }
    assert!(sg_access::record_charge(&store, &billing, "qa", "1.001", "x").is_err());
    let rollup = sg_access::rollup(&store, &billing).expect("rollup");
    assert_eq!(rollup.currency, "USD");
    let by_name = |n: &str| {
        rollup
            .subaccounts
            .iter()
            .find(|s| s.name == n)
            .map(|s| s.total_minor)
    };
    assert_eq!(by_name("prod"), Some(1300));
    assert_eq!(by_name("qa"), Some(500));
    assert_eq!(by_name("dev"), Some(1));
    assert_eq!(rollup.total_minor, 1801);
    assert_eq!(
        rollup.total_minor,
        rollup
            .subaccounts
            .iter()
            .map(|s| s.total_minor)
            .sum::<i64>()
    );
    assert!(matches!(
        sg_access::rollup(&store, &dev),
        Err(AccessError::PermissionDenied { .. })
    ));
}

#[test]
fn doctor_reports_each_kind_of_risk() {
    let (store, owner, _) = account();
    let kinds = |store: &Store| -> Vec<String> {
        let mut k: Vec<_> = sg_access::doctor(store, &owner)
            .expect("doctor")
            .into_iter()
            .map(|w| w.kind)
            .collect();
        k.sort_unstable();
        k.dedup();
        k
    };
    assert_eq!(kinds(&store), vec!["no-backup-administrator"]);
    let (dev, _) = add_verified(&store, &owner, "dev@acme.test", Role::Developer, None);
    add_verified(&store, &owner, "admin@acme.test", Role::Administrator, None);
    add_user(&store, &owner, "idle@acme.test", Role::Support, None).expect("add");
    assert_eq!(kinds(&store), vec!["never-logged-in"]);
    sg_access::remove_user(&store, &owner, "idle@acme.test").expect("remove");
    let key = sg_access::create_key(&store, &dev, "prod", None, None).expect("key");
    assert_eq!(kinds(&store), vec!["unused-key"]);
    sg_access::verify_key(&store, key.secret.expose()).expect("use");
    assert!(kinds(&store).is_empty());
    sg_access::set_role(
        &store,
        &owner,
        "dev@acme.test",
        Role::Developer,
        Some(&vec!["dev".into()]),
    )
    .expect("narrow scope");
    assert_eq!(kinds(&store), vec!["orphaned-prod-key"]);
    store.set_time(Some(T0 + 91 * 86_400));
    assert_eq!(kinds(&store), vec!["old-key", "orphaned-prod-key"]);
}

#[test]
fn the_audit_chain_detects_edits_and_deletions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("access.db");
    let store = Store::open(&path).expect("open");
    store.set_time(Some(T0));
    let owner = init_account(&store, "owner@acme.test", "EUR");
    let actor = login(&store, &owner);
    for name in ["a", "b", "c", "d"] {
        sg_access::add_subaccount(&store, &actor, name, "dev").expect("add");
    }
    let report = sg_access::verify_chain(&store).expect("verify");
    assert_eq!(
        (report.entries, report.first_bad),
        (7, None),
        "init, accept-invite, login and four subaccounts"
    );

    let raw = rusqlite::Connection::open(&path).expect("raw");
    let edited = raw
        .execute(
            "UPDATE audit SET detail = 'environment prod' WHERE id = 4",
            [],
        )
        .expect("edit");
    assert_eq!(edited, 1);
    let bad = sg_access::verify_chain(&store)
        .expect("verify")
        .first_bad
        .expect("detected");
    assert_eq!(bad.id, 4);
    assert!(bad.problem.contains("edited"), "{}", bad.problem);
    raw.execute("DELETE FROM audit WHERE id = 4", [])
        .expect("delete");
    let bad = sg_access::verify_chain(&store)
        .expect("verify")
        .first_bad
        .expect("detected");
    assert_eq!(bad.id, 5, "the entry after the deleted one is named");

    // Cutting the last entry off the end is caught by the head kept with the account.
    let dir2 = tempfile::tempdir().expect("tempdir");
    let path2 = dir2.path().join("access.db");
    let store2 = Store::open(&path2).expect("open");
    store2.set_time(Some(T0));
    let owner2 = init_account(&store2, "owner@acme.test", "USD");
    login(&store2, &owner2);
    assert_eq!(sg_access::verify_chain(&store2).expect("verify").entries, 3);
    let raw2 = rusqlite::Connection::open(&path2).expect("raw");
    raw2.execute("DELETE FROM audit WHERE id = 3", [])
        .expect("truncate");
    let bad = sg_access::verify_chain(&store2)
        .expect("verify")
        .first_bad
        .expect("detected");
    assert_eq!(bad.id, 3);
    assert!(bad.problem.contains("cut off the end"), "{}", bad.problem);
}

#[test]
fn a_reopened_database_keeps_its_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sub/dir/access.db");
    {
        let store = Store::open(&path).expect("open");
        assert!(!store.is_initialized().expect("check"));
        init_account(&store, "owner@acme.test", "JPY");
    }
    let store = Store::open(&path).expect("reopen");
    assert!(store.is_initialized().expect("check"));
    let again = sg_access::init(
        &store,
        &sg_access::InitOptions {
            account: "Other".into(),
            owner_email: "x@acme.test".into(),
            currency: "USD".into(),
            require_2fa: true,
        },
    );
    assert!(matches!(again, Err(AccessError::InvalidInput(_))));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the database holds sealed secrets");
        let key = sg_access::serverkey::local_key_path(&path);
        let mode = std::fs::metadata(&key)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the key file opens them");
    }
}

#[test]
fn audit_list_limit_keeps_the_newest_entries_in_order() {
    let (store, owner, _) = account();
    let all = audit_all(&store, &owner);
    assert_eq!(
        all.len(),
        6,
        "init, accept-invite, login and three subaccounts"
    );
    let query = AuditQuery {
        limit: Some(2),
        ..AuditQuery::default()
    };
    let last_two = sg_access::list_audit(&store, &owner, &query).expect("limited");
    assert_eq!(last_two, all[4..].to_vec());
    assert!(last_two[0].id < last_two[1].id);
    let by_action = AuditQuery {
        action: Some("subaccount".into()),
        ..AuditQuery::default()
    };
    let subs = sg_access::list_audit(&store, &owner, &by_action).expect("filtered");
    assert_eq!(subs.len(), 3);
    assert!(subs.iter().all(|e| e.action == "subaccount add"));
}

#[test]
fn re_roling_to_developer_without_subaccounts_gives_none() {
    let (store, owner, _) = account();
    let (user, _) = add_verified(&store, &owner, "s@acme.test", Role::Support, None);
    // The scope must be named: without it the change fails closed, to no subaccounts.
    sg_access::set_role(&store, &owner, "s@acme.test", Role::Developer, None).expect("re-role");
    let me = sg_access::whoami(&store, &user).expect("whoami");
    assert_eq!(me.role, Role::Developer);
    assert_eq!(me.subaccounts, Some(Vec::new()));
    for sub in ["prod", "qa", "dev"] {
        let err = sg_access::create_key(&store, &user, sub, None, None).expect_err(sub);
        assert!(matches!(err, AccessError::PermissionDenied { .. }), "{err}");
    }
    assert!(sg_access::list_keys(&store, &user, None)
        .expect("list")
        .is_empty());
    let log = audit_all(&store, &owner);
    assert!(log
        .iter()
        .any(|e| e.action == "user role" && e.detail.contains("no subaccounts")));

    // A Developer re-roled to Developer without a scope loses the one they had.
    let qa = vec!["qa".to_owned()];
    sg_access::set_role(&store, &owner, "s@acme.test", Role::Developer, Some(&qa))
        .expect("scope qa");
    assert!(sg_access::create_key(&store, &user, "qa", None, None).is_ok());
    sg_access::set_role(&store, &owner, "s@acme.test", Role::Developer, None).expect("again");
    assert!(sg_access::create_key(&store, &user, "qa", None, None).is_err());
    // Other roles are never scoped: an Administrator sees every subaccount again.
    sg_access::set_role(&store, &owner, "s@acme.test", Role::Administrator, None).expect("promote");
    assert_eq!(
        sg_access::whoami(&store, &user)
            .expect("whoami")
            .subaccounts,
        None
    );
    assert!(sg_access::create_key(&store, &user, "prod", None, None).is_ok());
}
