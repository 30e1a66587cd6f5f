//! The secrets-guard scan engine.
//!
//! [`Scanner`] holds a compiled [`sg_rules::RuleSet`] and an Aho-Corasick automaton over
//! every rule keyword. Scanning one input is two stages: one pass of the automaton finds
//! which keywords occur where, then only the rules whose keywords occur run their regex,
//! and only over the lines around each hit. Around it: the parallel working-tree walk
//! ([`walk`]), baselines ([`baseline`]) and the report formats ([`report`]). Everything here
//! is free of CLI concerns; every scan mode of the binary goes through it.

pub mod archive;
pub mod baseline;
pub mod decode;
pub mod discover;
mod error;
mod finding;
pub mod generated;
pub mod lockfile;
mod memo;
mod relocate;
pub mod report;
mod scanner;
pub mod text;
pub mod unread;
pub mod walk;

pub use baseline::{Baseline, BaselineEntry};
pub use error::EngineError;
pub use finding::{fingerprint, AccessInfo, CommitInfo, Finding, ScanStats};
pub use memo::ContentMemo;
pub use report::{redact, ReportFormat, ReportOptions};
pub use scanner::{ScanInput, Scanner, Work};
pub use unread::{SkipKind, Skipped, Unreadable};
pub use walk::{scan_paths, WalkOptions, WalkOutcome};
