//! The parsing table: each case is a `.env.dev` file loaded through the public API, with
//! the values it must yield (or the error it must give).

use sg_env::{EnvError, LoadOptions, Project};

fn load_with(text: &str, expand: bool) -> Result<Vec<(String, String)>, EnvError> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(".env.dev"), text).expect("write");
    let project = Project::open(dir.path())?;
    let options = LoadOptions {
        expand,
        override_process: true,
    };
    let env = project.load("dev", &options)?;
    Ok(env
        .variables
        .iter()
        .map(|v| (v.key.clone(), v.value.expose().to_owned()))
        .collect())
}

fn value_of(text: &str, key: &str, expand: bool) -> String {
    let vars = load_with(text, expand).unwrap_or_else(|e| panic!("{text:?} failed: {e}"));
    vars.into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("{text:?}: {key} not defined"))
}

#[test]
fn value_table() {
    let cases: &[(&str, &str, &str)] = &[
        ("A=1", "A", "1"),
        ("A = 1", "A", "1"),
        ("  A=1  ", "A", "1"),
        ("A=\"fi ve\"", "A", "fi ve"),
        ("A='fo ur'", "A", "fo ur"),
        ("A=s\\ ix", "A", "s ix"),
        ("A=", "A", ""),
        ("A=     ", "A", ""),
        ("A=   # foo", "A", ""),
        ("A=v #comment", "A", "v"),
        ("A=v\t# tab then comment", "A", "v"),
        ("A=v#not-a-comment", "A", "v#not-a-comment"),
        ("A=\"v # inside quotes\"", "A", "v # inside quotes"),
        ("# a comment\n\n   # indented comment\nA=1", "A", "1"),
        ("export A=1", "A", "1"),
        ("export   A=1", "A", "1"),
        ("export=\"export as key\"", "export", "export as key"),
        ("A=\"line1\\nline2\"", "A", "line1\nline2"),
        (
            "A=\"first\nsecond\nthird\"\nB=2",
            "A",
            "first\nsecond\nthird",
        ),
        ("A=\"first\nsecond\"\nB=2", "B", "2"),
        (
            "A='-----BEGIN KEY-----\nabc\n-----END KEY-----'",
            "A",
            "-----BEGIN KEY-----\nabc\n-----END KEY-----",
        ),
        (
            "A='no \\n escapes or $HOME in single'",
            "A",
            "no \\n escapes or $HOME in single",
        ),
        ("A=\"quote \\\" inside\"", "A", "quote \" inside"),
        ("A=\"back\\\\slash\"", "A", "back\\slash"),
        ("A=\"tab\\there\"", "A", "tab\there"),
        ("A=\"it's\"", "A", "it's"),
        ("A='say \"hi\"'", "A", "say \"hi\""),
        ("A=a\"b c\"'d'", "A", "ab cd"),
        ("A=\"  padded  \"", "A", "  padded  "),
        ("A=\"\"", "A", ""),
        ("A=''", "A", ""),
        ("B=x\nA=${B}", "A", "x"),
        ("A=${B}\nB=x", "A", "x"),
        ("B=x\nA=$B/path", "A", "x/path"),
        ("B=x\nA=\"${B}-${B}\"", "A", "x-x"),
        ("B=x\nA='${B}'", "A", "${B}"),
        ("B=x\nA=\\$B", "A", "$B"),
        ("B=x\nA=\"\\${B}\"", "A", "${B}"),
        ("A=${SG_ENV_TEST_SURELY_UNSET:-fallback}", "A", "fallback"),
        (
            "E=\nA=${E:-empty means default}",
            "A",
            "empty means default",
        ),
        ("B=set\nA=${B:-unused}", "A", "set"),
        ("D=deep\nA=${SG_ENV_TEST_SURELY_UNSET:-${D}}", "A", "deep"),
        ("C=${B}\nB=${A2}\nA2=z\nA=${C}${C}", "A", "zz"),
        ("A=price$", "A", "price$"),
        ("A=5$ # off", "A", "5$"),
        ("A=1\r\nB=2\r\n", "B", "2"),
        ("A=1\r\nB=2\r\n", "A", "1"),
        ("A=\"multi\r\nline\"\r\n", "A", "multi\nline"),
        ("\u{feff}A=bom", "A", "bom"),
        ("A=1\nA=2", "A", "2"),
        ("A=ünïcödé", "A", "ünïcödé"),
        // Only a space or a tab ends an unquoted value, as in dotenvy.
        ("A=a\u{a0}b", "A", "a\u{a0}b"),
    ];
    for (text, key, expected) in cases {
        assert_eq!(&value_of(text, key, true), expected, "case {text:?}");
    }
}

#[test]
fn no_expand_keeps_every_dollar() {
    let text = "B=x\nA=pa$$word${B}$B\nQ=\"${UNDEFINED_AT_ALL\"";
    assert_eq!(value_of(text, "A", false), "pa$$word${B}$B");
    assert_eq!(value_of(text, "Q", false), "${UNDEFINED_AT_ALL");
}

fn error_of(text: &str) -> EnvError {
    match load_with(text, true) {
        Ok(vars) => panic!("{text:?} should fail, gave {} variables", vars.len()),
        Err(e) => e,
    }
}

#[test]
fn error_table() {
    // (text, expected fragment, line, column)
    let cases: &[(&str, &str, usize, usize)] = &[
        ("A=\"sekretvalue", "unterminated double quote", 1, 3),
        ("B=1\nA='sekretvalue", "unterminated single quote", 2, 3),
        ("A=sekret value", "unexpected text after the value", 1, 10),
        ("A=\"sekret\\qvalue\"", "invalid escape", 1, 10),
        ("A=${B", "unterminated `${`", 1, 3),
        ("A=${}", "must be followed by a variable name", 1, 3),
        ("A=${B-x}", "unsupported expansion", 1, 3),
        ("\n\nA 1", "expected `=` after `A`", 3, 3),
        // Repro: a key pasted onto its own line was printed in full.
        (
            "\nsk_live_sekretvalue0123456789abcd\n",
            "expected `=` after `sk_l…`",
            2,
            34,
        ),
    ];
    for (text, fragment, line, column) in cases {
        let err = error_of(text);
        let shown = err.to_string();
        assert!(shown.contains(fragment), "{text:?}: {shown}");
        if text.contains("A=") {
            assert!(
                shown.contains("in `A`:"),
                "{text:?}: names the key: {shown}"
            );
        }
        assert!(
            !shown.contains("sekret"),
            "{text:?} leaked the value: {shown}"
        );
        match err {
            EnvError::Syntax {
                line: l, column: c, ..
            } => {
                assert_eq!((l, c), (*line, *column), "{text:?}: {shown}")
            }
            other => panic!("{text:?}: expected a syntax error, got {other:?}"),
        }
    }
}

#[test]
fn invalid_key_names_are_errors_with_position() {
    for (text, key, line, column) in [
        ("1A=x", "1A", 1, 1),
        ("OK=1\n  MY-KEY=x", "MY-KEY", 2, 3),
        ("A.B=x", "A.B", 1, 1),
        ("export 9=x", "9", 1, 8),
        // Repro: a token used as a key name was printed in the error.
        ("ghp-Ab3De6Gh9Jk2Mn5Pq8St=x", "ghp-…", 1, 1),
    ] {
        match error_of(text) {
            EnvError::InvalidKey {
                key: k,
                line: l,
                column: c,
                ..
            } => assert_eq!((k.as_str(), l, c), (key, line, column), "{text:?}"),
            other => panic!("{text:?}: {other}"),
        }
    }
}

#[test]
fn undefined_references_and_cycles_name_the_reference() {
    match error_of("A=1\nB=\"x${SG_ENV_TEST_SURELY_UNSET}\"") {
        EnvError::UndefinedReference {
            name, line, column, ..
        } => assert_eq!(
            (name.as_str(), line, column),
            ("SG_ENV_TEST_SURELY_UNSET", 2, 5)
        ),
        other => panic!("{other}"),
    }
    let err = error_of("A=${B}\nB=x${C}\nC=${A}");
    let shown = err.to_string();
    assert!(matches!(err, EnvError::Cycle { .. }), "{shown}");
    assert!(shown.contains("A -> B -> C -> A"), "{shown}");
    assert!(shown.contains(".env.dev:3:3"), "{shown}");
    // `${A}` in A's own (first) definition is the process's A, here undefined.
    assert!(matches!(
        error_of("SG_ENV_TEST_SELF_UNSET=${SG_ENV_TEST_SELF_UNSET}"),
        EnvError::UndefinedReference { .. }
    ));
    assert!(matches!(
        error_of("A=1\nA=${B}\nB=${A}"),
        EnvError::Cycle { .. }
    ));
}

#[test]
fn a_self_reference_means_the_earlier_definition() {
    // Repro: `PATH=${PATH}:/opt/bin` was an "expansion cycle".
    let path = std::env::var("PATH").expect("PATH is set");
    assert_eq!(
        value_of("PATH=${PATH}:/opt/bin\n", "PATH", true),
        format!("{path}:/opt/bin")
    );
    // An earlier line of the same file, then an earlier file.
    assert_eq!(value_of("A=x\nA=${A}:y\nA=$A:z\n", "A", true), "x:y:z");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(".env"), "FLAGS=base\n").expect("write");
    std::fs::write(
        dir.path().join(".env.dev"),
        "FLAGS=\"${FLAGS} dev\"\nOTHER=${FLAGS}\n",
    )
    .expect("write");
    let env = Project::open(dir.path())
        .and_then(|p| p.load("dev", &LoadOptions::files_only()))
        .expect("loads");
    assert_eq!(env.get("FLAGS").map(|v| v.expose()), Some("base dev"));
    assert_eq!(env.get("OTHER").map(|v| v.expose()), Some("base dev"));
}

#[test]
fn a_bare_cr_ends_a_line() {
    // Repro: bare-CR line endings were read as one value.
    let vars = load_with("A=1\rB=2\rC=\"x\"\r", true).expect("loads");
    let keys: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["A", "B", "C"]);
    assert_eq!(vars[0].1, "1");
    assert_eq!(vars[2].1, "x");
}

#[test]
fn duplicate_keys_warn_naming_both_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(".env.dev"), "A=1\nB=2\nA=3\n").expect("write");
    let env = Project::open(dir.path())
        .and_then(|p| p.load("dev", &LoadOptions::files_only()))
        .expect("loads");
    assert_eq!(env.get("A").map(|v| v.expose()), Some("3"));
    assert_eq!(env.warnings.len(), 1);
    let w = env.warnings[0].to_string();
    assert!(w.contains("lines 1 and 3"), "{w}");
    assert!(w.starts_with(".env.dev:3:"), "{w}");
}

#[test]
fn precedence_is_env_then_name_then_local() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write =
        |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
    write(".env", "A=base\nB=base\nC=base\nHOST=h\n");
    write(".env.qa", "B=qa\nC=qa\nURL=http://${HOST}:${PORT}\n");
    write(".env.qa.local", "C=local\nPORT=81\n");
    let env = Project::open(dir.path())
        .and_then(|p| p.load("qa", &LoadOptions::files_only()))
        .expect("loads");
    let get = |k: &str| env.get(k).map(|v| v.expose().to_owned());
    assert_eq!(get("A").as_deref(), Some("base"));
    assert_eq!(get("B").as_deref(), Some("qa"));
    assert_eq!(get("C").as_deref(), Some("local"));
    // A reference sees the merged environment, the .local file included.
    assert_eq!(get("URL").as_deref(), Some("http://h:81"));
    assert_eq!(
        env.variable("C").map(|v| (v.file.as_str(), v.line)),
        Some((".env.qa.local", 1))
    );
}

#[test]
fn bad_files_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = Project::open(dir.path()).expect("opens");
    // A named environment whose own file is missing is an error, not an empty environment.
    let err = project
        .load("qa", &LoadOptions::default())
        .expect_err("missing");
    assert!(matches!(err, EnvError::MissingFile { .. }), "{err}");
    assert!(err.to_string().contains(".env.qa"), "{err}");

    // An unreadable file (a directory stands in for one: tests may run as root).
    std::fs::create_dir(dir.path().join(".env.dev")).expect("mkdir");
    let err = project
        .load("dev", &LoadOptions::default())
        .expect_err("unreadable");
    assert!(matches!(err, EnvError::Read { .. }), "{err}");

    std::fs::write(dir.path().join(".env.prod"), b"A=\xff\xfe\n").expect("write");
    let err = project
        .load("prod", &LoadOptions::default())
        .expect_err("not utf-8");
    assert!(matches!(err, EnvError::NotUtf8 { line: 1, .. }), "{err}");
}

#[cfg(unix)]
#[test]
fn symlinks_outside_the_project_are_refused() {
    let outside = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("credentials"), "AWS=1\n").expect("write");
    std::os::unix::fs::symlink(outside.path().join("credentials"), dir.path().join(".env"))
        .expect("symlink");
    std::fs::write(dir.path().join("real.env"), "B=2\n").expect("write");
    std::os::unix::fs::symlink("real.env", dir.path().join(".env.dev")).expect("symlink");
    let project = Project::open(dir.path()).expect("opens");
    let err = project
        .load("dev", &LoadOptions::default())
        .expect_err("outside");
    assert!(matches!(err, EnvError::SymlinkOutside { .. }), "{err}");
    std::fs::remove_file(dir.path().join(".env")).expect("rm");
    // A symlink that stays inside the project is fine.
    let env = project
        .load("dev", &LoadOptions::files_only())
        .expect("inside");
    assert_eq!(env.get("B").map(|v| v.expose()), Some("2"));
}
