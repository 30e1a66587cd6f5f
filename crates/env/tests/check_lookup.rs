//! The access-store hook: any `KeyStatusLookup` makes the checks flag revoked and expired
//! secrets-guard keys, wherever they sit in a value.

use sg_env::{check, guard, FindingKind, KeyStatus, KeyStatusLookup, LoadOptions, Project};
use std::collections::HashMap;

struct FakeStore(HashMap<String, KeyStatus>);

impl KeyStatusLookup for FakeStore {
    fn status(&self, key: &str) -> Option<KeyStatus> {
        self.0.get(key).copied()
    }
}

fn key(env: &str) -> String {
    sg_keyformat::ApiKey::generate(env)
        .expect("valid environment")
        .expose()
        .to_owned()
}

#[test]
fn revoked_and_expired_keys_are_findings_and_live_ones_are_not() {
    let (live, revoked, expired) = (key("qa"), key("qa"), key("qa"));
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join(".env.qa"),
        format!(
            "LIVE={live}\n\nREVOKED={revoked}\nIN_URL=https://api.example.com/?key={expired}\n"
        ),
    )
    .expect("write");
    let store = FakeStore(HashMap::from([
        (live.clone(), KeyStatus::Live),
        (revoked.clone(), KeyStatus::Revoked),
        (expired.clone(), KeyStatus::Expired),
    ]));
    let project = Project::open(dir.path()).expect("opens");
    let envs = project.load_all(&LoadOptions::files_only()).expect("loads");
    let scanner = sg_engine::Scanner::new(project.rules().expect("rules"));

    let findings = check(&project, &envs, &scanner, None, Some(&store)).expect("checks");
    let got: Vec<(FindingKind, Option<usize>, Option<&str>)> = findings
        .iter()
        .map(|f| (f.kind, f.line, f.key.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (FindingKind::RevokedKey, Some(3), Some("REVOKED")),
            (FindingKind::ExpiredKey, Some(4), Some("IN_URL")),
        ]
    );
    for f in &findings {
        assert!(
            !f.message.contains(&revoked) && !f.message.contains(&expired),
            "{f}"
        );
    }
    // Without a store the keys are fine: they are qa keys in qa.
    assert!(check(&project, &envs, &scanner, None, None)
        .expect("checks")
        .is_empty());
    // `env run`'s guard refuses on the same grounds.
    assert_eq!(guard(&envs[0], &scanner, Some(&store)).len(), 2);
    assert!(guard(&envs[0], &scanner, None).is_empty());
}

#[test]
fn personal_local_keys_need_no_parity_and_long_names_match_short_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write =
        |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
    write(
        ".secrets-guard.toml",
        "[env]\nnames = [\"development\", \"production\"]\nprotected = [\"production\"]\n",
    );
    write(
        ".env.development",
        &format!("SG_KEY={}\nSHARED=1\n", key("dev")),
    );
    write(".env.development.local", "MY_DEBUG_FLAG=1\nSHARED=2\n");
    write(
        ".env.production",
        &format!("SG_KEY={}\nSHARED=1\n", key("prod")),
    );
    let project = Project::open(dir.path()).expect("opens");
    let envs = project.load_all(&LoadOptions::files_only()).expect("loads");
    let scanner = sg_engine::Scanner::new(project.rules().expect("rules"));
    let findings = check(&project, &envs, &scanner, None, None).expect("checks");
    assert!(findings.is_empty(), "{findings:#?}");

    // Once the key moves into the shared file of development, production lacks it.
    write(
        ".env.development",
        &format!("SG_KEY={}\nSHARED=1\nMY_DEBUG_FLAG=0\n", key("dev")),
    );
    let envs = project.load_all(&LoadOptions::files_only()).expect("loads");
    let findings = check(&project, &envs, &scanner, None, None).expect("checks");
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].kind, FindingKind::MissingKey);
    assert_eq!(findings[0].environment, "production");
    assert_eq!(findings[0].key.as_deref(), Some("MY_DEBUG_FLAG"));
    assert_eq!(findings[0].file, ".env.production");
}
