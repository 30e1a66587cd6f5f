//! Baselines: the findings a team has accepted, so later scans report only new ones.
//!
//! An entry holds the finding's fingerprint (rule id, path and a hash of the secret), the
//! rule id and the path: never the secret and never a line number, so moving lines does not
//! churn the file while a different secret on the same line is a new finding. Entries are
//! sorted and the file has no timestamps, so two branches' baselines merge cleanly.

use crate::error::EngineError;
use crate::finding::Finding;
use crate::report::write_atomically;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

/// The format version written in every baseline file.
pub const BASELINE_VERSION: u32 = 1;

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    pub fingerprint: String,
    pub rule_id: String,
    pub path: String,
}

/// A set of accepted findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    entries: BTreeSet<BaselineEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    version: u32,
    findings: Vec<BaselineEntry>,
}

impl Baseline {
    /// The baseline that accepts exactly these findings.
    pub fn from_findings(findings: &[Finding]) -> Baseline {
        Baseline {
            entries: findings
                .iter()
                .map(|f| BaselineEntry {
                    fingerprint: f.fingerprint.clone(),
                    rule_id: f.rule_id.clone(),
                    path: f.path.clone(),
                })
                .collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> impl Iterator<Item = &BaselineEntry> {
        self.entries.iter()
    }

    /// Whether the baseline accepts `finding`.
    pub fn contains(&self, finding: &Finding) -> bool {
        // Entries sort by fingerprint first, so the lookup is a range scan of one key.
        let probe = BaselineEntry {
            fingerprint: finding.fingerprint.clone(),
            rule_id: String::new(),
            path: String::new(),
        };
        self.entries
            .range(probe..)
            .next()
            .is_some_and(|e| e.fingerprint == finding.fingerprint)
    }

    /// `findings` without those the baseline accepts.
    pub fn filter(&self, findings: Vec<Finding>) -> Vec<Finding> {
        findings.into_iter().filter(|f| !self.contains(f)).collect()
    }

    /// Parses a baseline file's text; errors name `path` and the line.
    pub fn parse(text: &str, path: &Path) -> Result<Baseline, EngineError> {
        let file: BaselineFile =
            serde_json::from_str(text).map_err(|e| EngineError::BadBaseline {
                path: path.to_path_buf(),
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            })?;
        if file.version != BASELINE_VERSION {
            return Err(EngineError::BadBaseline {
                path: path.to_path_buf(),
                line: 1,
                column: 1,
                message: format!(
                    "version {} is not supported (expected {BASELINE_VERSION})",
                    file.version
                ),
            });
        }
        Ok(Baseline {
            entries: file.findings.into_iter().collect(),
        })
    }

    pub fn load(path: &Path) -> Result<Baseline, EngineError> {
        let text = std::fs::read_to_string(path).map_err(|source| EngineError::Read {
            path: path.to_path_buf(),
            reason: source,
        })?;
        Baseline::parse(&text, path)
    }

    /// The file's text: pretty JSON, entries sorted, a newline at the end.
    pub fn to_text(&self) -> Result<String, EngineError> {
        let file = BaselineFile {
            version: BASELINE_VERSION,
            findings: self.entries.iter().cloned().collect(),
        };
        let mut text = serde_json::to_string_pretty(&file)?;
        text.push('\n');
        Ok(text)
    }

    /// Writes the baseline to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), EngineError> {
        write_atomically(path, self.to_text()?.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::fingerprint;

    fn finding(path: &str, line: usize, secret: &str) -> Finding {
        Finding {
            rule_id: "demo".into(),
            description: "Demo".into(),
            path: path.into(),
            line,
            column: 1,
            end_line: line,
            end_column: 1 + secret.len(),
            secret: secret.into(),
            fingerprint: fingerprint("demo", path, secret.as_bytes()),
            entropy: 4.0,
            validated: false,
            environment: None,
            commit: None,
            access: None,
            decoded: Vec::new(),
            path_bytes: None,
        }
    }

    #[test]
    fn round_trip_ignores_lines_and_never_stores_secrets() {
        let accepted = vec![
            finding("b.env", 3, "dtk_SECRETVALUE0001"),
            finding("a.env", 1, "dtk_SECRETVALUE0002"),
        ];
        let baseline = Baseline::from_findings(&accepted);
        let text = baseline.to_text().expect("encodes");
        assert!(!text.contains("SECRETVALUE"), "{text}");
        assert!(!text.contains("line"), "{text}");
        // Sorted by fingerprint, which starts with the rule id then the path.
        let a = text.find("a.env").expect("a.env");
        let b = text.find("b.env").expect("b.env");
        assert!(a < b);
        let back = Baseline::parse(&text, Path::new("bl.json")).expect("parses");
        assert_eq!(back, baseline);
        assert!(back.contains(&finding("b.env", 40, "dtk_SECRETVALUE0001")));
        assert!(!back.contains(&finding("b.env", 3, "dtk_SECRETVALUE0003")));
        assert!(!back.contains(&finding("c.env", 3, "dtk_SECRETVALUE0001")));
        assert_eq!(back.filter(accepted).len(), 0);
    }

    #[test]
    fn bad_baselines_name_the_file_and_line() {
        let err = Baseline::parse(
            "{\n  \"version\": 1,\n  \"findings\": [1]\n}",
            Path::new("bl.json"),
        )
        .expect_err("must fail");
        let msg = err.to_string();
        assert!(msg.starts_with("bl.json:3:"), "{msg}");
        let err = Baseline::parse("{\"version\": 9, \"findings\": []}", Path::new("bl.json"))
            .expect_err("must fail");
        assert!(err.to_string().contains("version 9"), "{err}");
    }
}
