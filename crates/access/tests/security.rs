//! The hardening of issue 9 through the library API: single-use invitations, 2FA reset,
//! the login backoff, input checks, charge caps and voids, what each role may see in the
//! audit log, and key status by hash.

mod common;

use common::{account, add_user, add_verified, audit_all, code_now, next_step, T0};
use sg_access::{AccessError, AuditQuery, Credential, KeyStatus, Role, Store};

fn refused_invitation(result: Result<sg_access::Enrollment, AccessError>) -> String {
    let err = result.expect_err("the invitation must be refused");
    assert!(
        matches!(err, AccessError::Authentication(_)) && err.is_refusal(),
        "{err}"
    );
    err.to_string()
}

#[test]
fn invitations_are_single_use_expire_and_are_revoked_by_a_new_one() {
    let (store, owner, _) = account();

    // Used.
    let used = sg_access::invite_user(&store, &owner, "a@acme.test", Role::Support, None, None)
        .expect("invite");
    assert!(used.token.starts_with("sginv_"));
    assert_eq!(used.expires, T0 + 72 * 3600, "72 hours by default");
    sg_access::accept_invite(&store, &used.token).expect("first use");
    let used_message = refused_invitation(sg_access::accept_invite(&store, &used.token));

    // Expired: valid up to its last second, refused from its expiry on.
    let short = sg_access::invite_user(&store, &owner, "b@acme.test", Role::Support, None, Some(1))
        .expect("invite");
    let late = sg_access::invite_user(&store, &owner, "c@acme.test", Role::Support, None, Some(1))
        .expect("invite");
    store.set_time(Some(T0 + 3599));
    sg_access::accept_invite(&store, &short.token).expect("still valid");
    store.set_time(Some(T0 + 3600));
    let expired_message = refused_invitation(sg_access::accept_invite(&store, &late.token));

    // Revoked: a new invitation for the same user ends the open one.
    let first = sg_access::invite_user(&store, &owner, "d@acme.test", Role::Support, None, None)
        .expect("invite");
    let second = sg_access::reset_2fa(&store, &owner, "d@acme.test", None).expect("reissue");
    let revoked_message = refused_invitation(sg_access::accept_invite(&store, &first.token));
    let enrollment = sg_access::accept_invite(&store, &second.token).expect("the new one works");
    assert_eq!(enrollment.email, "d@acme.test");

    // Unknown, and every refusal reads the same.
    let unknown_message = refused_invitation(sg_access::accept_invite(&store, "sginv_nope"));
    for message in [&expired_message, &revoked_message, &unknown_message] {
        assert_eq!(message, &used_message);
    }
    let refusals = audit_all(&store, &owner)
        .into_iter()
        .filter(|e| e.action == "accept-invite" && e.result == "refused")
        .count();
    assert_eq!(refusals, 4, "every refused invitation is audited");

    // Expiry has a documented maximum.
    for hours in [0, sg_access::users::MAX_INVITE_HOURS + 1] {
        let err = sg_access::invite_user(
            &store,
            &owner,
            "e@acme.test",
            Role::Support,
            None,
            Some(hours),
        )
        .expect_err("out of range");
        assert!(matches!(err, AccessError::InvalidInput(_)), "{err}");
    }
}

#[test]
fn reset_2fa_ends_sessions_and_gives_a_working_new_invitation() {
    let (store, owner, _) = account();
    let (admin, _) = add_verified(&store, &owner, "admin@acme.test", Role::Administrator, None);
    add_verified(
        &store,
        &owner,
        "admin2@acme.test",
        Role::Administrator,
        None,
    );
    let dev = add_user(&store, &owner, "dev@acme.test", Role::Developer, None).expect("add");
    let session = sg_access::login(
        &store,
        "dev@acme.test",
        &Credential::Totp(code_now(&store, &dev)),
    )
    .expect("login");
    sg_access::actor_for_token(&store, &session.token).expect("live session");

    let invitation = sg_access::reset_2fa(&store, &admin, "dev@acme.test", None).expect("reset");
    assert_eq!(invitation.purpose, "reset-2fa");
    assert_eq!(invitation.role, Role::Developer);
    let err = sg_access::actor_for_token(&store, &session.token).expect_err("session ended");
    assert!(err.is_refusal(), "{err}");
    // Neither the old authenticator nor the old recovery codes work any more.
    next_step(&store);
    assert!(sg_access::login(
        &store,
        "dev@acme.test",
        &Credential::Totp(code_now(&store, &dev))
    )
    .is_err());
    assert!(sg_access::login(
        &store,
        "dev@acme.test",
        &Credential::RecoveryCode(dev.recovery_codes[0].clone())
    )
    .is_err());
    let users = sg_access::list_users(&store, &owner).expect("list");
    let row = users
        .iter()
        .find(|u| u.email == "dev@acme.test")
        .expect("still a member");
    assert!(!row.enrolled && !row.two_factor_verified, "{row:?}");

    let again = sg_access::accept_invite(&store, &invitation.token).expect("re-enrol");
    assert_ne!(again.otpauth_uri, dev.otpauth_uri);
    next_step(&store);
    let actor = common::login(&store, &again);
    assert_eq!(
        sg_access::whoami(&store, &actor).expect("whoami").role,
        Role::Developer
    );

    // Who may reset whom.
    let own = sg_access::reset_2fa(&store, &admin, "admin@acme.test", None).expect_err("self");
    assert!(matches!(own, AccessError::Invariant(_)), "{own}");
    let peer =
        sg_access::reset_2fa(&store, &admin, "admin2@acme.test", None).expect_err("an admin");
    assert!(
        matches!(peer, AccessError::PermissionDenied { .. }),
        "{peer}"
    );
    let the_owner =
        sg_access::reset_2fa(&store, &admin, "owner@acme.test", None).expect_err("the Owner");
    assert!(the_owner.is_refusal(), "{the_owner}");
    let by_dev =
        sg_access::reset_2fa(&store, &actor, "admin@acme.test", None).expect_err("a developer");
    assert!(
        matches!(by_dev, AccessError::PermissionDenied { .. }),
        "{by_dev}"
    );
}

/// Five wrong codes for `email`; returns the lockout the fifth one started, in seconds.
fn five_wrong_codes(store: &Store, email: &str) -> i64 {
    for attempt in 1..=4 {
        let err = sg_access::login(store, email, &Credential::Totp("000000".into()))
            .expect_err("wrong code");
        assert!(
            matches!(err, AccessError::Authentication(_)),
            "attempt {attempt}: {err}"
        );
    }
    match sg_access::login(store, email, &Credential::Totp("000000".into())) {
        Err(AccessError::TooManyAttempts { until, now, .. }) => until - now,
        other => panic!("the fifth wrong code locks: {other:?}"),
    }
}

#[test]
fn five_wrong_codes_lock_logins_for_a_doubling_window_capped_at_15_minutes() {
    let (store, _, owner) = account();
    let email = "owner@acme.test";
    let right_code_refused = |store: &Store| {
        let err = sg_access::login(store, email, &Credential::Totp(code_now(store, &owner)))
            .expect_err("locked: even the right code is refused");
        assert!(matches!(err, AccessError::TooManyAttempts { .. }), "{err}");
        err
    };

    next_step(&store);
    assert_eq!(five_wrong_codes(&store, email), 30);
    let start = store.now();
    let err = right_code_refused(&store);
    assert!(
        err.is_refusal() && err.to_string().contains("try again after"),
        "the message says when to retry: {err}"
    );
    store.set_time(Some(start + 29));
    right_code_refused(&store);

    // Each further lockout doubles the window, up to 15 minutes.
    let mut t = start + 30;
    let mut windows = Vec::new();
    for _ in 0..6 {
        store.set_time(Some(t));
        let window = five_wrong_codes(&store, email);
        right_code_refused(&store);
        windows.push(window);
        t += window;
    }
    assert_eq!(windows, vec![60, 120, 240, 480, 900, 900]);

    // Once the window has passed the right code works, and resets the backoff.
    store.set_time(Some(t));
    let actor = sg_access::login(&store, email, &Credential::Totp(code_now(&store, &owner)))
        .expect("the window has passed")
        .actor;
    let refused = audit_all(&store, &actor)
        .into_iter()
        .filter(|e| e.action == "login" && e.result == "refused" && e.actor == email)
        .count();
    assert_eq!(
        refused,
        7 * 5 + 2 + 6,
        "every wrong code and every attempt refused inside a window is audited"
    );
    next_step(&store);
    assert_eq!(
        five_wrong_codes(&store, email),
        30,
        "back to the first window"
    );
}

#[test]
fn the_lock_is_per_account_and_a_used_code_reads_like_a_wrong_one() {
    let (store, owner, _) = account();
    let (_, dev) = add_verified(&store, &owner, "dev@acme.test", Role::Developer, None);
    next_step(&store);
    five_wrong_codes(&store, "owner@acme.test");
    // The developer is not locked by the Owner's failures.
    let code = code_now(&store, &dev);
    sg_access::login(&store, "dev@acme.test", &Credential::Totp(code.clone()))
        .expect("another account logs in");
    let used =
        sg_access::login(&store, "dev@acme.test", &Credential::Totp(code)).expect_err("used code");
    let wrong = sg_access::login(&store, "dev@acme.test", &Credential::Totp("000000".into()))
        .expect_err("wrong code");
    assert_eq!(used.to_string(), wrong.to_string());
    let unknown = sg_access::login(
        &store,
        "nobody@acme.test",
        &Credential::Totp("000000".into()),
    )
    .expect_err("unknown user");
    assert_eq!(unknown.to_string(), wrong.to_string());
}

#[test]
fn wrong_codes_for_transfer_ownership_count_towards_the_backoff() {
    let (store, owner, owner_enrollment) = account();
    add_verified(&store, &owner, "admin@acme.test", Role::Administrator, None);
    next_step(&store);
    // A stolen Owner session cannot guess the fresh code: five wrong ones lock the account.
    for attempt in 1..=4 {
        let err = sg_access::transfer_ownership(&store, &owner, "admin@acme.test", "000000")
            .expect_err("wrong code");
        assert!(
            matches!(err, AccessError::Authentication(_)),
            "attempt {attempt}: {err}"
        );
    }
    let err = sg_access::transfer_ownership(&store, &owner, "admin@acme.test", "000000")
        .expect_err("fifth wrong code");
    assert!(matches!(err, AccessError::TooManyAttempts { .. }), "{err}");
    let right = code_now(&store, &owner_enrollment);
    let err = sg_access::transfer_ownership(&store, &owner, "admin@acme.test", &right)
        .expect_err("locked, even with the right code");
    assert!(matches!(err, AccessError::TooManyAttempts { .. }), "{err}");
    let err = sg_access::login(&store, "owner@acme.test", &Credential::Totp(right))
        .expect_err("logins are locked too");
    assert!(matches!(err, AccessError::TooManyAttempts { .. }), "{err}");
    let users = sg_access::list_users(&store, &owner).expect("list");
    assert!(users
        .iter()
        .any(|u| u.email == "owner@acme.test" && u.role == Role::Owner));
    let refused = audit_all(&store, &owner)
        .into_iter()
        .filter(|e| e.action == "transfer-ownership" && e.result == "refused")
        .count();
    assert_eq!(refused, 6, "every refused transfer is audited");

    // After the window the right code transfers.
    store.set_time(Some(store.now() + 30));
    let otp = code_now(&store, &owner_enrollment);
    sg_access::transfer_ownership(&store, &owner, "admin@acme.test", &otp).expect("transfer");
}

#[test]
fn confusable_and_malformed_emails_are_refused() {
    let (store, owner, _) = account();
    add_user(&store, &owner, "paypal@acme.test", Role::Support, None).expect("add");
    // Cyrillic "а" in place of Latin "a": looks the same, refused.
    let err = sg_access::invite_user(
        &store,
        &owner,
        "p\u{0430}ypal@acme.test",
        Role::Support,
        None,
        None,
    )
    .expect_err("confusable");
    assert!(
        matches!(&err, AccessError::InvalidInput(m) if m.contains("mistaken")),
        "{err}"
    );
    let err = sg_access::invite_user(
        &store,
        &owner,
        "PayPal@acme.test",
        Role::Support,
        None,
        None,
    )
    .expect_err("same address in other case");
    assert!(matches!(err, AccessError::AlreadyExists { .. }), "{err}");
    for bad in [
        "a@b@acme.test",
        "no-at.acme.test",
        "dev\u{202E}@acme.test",
        "dev\u{200B}@acme.test",
        "dev\n@acme.test",
    ] {
        let err =
            sg_access::invite_user(&store, &owner, bad, Role::Support, None, None).expect_err(bad);
        assert!(
            matches!(err, AccessError::InvalidInput(_)),
            "{bad:?}: {err}"
        );
    }
    let users = sg_access::list_users(&store, &owner).expect("list");
    assert_eq!(users.len(), 2, "nothing half-added: {users:?}");
}

#[test]
fn names_and_descriptions_with_control_or_bidi_characters_are_refused() {
    let (store, owner, _) = account();
    let (billing, _) = add_verified(&store, &owner, "b@acme.test", Role::BillingManager, None);
    let bad_texts = ["two\nlines", "tab\tbed", "evil\u{202E}txt", "bell\u{7}"];
    for bad in bad_texts {
        let sub = sg_access::add_subaccount(&store, &owner, bad, "dev");
        assert!(
            matches!(sub, Err(AccessError::InvalidInput(_))),
            "{bad:?}: {sub:?}"
        );
        let key = sg_access::create_key(&store, &owner, "dev", Some(bad), None);
        assert!(matches!(key, Err(AccessError::InvalidInput(_))), "{bad:?}");
        let charge = sg_access::record_charge(&store, &billing, "dev", "1.00", bad);
        assert!(
            matches!(charge, Err(AccessError::InvalidInput(_))),
            "{bad:?}"
        );
    }
    let charge = sg_access::record_charge(&store, &billing, "dev", "1.00", "usage").expect("ok");
    let void = sg_access::void_charge(&store, &billing, charge.id, "typo\nhidden");
    assert!(matches!(void, Err(AccessError::InvalidInput(_))));
    assert!(sg_access::list_keys(&store, &owner, None)
        .expect("keys")
        .is_empty());
    assert_eq!(
        sg_access::list_subaccounts(&store, &owner)
            .expect("subaccounts")
            .len(),
        3
    );
    let fresh = Store::open_in_memory().expect("store");
    let init = sg_access::init(
        &fresh,
        &sg_access::InitOptions {
            account: "Acme\u{202E}".into(),
            owner_email: "owner@acme.test".into(),
            currency: "USD".into(),
            require_2fa: true,
        },
    );
    assert!(matches!(init, Err(AccessError::InvalidInput(_))));
    assert!(!fresh.is_initialized().expect("check"));
}

#[test]
fn charges_are_capped_and_voided_by_a_reversing_entry() {
    let (store, owner, _) = account();
    let (billing, _) = add_verified(&store, &owner, "b@acme.test", Role::BillingManager, None);
    let (dev, _) = add_verified(&store, &owner, "d@acme.test", Role::Developer, None);
    let (support, _) = add_verified(&store, &owner, "s@acme.test", Role::Support, None);
    assert_eq!(sg_access::billing::MAX_CHARGE_MINOR, 1_000_000_000);
    let over = sg_access::record_charge(&store, &billing, "prod", "10000000.01", "too much");
    assert!(
        matches!(over, Err(AccessError::InvalidInput(_))),
        "{over:?}"
    );
    let max = sg_access::record_charge(&store, &billing, "prod", "10000000.00", "the cap")
        .expect("exactly the cap");
    assert_eq!(max.amount_minor, 1_000_000_000);
    let small = sg_access::record_charge(&store, &billing, "qa", "12.34", "usage").expect("ok");

    let reversal = sg_access::void_charge(&store, &billing, max.id, "entered twice").expect("void");
    assert_eq!(reversal.amount_minor, -1_000_000_000);
    assert_eq!(reversal.reverses, Some(max.id));
    assert_eq!(reversal.subaccount, "prod");
    let charges = sg_access::list_charges(&store, &billing).expect("charges");
    assert_eq!(
        charges.len(),
        3,
        "the charge stays; a reversing entry is added"
    );
    let original = charges.iter().find(|c| c.id == max.id).expect("original");
    assert_eq!(original.amount_minor, 1_000_000_000, "never edited");
    assert_eq!(original.voided_by, Some(reversal.id));
    let rollup = sg_access::rollup(&store, &billing).expect("rollup");
    let sum: i64 = charges.iter().map(|c| c.amount_minor).sum();
    assert_eq!(rollup.total_minor, sum);
    assert_eq!(rollup.total_minor, small.amount_minor);
    assert_eq!(
        rollup.total_minor,
        rollup
            .subaccounts
            .iter()
            .map(|s| s.total_minor)
            .sum::<i64>()
    );

    // Once only, never a reversing entry, never an unknown charge.
    for (id, what) in [
        (max.id, "twice"),
        (reversal.id, "a reversal"),
        (999, "unknown"),
    ] {
        let err = sg_access::void_charge(&store, &billing, id, "again").expect_err(what);
        assert!(!err.is_refusal(), "{what}: {err}");
    }
    for who in [&dev, &support] {
        let err = sg_access::void_charge(&store, who, small.id, "x").expect_err("not billing");
        assert!(matches!(err, AccessError::PermissionDenied { .. }), "{err}");
        assert!(matches!(
            sg_access::list_charges(&store, who),
            Err(AccessError::PermissionDenied { .. })
        ));
    }
    let voids: Vec<_> = audit_all(&store, &owner)
        .into_iter()
        .filter(|e| e.action == "billing void" && e.result == "ok")
        .collect();
    assert_eq!(voids.len(), 1);
    assert!(
        voids[0].detail.contains("entered twice"),
        "{}",
        voids[0].detail
    );
}

#[test]
fn developers_and_support_see_only_the_audit_entries_they_may_see() {
    let (store, owner, _) = account();
    let (billing, _) = add_verified(&store, &owner, "b@acme.test", Role::BillingManager, None);
    let (dev, _) = add_verified(
        &store,
        &owner,
        "dev@acme.test",
        Role::Developer,
        Some(&["dev"]),
    );
    let (support, _) = add_verified(&store, &owner, "s@acme.test", Role::Support, None);
    let prod_key = sg_access::create_key(&store, &owner, "prod", Some("prod-payments"), None)
        .expect("prod key");
    sg_access::rotate_key(&store, &owner, prod_key.id, 1).expect("rotate");
    let dev_key =
        sg_access::create_key(&store, &owner, "dev", Some("dev-sandbox"), None).expect("dev key");
    sg_access::create_key(&store, &dev, "dev", Some("dev-own"), None).expect("own key");
    sg_access::record_charge(&store, &billing, "prod", "123.45", "prod traffic").expect("charge");
    sg_access::record_charge(&store, &billing, "dev", "1.00", "dev traffic").expect("charge");
    // A refused attempt on prod by someone else.
    assert!(sg_access::create_key(&store, &support, "prod", Some("nope"), None).is_err());

    let everything = audit_all(&store, &owner);
    assert!(everything.iter().any(|e| e.category == "billing"));
    assert!(everything
        .iter()
        .any(|e| e.detail.contains("prod-payments")));
    assert_eq!(
        audit_all(&store, &billing),
        everything,
        "the Billing Manager reads the whole log"
    );

    let prod_id = everything
        .iter()
        .find(|e| e.action == "key create" && e.detail.contains("prod-payments"))
        .and_then(|e| e.subaccount_id)
        .expect("the prod key entry names its subaccount");
    let seen_by_dev = audit_all(&store, &dev);
    assert!(
        seen_by_dev.iter().all(|e| e.category != "billing"),
        "no billing entries for a developer"
    );
    assert!(
        seen_by_dev.iter().all(|e| {
            let prod_key_entry = e.category == "keys" && e.subaccount_id == Some(prod_id);
            let names_prod_key =
                e.detail.contains("prod-payments") || e.target.contains("prod-payments");
            !prod_key_entry && !names_prod_key
        }),
        "no prod key entries for a developer scoped to dev: {seen_by_dev:#?}"
    );
    assert!(seen_by_dev
        .iter()
        .any(|e| e.action == "key create" && e.detail.contains("dev-sandbox")));
    assert!(seen_by_dev
        .iter()
        .any(|e| e.actor == "dev@acme.test" && e.detail.contains("dev-own")));
    assert!(
        !seen_by_dev.iter().any(|e| e.detail.contains("123.45")),
        "no charge amounts"
    );

    let seen_by_support = audit_all(&store, &support);
    assert!(seen_by_support.iter().all(|e| e.category != "billing"));
    assert!(
        seen_by_support
            .iter()
            .filter(|e| e.actor != "s@acme.test")
            .all(|e| e.category != "keys"),
        "Support manages no keys, so sees no one else's key entries"
    );
    assert!(seen_by_support
        .iter()
        .any(|e| e.actor == "s@acme.test" && e.result == "refused"));
    // Filters apply on top of visibility, never around it.
    let billing_only = AuditQuery {
        action: Some("billing".into()),
        ..AuditQuery::default()
    };
    assert!(sg_access::list_audit(&store, &dev, &billing_only)
        .expect("list")
        .is_empty());

    // The doctor likewise: the scoped developer hears nothing about prod keys.
    let findings = sg_access::doctor(&store, &dev).expect("doctor");
    assert!(
        findings.iter().all(|w| !w.message.contains("prod-payments")
            && !w.subject.contains(&format!("key {} ", prod_key.id))),
        "{findings:#?}"
    );
    assert!(findings
        .iter()
        .any(|w| w.kind == "unused-key" && w.subject.contains(&format!("key {} ", dev_key.id))));
    let owner_findings = sg_access::doctor(&store, &owner).expect("doctor");
    assert!(owner_findings
        .iter()
        .any(|w| w.message.contains("prod-payments")));
}

#[test]
fn key_status_by_hash_needs_key_rights_and_never_the_key() {
    let (store, owner, _) = account();
    let (dev, _) = add_verified(
        &store,
        &owner,
        "dev@acme.test",
        Role::Developer,
        Some(&["dev"]),
    );
    let (support, _) = add_verified(&store, &owner, "s@acme.test", Role::Support, None);
    let (billing, _) = add_verified(&store, &owner, "b@acme.test", Role::BillingManager, None);
    let prod = sg_access::create_key(&store, &owner, "prod", Some("p"), None).expect("prod");
    let dev_key = sg_access::create_key(&store, &owner, "dev", Some("d"), None).expect("dev");
    let prod_hash = sg_access::key_hash(prod.secret.expose());
    assert_eq!(prod_hash.len(), 64);
    assert!(!prod_hash.contains(prod.secret.expose()));

    let status = sg_access::key_status_by_hash(&store, &owner, &prod_hash).expect("status");
    assert_eq!(status.status, KeyStatus::Live);
    assert_eq!(status.environment.as_deref(), Some("prod"));
    assert_eq!(status.key_id, Some(prod.id));
    // Upper-case hex is the same hash.
    let upper =
        sg_access::key_status_by_hash(&store, &owner, &prod_hash.to_uppercase()).expect("status");
    assert_eq!(upper.status, KeyStatus::Live);
    // The key itself is not a hash: unknown.
    let by_secret =
        sg_access::key_status_by_hash(&store, &owner, prod.secret.expose()).expect("status");
    assert_eq!(by_secret.status, KeyStatus::Unknown);

    // A developer scoped to dev learns nothing about a prod key, but sees their own.
    let hidden = sg_access::key_status_by_hash(&store, &dev, &prod_hash).expect("status");
    assert_eq!(hidden.status, KeyStatus::Unknown);
    assert_eq!(hidden.subaccount, None);
    let own =
        sg_access::key_status_by_hash(&store, &dev, &sg_access::key_hash(dev_key.secret.expose()))
            .expect("status");
    assert_eq!(own.status, KeyStatus::Live);
    for who in [&support, &billing] {
        let err =
            sg_access::key_status_by_hash(&store, who, &prod_hash).expect_err("no key rights");
        assert!(matches!(err, AccessError::PermissionDenied { .. }), "{err}");
    }

    sg_access::revoke_key(&store, &owner, prod.id).expect("revoke");
    assert_eq!(
        sg_access::key_status_by_hash(&store, &owner, &prod_hash)
            .expect("status")
            .status,
        KeyStatus::Revoked
    );
}
