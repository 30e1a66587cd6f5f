//! A memo shared across the inputs of a scan changes what is computed, never what is found:
//! hundreds of versions of files built from the default rules' own examples and negatives,
//! under paths whose rules differ (lockfiles, generated bundles, path-restricted rules),
//! each give the same findings with the memo as without it.

use sg_engine::{ContentMemo, Finding, ScanInput, Scanner};
use sg_rules::RuleSet;

/// A small deterministic generator (xorshift), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

fn summary(found: &[Finding]) -> Vec<String> {
    found
        .iter()
        .map(|f| {
            format!(
                "{} {}:{}-{}:{} {} {:?}",
                f.rule_id, f.line, f.column, f.end_line, f.end_column, f.secret, f.decoded
            )
        })
        .collect()
}

#[test]
fn versions_of_files_give_the_same_findings_with_and_without_the_memo() {
    let rules = RuleSet::default_rules().expect("default rules");
    let mut lines: Vec<String> = Vec::new();
    for rule in &rules.rules {
        lines.extend(rule.examples.iter().map(|e| e.text.clone()));
        lines.extend(rule.negatives.iter().map(|n| n.text().to_owned()));
    }
    // Secrets wrapped in base64, so decoded findings are compared too.
    let encoded: Vec<String> = lines
        .iter()
        .step_by(17)
        .take(40)
        .map(|text| {
            format!(
                "  data: {}",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, text)
            )
        })
        .collect();
    lines.extend(encoded);
    let filler = [
        "fn main() { let path = std::env::args().nth(1); }",
        "    // the token is read from the environment, never stored",
        "let key = cache.get(&account).copied();",
        "[dependencies]",
        "password = \"${DB_PASSWORD}\"",
        "",
    ];
    let scanner = Scanner::new(rules);
    let memo = ContentMemo::new();
    let paths = [
        "src/config.rs",
        "deploy/values.yaml",
        "Cargo.lock",
        "dist/app.min.js",
        "docs/setup.md",
        ".env.example",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut version: Vec<String> = (0..120)
        .map(|_| lines[rng.below(lines.len())].clone())
        .collect();
    let mut compared = 0;
    let mut with_findings = 0;
    let mut with_decoded = 0;
    for round in 0..300 {
        // Each round edits a few lines, as a commit would: replace, insert, delete.
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(version.len());
            match rng.below(4) {
                0 => version[at] = lines[rng.below(lines.len())].clone(),
                1 => version.insert(at, filler[rng.below(filler.len())].to_owned()),
                2 if version.len() > 20 => {
                    version.remove(at);
                }
                _ => version.insert(at, lines[rng.below(lines.len())].clone()),
            }
        }
        let text = version.join("\n");
        let path = paths[round % paths.len()];
        let input = ScanInput {
            path,
            bytes: text.as_bytes(),
            commit: Some("0123456789abcdef0123456789abcdef01234567"),
        };
        let found = scanner.scan(input);
        if found.iter().any(|f| !f.decoded.is_empty()) {
            with_decoded += 1;
        }
        let plain = summary(&found);
        let memoized = summary(&scanner.scan_with(input, Some(&memo)));
        assert_eq!(memoized, plain, "round {round}, path {path}");
        compared += 1;
        if !plain.is_empty() {
            with_findings += 1;
        }
    }
    assert_eq!(compared, 300);
    // The comparison means something only if the versions hold secrets.
    assert!(with_findings > 250, "{with_findings} versions had findings");
    assert!(
        with_decoded > 100,
        "{with_decoded} versions had decoded findings"
    );
}
