//! The on-disk schema: gitleaks' fields with their gitleaks spelling, and ours beside them.
//!
//! gitleaks reads its config through viper, which ignores key case, so configs in the wild
//! spell `secretGroup` as `secretgroup` and `stopwords` as `stopWords`; the common variants are
//! accepted as aliases. Unknown keys are still refused, so a typo is an error, not a rule
//! that silently never fires.

use serde::Deserialize;

/// One rule file, as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// gitleaks' minimum version hint; accepted and ignored.
    #[serde(default, rename = "minVersion", alias = "minversion")]
    pub min_version: Option<String>,
    #[serde(default)]
    pub extend: Option<ExtendSpec>,
    /// The older single global allowlist.
    #[serde(default)]
    pub allowlist: Option<RawAllowlist>,
    /// The newer list of global allowlists.
    #[serde(default)]
    pub allowlists: Vec<RawAllowlist>,
    #[serde(default)]
    pub rules: Vec<RawRule>,
    /// secrets-guard: rule ids to turn off (also accepted inside `[extend]`).
    #[serde(default, rename = "disabledRules", alias = "disabledrules")]
    pub disabled_rules: Vec<String>,
    /// secrets-guard's env loader reads this table; the rules loader ignores it.
    #[serde(default)]
    pub env: Option<toml::Value>,
    /// secrets-guard's scan settings table; the rules loader ignores it.
    #[serde(default)]
    pub scan: Option<toml::Value>,
    /// secrets-guard: what a literal value looks like per kind of file (`rules/filekinds.toml`).
    #[serde(default, rename = "filekinds", alias = "fileKinds")]
    pub file_kinds: Vec<RawFileKind>,
    /// secrets-guard: keys that vendors publish in their documentation, never credentials.
    #[serde(default, rename = "exampleKeys", alias = "examplekeys")]
    pub example_keys: Vec<RawExampleKey>,
}

/// `[[filekinds]]`: one kind of file, for the rules that set `literalValue`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFileKind {
    pub name: String,
    /// Regexes on the path (`/`-separated); the first kind with a match is the file's kind.
    pub paths: Vec<String>,
    /// The characters that open and close a string literal.
    #[serde(default)]
    pub quotes: Vec<String>,
    /// Whether an unquoted value is a literal (a config right-hand side) rather than code.
    #[serde(default)]
    pub unquoted: bool,
    /// Text that, right before the name, puts the match inside an expansion or a reference.
    #[serde(default, rename = "notAfter", alias = "notafter")]
    pub not_after: Vec<String>,
}

/// `[[exampleKeys]]`: a key printed in a vendor's documentation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExampleKey {
    pub vendor: String,
    pub value: String,
    /// The page that publishes it.
    pub reference: String,
}

/// `[extend]`: build on the default rules or on another file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendSpec {
    #[serde(default, rename = "useDefault", alias = "usedefault")]
    pub use_default: bool,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default, rename = "disabledRules", alias = "disabledrules")]
    pub disabled_rules: Vec<String>,
}

/// An allowlist, global or per rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAllowlist {
    #[serde(default)]
    pub description: Option<String>,
    /// `OR` (default) or `AND`: how the criteria combine.
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    pub regexes: Vec<String>,
    /// `secret` (default), `match` or `line`.
    #[serde(default, rename = "regexTarget", alias = "regextarget")]
    pub regex_target: Option<String>,
    #[serde(default, alias = "stopWords")]
    pub stopwords: Vec<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub commits: Vec<String>,
    /// gitleaks: on a global allowlist, the rules it applies to.
    #[serde(default, rename = "targetRules", alias = "targetrules")]
    pub target_rules: Vec<String>,
}

/// `[[rules.required]]`: another rule that must match near this one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequired {
    pub id: String,
    #[serde(default, rename = "withinLines", alias = "withinlines")]
    pub within_lines: Option<i64>,
    #[serde(default, rename = "withinColumns", alias = "withincolumns")]
    pub within_columns: Option<i64>,
}

/// An example that must match, with the secret it must yield.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub text: String,
    pub secret: String,
    /// The file the text is in, for rules whose verdict depends on the kind of file.
    #[serde(default)]
    pub path: Option<String>,
}

/// A text that must not match: alone, or with the path of the file it is in.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Negative {
    Text(String),
    InFile { text: String, path: String },
}

impl Negative {
    pub fn text(&self) -> &str {
        match self {
            Negative::Text(t) | Negative::InFile { text: t, .. } => t,
        }
    }

    pub fn path(&self) -> Option<&str> {
        match self {
            Negative::Text(_) => None,
            Negative::InFile { path, .. } => Some(path),
        }
    }
}

/// One `[[rules]]` entry, as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub id: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub regex: Option<String>,
    #[serde(default, rename = "secretGroup", alias = "secretgroup")]
    pub secret_group: Option<usize>,
    #[serde(default)]
    pub entropy: Option<f64>,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// gitleaks (`[[rules.required]]`): report the rule only when these rules also match
    /// nearby. Parsed and accepted; the proximity gate itself is not applied yet, so such
    /// rules report more, never less.
    #[serde(default)]
    pub required: Vec<RawRequired>,
    /// An older spelling of `required`; accepted and ignored.
    #[serde(default, rename = "requiredRules")]
    pub required_rules: Option<toml::Value>,
    #[serde(default, rename = "skipReport", alias = "skipreport")]
    pub skip_report: bool,
    #[serde(default)]
    pub allowlist: Option<RawAllowlist>,
    #[serde(default)]
    pub allowlists: Vec<RawAllowlist>,
    // secrets-guard extensions.
    #[serde(default)]
    pub examples: Vec<Example>,
    #[serde(default)]
    pub negatives: Vec<Negative>,
    /// Keep a match only when its value is a literal of the file's kind (`[[filekinds]]`).
    #[serde(default, rename = "literalValue", alias = "literalvalue")]
    pub literal_value: bool,
    #[serde(default)]
    pub validator: Option<String>,
    #[serde(default)]
    pub references: Vec<String>,
    /// What an attacker can do with the secret.
    #[serde(default)]
    pub impact: Option<String>,
}
