//! What a scan pays before it reads a byte: loading the default rules, building the
//! scanner (keyword automaton), and the automaton kinds it could use. A profiling aid for
//! short scans such as a pre-commit hook on one file.
//!
//! `cargo run --release -p sg-engine --example startup_cost [ROUNDS]`

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use sg_engine::{ScanInput, Scanner};
use sg_rules::RuleSet;
use std::time::{Duration, Instant};

fn time<T>(rounds: u32, mut f: impl FnMut() -> T) -> Duration {
    let started = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(f());
    }
    started.elapsed() / rounds
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: u32 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20);
    let load = time(rounds, || RuleSet::default_rules().map(|r| r.rules.len()));
    let rules = RuleSet::default_rules()?;
    let build = time(rounds, || Scanner::new(rules.clone()));
    let scanner = Scanner::new(rules.clone());
    let keywords: Vec<String> = scanner.keywords().iter().map(|k| k.to_string()).collect();
    println!(
        "{} rules, {} keywords; load {load:?}, Scanner::new {build:?}",
        rules.rules.len(),
        keywords.len()
    );
    for kind in [
        AhoCorasickKind::NoncontiguousNFA,
        AhoCorasickKind::ContiguousNFA,
        AhoCorasickKind::DFA,
    ] {
        let build = time(rounds, || {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .kind(Some(kind))
                .build(&keywords)
                .map(|ac| ac.memory_usage())
        });
        println!("  automaton {kind:?}: build {build:?}");
    }
    let small = b"hello = \"world\"\nfn main() { let token = read_token(); }\n";
    let first = time(1, || {
        scanner.scan(ScanInput {
            path: "a.rs",
            bytes: small,
            commit: None,
        })
    });
    println!("first scan of a small input (lazy regex compile included): {first:?}");
    Ok(())
}
