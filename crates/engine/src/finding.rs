//! What the scanner reports.

use serde::Serialize;

/// The commit that introduced a finding (git history and range scans).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitInfo {
    pub id: String,
    pub author: String,
    pub email: String,
    /// RFC 3339.
    pub date: String,
    pub summary: String,
}

/// What the access store knows about a leaked secrets-guard key. Never holds the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessInfo {
    /// `live`, `revoked`, `expired` or `unknown`.
    pub status: String,
    pub subaccount: Option<String>,
    pub environment: Option<String>,
    pub key_id: Option<String>,
    pub key_name: Option<String>,
}

/// One finding. `secret` holds the full secret: report writers redact it unless the user
/// asked to see secrets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule_id: String,
    pub description: String,
    /// Relative to the scan root as the user named it, `/`-separated.
    pub path: String,
    /// The path's raw bytes when they are not UTF-8 (`path` then holds U+FFFD in their
    /// place): what a tool needs to open the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<Vec<u8>>,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub secret: String,
    /// Derived from rule id, path and a hash of the secret: never from line numbers.
    pub fingerprint: String,
    pub entropy: f64,
    pub validated: bool,
    /// The environment the secret's format names (`prod`, `live`, `test`, …), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<CommitInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessInfo>,
    /// The encodings the secret was found under, outermost first (`["base64"]`): the
    /// position is then the encoded segment's in the input. Empty for plain text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decoded: Vec<String>,
}

/// The stable fingerprint of a finding: `rule_id:path:sha256(secret)[..16 hex]`.
/// Line numbers are left out on purpose so a baseline does not churn when lines move.
pub fn fingerprint(rule_id: &str, path: &str, secret: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(secret);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{rule_id}:{path}:{hex}")
}

/// What a scan read and skipped, for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScanStats {
    pub files: u64,
    pub bytes: u64,
    pub skipped_binary: u64,
    pub skipped_large: u64,
    /// Files or directories that could not be read (each reported on stderr).
    pub errors: u64,
}
