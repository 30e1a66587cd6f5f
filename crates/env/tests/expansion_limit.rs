//! Expansion cannot be made to build huge values: a value referencing the one before it
//! several times doubles line after line (found by the env_parser fuzz target, which ran
//! out of 2 GiB on a 997-byte file). Past 1 MiB the load fails naming the line.

use sg_env::{EnvError, LoadOptions, Project};

fn load(bytes: &[u8], base: &str) -> Result<usize, EnvError> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(".env"), base).expect("write");
    std::fs::write(dir.path().join(".env.dev"), bytes).expect("write");
    let project = Project::open(dir.path())?;
    let env = project.load(
        "dev",
        &LoadOptions {
            expand: true,
            override_process: true,
        },
    )?;
    Ok(env.variables.len())
}

#[test]
fn a_value_doubled_line_after_line_is_refused_at_the_line_that_passes_the_limit() {
    let mut text = String::from("P=0123456789abcdef\n");
    for _ in 0..40 {
        text.push_str("P=${P}${P}\n");
    }
    let err = load(text.as_bytes(), "").expect_err("too large");
    assert!(matches!(err, EnvError::ExpansionTooLarge { .. }), "{err}");
    // 16 bytes doubled 16 times is 1 MiB; the 17th doubling (line 18) passes it.
    let EnvError::ExpansionTooLarge {
        line, key, limit, ..
    } = &err
    else {
        unreachable!()
    };
    assert_eq!((*line, key.as_str(), *limit), (18, "P", 1 << 20), "{err}");
    assert!(
        err.to_string().contains("longer than 1048576 bytes"),
        "{err}"
    );

    // Up to the limit it still expands.
    let mut text = String::from("P=0123456789abcdef\n");
    for _ in 0..16 {
        text.push_str("P=${P}${P}\n");
    }
    assert_eq!(load(text.as_bytes(), "").expect("within the limit"), 1);
}

#[test]
fn the_fuzz_input_that_ran_out_of_memory_now_fails_quickly() {
    let bytes = include_bytes!("data/fuzz-oom-doubling.env");
    // The fuzz target's fixed base file.
    let started = std::time::Instant::now();
    let result = load(bytes, "BASE=1\nexport SHARED='two words'\n");
    assert!(
        matches!(result, Err(EnvError::ExpansionTooLarge { .. })),
        "{result:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

/// Expansion and the parser recurse; hostile nesting must fail with an error naming the
/// line, never overflow the stack (which aborts the process: no error, no exit code).
#[test]
fn a_long_chain_of_references_is_refused_not_a_stack_overflow() {
    let mut text = String::new();
    for i in 0..100_000 {
        text.push_str(&format!("K{i}=${{K{}}}\n", i + 1));
    }
    text.push_str("K100000=end\n");
    let err = load(text.as_bytes(), "").expect_err("too deep");
    let EnvError::ExpansionTooDeep { limit, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(*limit, 256, "{err}");

    // A chain within the limit still expands, through every link.
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&format!("K{i}=${{K{}}}\n", i + 1));
    }
    text.push_str("K200=end\n");
    assert_eq!(load(text.as_bytes(), "").expect("within the limit"), 201);
}

#[test]
fn the_same_key_redefined_from_itself_many_times_is_refused_not_a_stack_overflow() {
    let mut text = String::from("P=a\n");
    for _ in 0..200_000 {
        text.push_str("P=${P}x\n");
    }
    let err = load(text.as_bytes(), "").expect_err("too deep");
    assert!(matches!(err, EnvError::ExpansionTooDeep { .. }), "{err}");
}

#[test]
fn deeply_nested_defaults_are_a_syntax_error_not_a_stack_overflow() {
    let depth = 200_000;
    let text = format!("A={}x{}\n", "${A:-".repeat(depth), "}".repeat(depth));
    let err = load(text.as_bytes(), "").expect_err("too deep");
    assert!(matches!(err, EnvError::Syntax { line: 1, .. }), "{err}");
    assert!(
        err.to_string().contains("nested more than 32 deep"),
        "{err}"
    );

    // Two levels, as real files use, still work.
    let text = "B=\nA=${B:-${C:-fallback}}\n";
    assert_eq!(load(text.as_bytes(), "").expect("two levels"), 2);
}
