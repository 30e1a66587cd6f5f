//! A single huge keyword-dense line costs no more work than the same bytes split into
//! lines (issue 12: 2.7 MB of one-line JSON took 121 s, quadratic in the line length).
//! Work is counted, not timed: regex runs, bytes handed to regexes, and bytes searched for
//! line boundaries, allow markers and columns.

use sg_engine::{ScanInput, Scanner, Work};
use sg_rules::RuleSet;

/// One record of a JSON export dense with the keywords the default rules look for.
fn record(i: usize) -> String {
    let v = |salt: usize| {
        let mut state = ((i * 31 + salt) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..24)
            .map(|_| {
                state ^= state >> 29;
                state = state.wrapping_mul(0xBF58_476D_1CE4_E5B9);
                b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"[(state % 57) as usize]
                    as char
            })
            .collect::<String>()
    };
    format!(
        "{{\"id\":{i},\"token\":\"{}\",\"password\":\"{}\",\"api_key\":\"{}\",\"secret\":\"{}\",\"url\":\"https://user:{}@db.example.com/x\",\"auth\":\"Bearer {}\"}},",
        v(1),
        v(2),
        v(3),
        v(4),
        v(5),
        v(6)
    )
}

fn scan_work(scanner: &Scanner, text: &str) -> (Work, usize) {
    let before = scanner.work();
    let found = scanner.scan(ScanInput {
        path: "export.json",
        bytes: text.as_bytes(),
        commit: None,
    });
    let after = scanner.work();
    let work = Work {
        regex_runs: after.regex_runs - before.regex_runs,
        regex_bytes: after.regex_bytes - before.regex_bytes,
        line_bytes: after.line_bytes - before.line_bytes,
    };
    (work, found.len())
}

#[test]
fn a_one_line_export_costs_at_most_a_few_times_the_same_bytes_in_lines() {
    let records: Vec<String> = (0..4000).map(record).collect();
    let one_line = records.concat();
    let many_lines = records.join("\n");
    assert!(one_line.len() > 1_000_000);
    let scanner = Scanner::new(RuleSet::default_rules().expect("default rules"));
    let (split, split_found) = scan_work(&scanner, &many_lines);
    let (single, single_found) = scan_work(&scanner, &one_line);
    eprintln!("split: {split:?} ({split_found} findings); single line: {single:?} ({single_found} findings)");
    assert!(
        split_found > 1000,
        "the records hold secrets the rules find"
    );
    // The same secrets are found either way (give or take the odd rule reaching across
    // a record boundary).
    assert!(
        single_found * 10 >= split_found * 9,
        "{single_found} vs {split_found}"
    );
    let total = |w: Work| w.regex_bytes + w.line_bytes;
    assert!(
        total(single) <= 3 * total(split),
        "one line: {} bytes examined, split: {}",
        total(single),
        total(split)
    );
    // And bounded in absolute terms: a constant number of passes over the input per rule
    // that fires, not one per keyword hit.
    assert!(
        total(single) <= 200 * one_line.len() as u64,
        "{} bytes examined for {} bytes",
        total(single),
        one_line.len()
    );
}
