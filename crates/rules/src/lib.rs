//! Rules for the secrets-guard scanner, as data.
//!
//! Rule files use gitleaks' TOML schema (`[[rules]]` with `id`, `regex`, `secretGroup`,
//! `entropy`, `keywords`, `path`, `allowlists`, plus a global `[allowlist]` and `[extend]`),
//! so a `.gitleaks.toml` loads as is. secrets-guard adds fields of its own to each rule:
//! `examples` (text that must match, with the secret it must yield), `negatives` (text that
//! must not match), `validator` (a structural or checksum check), `references` and `impact`.
//!
//! [`RuleSet`] is the compiled form. The scan engine asks each [`Rule`] for its
//! [`RuleMatch`]es in a window of text; everything a rule decides on its own (secret group,
//! entropy gate, stopwords, allowlists, validator) happens here. Patterns are written in
//! gitleaks' Go RE2 dialect and rewritten where Rust's `regex` reads them differently.
//! [`RuleSet::check`] runs every rule on its own examples and negatives (`rules check`).
//!
//! Two more tables sit beside the rules as data. `[[filekinds]]` (`rules/filekinds.toml`)
//! says, per kind of file, what a literal value looks like; a rule with `literalValue = true`
//! keeps a match only when its value is one (in code, inside a string literal; in config
//! files, also bare), which is how the generic name/value rules tell `token = "…"` from
//! `token = tok.Value`. `[[exampleKeys]]` (`rules/example-keys.toml`) lists keys that vendors
//! publish in their documentation, each with that page; no rule reports them.

mod allowlist;
mod check;
mod compile;
mod defaults;
mod entropy;
mod error;
mod filekind;
mod goregex;
mod lazy;
mod placeholder;
mod schema;
pub mod validators;

pub use allowlist::{Allowlist, RegexTarget};
pub use check::{CheckIssue, CheckReport, IssueKind};
pub use compile::{Rule, RuleMatch, RuleSet};
pub use defaults::DEFAULT_RULE_FILES;
pub use entropy::shannon_entropy;
pub use error::RuleError;
pub use filekind::FileKind;
pub use lazy::LazyRegex;
pub use placeholder::looks_like_placeholder;
pub use schema::{
    ConfigFile, Example, ExtendSpec, Negative, RawAllowlist, RawExampleKey, RawFileKind,
    RawRequired, RawRule,
};
pub use validators::{Validation, Validator};
