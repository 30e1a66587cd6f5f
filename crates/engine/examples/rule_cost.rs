//! Where the scan time goes, rule by rule: scans a tree once per rule with a scanner that
//! holds only that rule (prefilter and windows included), and separately times each rule's
//! regex over whole files (its raw speed). Prints the slowest rules. A profiling aid for
//! the hot path.
//!
//! `cargo run --release -p sg-engine --example rule_cost -- DIR [TOP]`

use sg_engine::{ScanInput, Scanner};
use sg_rules::RuleSet;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: rule_cost DIR [TOP]")?;
    let top: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(25);
    let mut files = Vec::new();
    for entry in ignore::WalkBuilder::new(&dir).hidden(false).build() {
        let entry = entry?;
        if entry.file_type().is_some_and(|t| t.is_file()) {
            let path = entry.path().to_string_lossy().into_owned();
            files.push((path, std::fs::read(entry.path())?));
        }
    }
    let all = RuleSet::default_rules()?;
    let never = regex::bytes::Regex::new("\\x00never\\x00")?;
    let mut costs = Vec::new();
    for rule in &all.rules {
        let set = RuleSet {
            rules: vec![rule.clone()],
            global_allowlists: all.global_allowlists.clone(),
        };
        let scanner = Scanner::new(set);
        let started = Instant::now();
        let mut found = 0;
        for (path, bytes) in &files {
            found += scanner
                .scan(ScanInput {
                    path,
                    bytes,
                    commit: None,
                })
                .len();
        }
        let scan_time = started.elapsed();
        // The same scan with a regex that never matches: what the prefilter alone costs.
        let mut inert = rule.clone();
        inert.regex = Some(never.clone().into());
        let baseline = Scanner::new(RuleSet {
            rules: vec![inert],
            global_allowlists: Vec::new(),
        });
        let started = Instant::now();
        for (path, bytes) in &files {
            baseline.scan(ScanInput {
                path,
                bytes,
                commit: None,
            });
        }
        let scan_time = scan_time.saturating_sub(started.elapsed());
        let started = Instant::now();
        for (path, bytes) in &files {
            found += rule.find_matches(bytes, Some(path), None).len();
        }
        let raw = started.elapsed();
        costs.push((
            scan_time,
            raw,
            rule.id.clone(),
            found,
            rule.keywords.join(","),
        ));
    }
    costs.sort_by_key(|c| std::cmp::Reverse(c.0));
    let total: f64 = costs.iter().map(|c| c.0.as_secs_f64()).sum();
    let bytes: usize = files.iter().map(|f| f.1.len()).sum();
    println!(
        "total {total:.2}s over {} rules, {bytes} bytes",
        costs.len()
    );
    println!("  regex-in-scan(s)  regex MB/s  found  rule  [keywords]");
    for (t, raw, id, found, kw) in costs.iter().take(top) {
        let speed = bytes as f64 / 1e6 / raw.as_secs_f64().max(1e-9);
        println!(
            "{:8.3}s {speed:10.0} {found:6} {id}  [{kw}]",
            t.as_secs_f64()
        );
    }
    Ok(())
}
