//! The same store suite on both backends: SQLite (a file) and PostgreSQL (the throwaway
//! cluster of `.ci/run`, named by SECRETS_GUARD_TEST_DATABASE_URL). Each scenario opens
//! stores through the public constructors, as the server does.

use sg_access::{AccessError, AuditQuery, Credential, InitOptions, Role, ServerKey, Store};
use std::sync::Arc;

/// Opens the scenario's database under a key.
type KeyedOpener = Arc<dyn Fn(Arc<ServerKey>) -> Result<Store, AccessError> + Send + Sync>;

/// Opens the scenario's database under the scenario's key.
type Opener = Arc<dyn Fn() -> Store + Send + Sync>;

fn sqlite_opener() -> (tempfile::TempDir, KeyedOpener) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.db");
    let opener: KeyedOpener = Arc::new(move |key| Store::open_sqlite(&path, key));
    (dir, opener)
}

fn postgres_opener() -> Option<KeyedOpener> {
    let admin = match std::env::var("SECRETS_GUARD_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set SECRETS_GUARD_TEST_DATABASE_URL (see .ci/run)"
            );
            return None;
        }
    };
    let name = format!(
        "sg_store_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("cluster");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    let url = format!("{}/{name}", admin.rsplit_once('/').expect("db in url").0);
    Some(Arc::new(move |key| Store::open_postgres(&url, key)))
}

fn with_key(open: &KeyedOpener, key: Arc<ServerKey>) -> Opener {
    let open = open.clone();
    Arc::new(move || open(key.clone()).expect("open the store"))
}

fn each_backend(scenario: fn(&Opener)) {
    each_backend_keyed(|open| scenario(&with_key(open, Arc::new(ServerKey::generate()))));
}

fn each_backend_keyed(scenario: impl Fn(&KeyedOpener)) {
    let (_dir, sqlite) = sqlite_opener();
    scenario(&sqlite);
    if let Some(pg) = postgres_opener() {
        scenario(&pg);
    }
}

fn code(store: &Store, uri: &str) -> String {
    let secret = sg_access::totp::secret_from_uri(uri).expect("secret");
    sg_access::totp::code_for_base32(&secret, store.now()).expect("code")
}

fn lifecycle(open: &Opener) {
    let store = open();
    let invitation = sg_access::init(
        &store,
        &InitOptions {
            account: "Acme".into(),
            owner_email: "owner@acme.test".into(),
            currency: "EUR".into(),
            require_2fa: true,
        },
    )
    .expect("init");
    let enrollment = sg_access::accept_invite(&store, &invitation.token).expect("accept");
    assert!(matches!(
        sg_access::accept_invite(&store, &invitation.token),
        Err(AccessError::Authentication(_))
    ));
    let owner = sg_access::login(
        &store,
        "owner@acme.test",
        &Credential::Totp(code(&store, &enrollment.otpauth_uri)),
    )
    .expect("login")
    .actor;
    sg_access::add_subaccount(&store, &owner, "prod", "prod").expect("prod");
    sg_access::add_subaccount(&store, &owner, "dev", "dev").expect("dev");
    let key = sg_access::create_key(&store, &owner, "prod", Some("api"), None).expect("key");
    assert_eq!(
        sg_access::verify_key(&store, key.secret.expose())
            .expect("verify")
            .status,
        sg_access::KeyStatus::Live
    );
    sg_access::record_charge(&store, &owner, "prod", "10.50", "usage").expect("charge");
    let charge = sg_access::record_charge(&store, &owner, "dev", "2.00", "usage").expect("charge");
    sg_access::void_charge(&store, &owner, charge.id, "test").expect("void");
    let rollup = sg_access::rollup(&store, &owner).expect("rollup");
    assert_eq!(rollup.total_minor, 1050);
    assert_eq!(
        rollup
            .subaccounts
            .iter()
            .map(|s| s.total_minor)
            .sum::<i64>(),
        rollup.total_minor
    );
    let invite = sg_access::invite_user(
        &store,
        &owner,
        "dev@acme.test",
        Role::Developer,
        Some(&vec!["dev".to_owned()]),
        None,
    )
    .expect("invite");
    let dev_enrollment = sg_access::accept_invite(&store, &invite.token).expect("dev accepts");
    assert_eq!(dev_enrollment.recovery_codes.len(), 10);
    let dev = sg_access::login(
        &store,
        "dev@acme.test",
        &Credential::RecoveryCode(dev_enrollment.recovery_codes[0].clone()),
    )
    .expect("recovery login")
    .actor;
    // A recovery-code login does not verify 2FA: the developer must use a TOTP code.
    assert!(sg_access::list_keys(&store, &dev, None).is_err());
    let dev = sg_access::login(
        &store,
        "dev@acme.test",
        &Credential::Totp(code(&store, &dev_enrollment.otpauth_uri)),
    )
    .expect("totp login")
    .actor;
    assert!(matches!(
        sg_access::create_key(&store, &dev, "prod", None, None),
        Err(AccessError::PermissionDenied { .. })
    ));
    sg_access::create_key(&store, &dev, "dev", None, None).expect("dev key");
    let report = sg_access::verify_chain(&store).expect("verify");
    assert_eq!(report.first_bad, None);
    let visible = sg_access::list_audit(&store, &dev, &AuditQuery::default()).expect("audit");
    assert!(visible
        .iter()
        .all(|e| e.category != "billing" || e.actor == "dev@acme.test"));
    // A second connection sees the same state (the server pools them).
    let other = open();
    assert_eq!(
        sg_access::list_users(&other, &owner).expect("users").len(),
        2
    );
}

#[test]
fn the_lifecycle_on_both_backends() {
    each_backend(lifecycle);
}

/// Creates the account on `store` and logs its Owner in.
fn owner_session(store: &Store) -> (sg_access::Enrollment, sg_access::Session) {
    let invitation = sg_access::init(
        store,
        &InitOptions {
            account: "Acme".into(),
            owner_email: "owner@acme.test".into(),
            currency: "USD".into(),
            require_2fa: true,
        },
    )
    .expect("init");
    let enrollment = sg_access::accept_invite(store, &invitation.token).expect("accept");
    let session = sg_access::login(
        store,
        "owner@acme.test",
        &Credential::Totp(code(store, &enrollment.otpauth_uri)),
    )
    .expect("login");
    (enrollment, session)
}

fn concurrent_writers(open: &Opener) {
    let store = open();
    let (_, session) = owner_session(&store);
    let owner = session.actor;
    sg_access::add_subaccount(&store, &owner, "qa", "qa").expect("qa");
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let open = open.clone();
            let owner = owner.clone();
            std::thread::spawn(move || {
                let store = open();
                for i in 0..15 {
                    sg_access::record_charge(&store, &owner, "qa", "1", &format!("{t}-{i}"))
                        .expect("charge");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer");
    }
    assert_eq!(
        sg_access::rollup(&store, &owner)
            .expect("rollup")
            .total_minor,
        6 * 15 * 100
    );
    let report = sg_access::verify_chain(&store).expect("verify");
    assert_eq!(report.first_bad, None);
    assert_eq!(report.entries as usize, 4 + 6 * 15);
}

#[test]
fn concurrent_writers_on_both_backends() {
    each_backend(concurrent_writers);
}

fn rotation(open: &KeyedOpener) {
    let old_key = Arc::new(ServerKey::generate());
    let store = open(old_key.clone()).expect("open");
    let (enrollment, session) = owner_session(&store);
    let new_key = Arc::new(ServerKey::generate());
    sg_access::rotate_server_key(&store, &new_key).expect("rotate");
    drop(store);
    // Under the old key the store does not open at all: nothing could be read, and
    // nothing it wrote would verify.
    assert!(matches!(open(old_key), Err(AccessError::Integrity(_))));
    // Under the new key: the session survives, the TOTP secret opens, the chain verifies.
    let store = open(new_key).expect("open under the new key");
    let actor = sg_access::actor_for_token(&store, &session.token).expect("session kept");
    sg_access::whoami(&store, &actor).expect("whoami");
    store.set_time(Some(store.now() + 30));
    sg_access::login(
        &store,
        "owner@acme.test",
        &Credential::Totp(code(&store, &enrollment.otpauth_uri)),
    )
    .expect("the same authenticator still works");
    assert_eq!(
        sg_access::verify_chain(&store).expect("verify").first_bad,
        None
    );
}

#[test]
fn key_rotation_on_both_backends() {
    each_backend_keyed(rotation);
}
