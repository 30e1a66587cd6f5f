//! The secrets-guard scan engine.
//!
//! [`Scanner`] holds a compiled [`sg_rules::RuleSet`] and an Aho-Corasick automaton over
//! every rule keyword. Scanning one input is two stages: one pass of the automaton finds
//! which keywords occur where, then only the rules whose keywords occur run their regex,
//! and only over the lines around each hit. Everything here is free of CLI concerns:
//! the working-tree walk, baselines and report formats are library code the binary calls.

mod finding;
mod scanner;

pub use finding::{fingerprint, AccessInfo, CommitInfo, Finding, ScanStats};
pub use scanner::{ScanInput, Scanner};
