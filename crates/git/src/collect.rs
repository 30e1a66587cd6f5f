//! Deduplication of findings across commits and paths: each (rule, path, secret) is
//! reported once, attributed to the earliest commit that introduced it.

use sg_engine::{fingerprint, Finding, Scanner};
use std::collections::HashMap;

/// Findings keyed by (rule, path, secret), each with the order of the commit it came from.
#[derive(Default)]
pub(crate) struct Collected {
    by_key: HashMap<(String, String, String), (u32, Finding)>,
}

impl Collected {
    /// Keeps `finding` unless the same secret at the same path is already known from an
    /// earlier commit (lower `order`). Ties keep the first line, so output is deterministic.
    pub(crate) fn add(&mut self, order: u32, finding: Finding) {
        let key = (
            finding.rule_id.clone(),
            finding.path.clone(),
            finding.secret.clone(),
        );
        match self.by_key.get_mut(&key) {
            Some(existing) => {
                let better = (order, finding.line, finding.column)
                    < (existing.0, existing.1.line, existing.1.column);
                if better {
                    *existing = (order, finding);
                }
            }
            None => {
                self.by_key.insert(key, (order, finding));
            }
        }
    }

    /// The findings in commit order, then path and position.
    pub(crate) fn into_sorted(self) -> Vec<(u32, Finding)> {
        let mut all: Vec<(u32, Finding)> = self.by_key.into_values().collect();
        all.sort_by(|(oa, a), (ob, b)| {
            (oa, &a.path, a.line, a.column, &a.rule_id)
                .cmp(&(ob, &b.path, b.line, b.column, &b.rule_id))
        });
        all
    }
}

/// `finding`, found in a blob scanned under another path, as it applies at `path`; `None`
/// when the rules exclude `path` (a path allowlist, or a rule limited to other paths).
/// This is what lets each distinct blob be scanned once however many paths hold it.
pub(crate) fn relocate(scanner: &Scanner, finding: &Finding, path: &str) -> Option<Finding> {
    if finding.path == path {
        return Some(finding.clone());
    }
    let rules = scanner.rules();
    if rules.is_path_allowed(path) {
        return None;
    }
    if let Some(rule) = rules.get(&finding.rule_id) {
        let excluded = !rule.applies_to_path(Some(path))
            || rule
                .allowlists
                .iter()
                .any(|a| a.is_path_only() && !a.require_all && a.matches_path(path));
        if excluded {
            return None;
        }
    }
    let mut moved = finding.clone();
    moved.path = path.to_owned();
    moved.fingerprint = fingerprint(&moved.rule_id, path, moved.secret.as_bytes());
    Some(moved)
}
