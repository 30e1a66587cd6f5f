//! Never a value in an error: for every way a file can fail to load, the message (and the
//! error's `Debug`) built from a file holding a known secret shows at most its first four
//! characters.

use sg_env::{LoadOptions, Project};

const SECRET: &str = "Xq7Lp2Vz9Rt4Wm8Kc3";

/// Every window of five characters of `secret`: an error may show four.
fn leaks(shown: &str, secret: &str) -> Option<String> {
    let chars: Vec<char> = secret.chars().collect();
    chars
        .windows(5)
        .map(|w| w.iter().collect::<String>())
        .find(|w| shown.contains(w.as_str()))
}

fn error_for(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(".env.dev"), bytes).expect("write");
    let result = Project::open(dir.path()).and_then(|p| p.load("dev", &LoadOptions::files_only()));
    match result {
        Ok(env) => panic!(
            "{:?} should fail, loaded {} variables",
            String::from_utf8_lossy(bytes),
            env.variables.len()
        ),
        Err(e) => format!("{e}\n{e:?}"),
    }
}

#[test]
fn no_error_path_shows_the_secret() {
    let s = SECRET;
    let cases: Vec<(&str, String)> = vec![
        ("unterminated double quote", format!("A=\"{s}")),
        ("unterminated single quote", format!("A='{s}")),
        ("text after the value", format!("A={s} {s}")),
        ("invalid escape", format!("A=\"{s}\\q{s}\"")),
        ("unterminated ${", format!("A={s}${{B")),
        ("empty ${}", format!("A={s}${{}}{s}")),
        ("unsupported expansion", format!("A={s}${{B-{s}}}")),
        ("unterminated default", format!("A=${{B:-{s}")),
        ("stray line", format!("OK=1\n{s}\n")),
        ("stray line with a prefix", format!("sk_live_{s}\n")),
        ("token as a key name", format!("{s}-{s}=1\n")),
        ("token starting with a digit", format!("9{s}=1\n")),
        ("no key", format!("={s}\n")),
        ("bare $ inside a password", format!("P=Tr0ub4dor${s}\n")),
        (
            "braced reference inside a password",
            format!("P=\"ab${{{s}}}\"\n"),
        ),
        ("cycle", format!("A={s}${{B}}\nB={s}${{A}}\n")),
    ];
    for (what, text) in &cases {
        let shown = error_for(text.as_bytes());
        assert!(leaks(&shown, s).is_none(), "{what}: {shown}");
        assert!(
            shown.contains(".env.dev"),
            "{what}: the file is named: {shown}"
        );
    }
    // Not UTF-8 after the secret.
    let mut bytes = format!("A={s}").into_bytes();
    bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
    let shown = error_for(&bytes);
    assert!(leaks(&shown, s).is_none(), "{shown}");
}

#[test]
fn a_password_with_a_dollar_names_the_key_not_the_password() {
    // Repro: `Tr0ub4dor$Horse3Battery` gave "undefined `${Horse3Battery}`".
    let shown = error_for(b"DB_PASSWORD=Tr0ub4dor$Horse3Battery\n");
    assert!(!shown.contains("Horse3Battery"), "{shown}");
    assert!(shown.contains("DB_PASSWORD"), "{shown}");
    assert!(shown.contains(".env.dev:1:22"), "{shown}");
    // A real variable name is still shown, to find the typo.
    let shown = error_for(b"URL=${SG_ENV_TEST_SURELY_UNSET_NAME}/x\n");
    assert!(shown.contains("SG_ENV_TEST_SURELY_UNSET_NAME"), "{shown}");
}
