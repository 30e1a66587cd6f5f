//! The parser agrees with dotenvy: on generated files (and a fixed corpus) that stay inside
//! the grammar both accept, the keys and values are the same. Excluded on purpose: `$`
//! (dotenvy expands it itself), keys with `.` (refused here), and CRLF inside quotes
//! (normalized here). A BOM is skipped as dotenvy's `load` does (its iterator does not).

use proptest::prelude::*;
use sg_env::{LoadOptions, Project};
use std::collections::BTreeMap;

fn ours(text: &str) -> Result<BTreeMap<String, String>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::write(dir.path().join(".env.dev"), text).map_err(|e| e.to_string())?;
    let env = Project::open(dir.path())
        .and_then(|p| p.load("dev", &LoadOptions::files_only()))
        .map_err(|e| e.to_string())?;
    Ok(env
        .variables
        .iter()
        .map(|v| (v.key.clone(), v.value.expose().to_owned()))
        .collect())
}

fn dotenvy(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        let (k, v) = item.map_err(|e| e.to_string())?;
        map.insert(k, v);
    }
    Ok(map)
}

#[test]
fn fixed_corpus_matches_dotenvy() {
    let corpus = [
        "A=1\nB=2\n",
        "export A=1\n  export   B = \"two words\"\n",
        "A='single # not a comment'\nB=\"double # not either\"\n",
        "A=value # a comment\nB=value#not-a-comment\n",
        "A=\"multi\nline\nvalue\"\nB=after\n",
        "A='multi\nline'\n",
        "A=\"esc \\\" \\\\ \\n end\"\n",
        "A=s\\ ix\n",
        "A=\nB=   \nC=  # only a comment\n",
        "# comment\n\n   # indented\nA=1\n",
        "A=ab\"c d\"'e f'g\n",
        "A=1\r\nB=2\r\n",
        "export=\"export as key\"\n",
        "A=1\nA=2\n",
    ];
    for text in corpus {
        assert_eq!(ours(text), dotenvy(text), "{text:?}");
    }
}

fn key() -> impl Strategy<Value = String> {
    "[A-Z_][A-Z0-9_]{0,6}"
}

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_./:@+,-]{1,8}",
        "[A-Za-z0-9 _#\"\n]{0,8}".prop_map(|s| format!("'{s}'")),
        proptest::collection::vec(
            prop_oneof![
                "[A-Za-z0-9 _#'\n]".prop_map(|s| s.to_string()),
                Just("\\\"".to_owned()),
                Just("\\\\".to_owned()),
                Just("\\n".to_owned()),
            ],
            0..8
        )
        .prop_map(|parts| format!("\"{}\"", parts.concat())),
    ]
}

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        1 => "[a-z #=]{0,10}".prop_map(|s| format!("# {s}")),
        6 => (
            any::<bool>(),
            key(),
            "[ \t]{0,2}",
            "[ \t]{0,2}",
            proptest::collection::vec(piece(), 0..3),
            prop_oneof![Just(String::new()), "[a-z ]{0,6}".prop_map(|c| format!(" # {c}"))],
        )
            .prop_map(|(export, key, before, after, pieces, comment)| {
                let value = pieces.concat();
                // `KEY= # c` is an empty value in both; keep the comment only after a value.
                let comment = if value.is_empty() { String::new() } else { comment };
                format!(
                    "{}{key}{before}={after}{value}{comment}",
                    if export { "export " } else { "" }
                )
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn generated_files_match_dotenvy(lines in proptest::collection::vec(line(), 1..8)) {
        let text = format!("{}\n", lines.join("\n"));
        prop_assert_eq!(ours(&text), dotenvy(&text), "{:?}", text);
    }
}
