//! Deduplication of findings across commits and paths: each (rule, path, secret) is
//! reported once, attributed to the earliest commit that introduced it.

use sg_engine::Finding;
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
