//! Telling secrets from settings: the scanner's rules label each value (`stripe-secret-key
//! (live)`), and values no rule knows are judged by their randomness, their key's name and
//! their shape (`LOG_LEVEL=info` or `PORT=8080` are not secrets).

use crate::load::{Environment, Variable};
use sg_engine::{ScanInput, Scanner};
use sg_keyformat::ApiKey;
use sg_rules::{looks_like_placeholder, shannon_entropy};
use std::fmt;

/// What kind of secret a value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// A scanner rule id, or one of the heuristics: `high-entropy-value`,
    /// `secret-named-key`, `url-credentials`.
    pub rule_id: String,
    /// The environment the format names (`live`, `test`, `prod`, …).
    pub environment: Option<String>,
    pub validated: bool,
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.environment {
            Some(env) => write!(f, "{} ({env})", self.rule_id),
            None => f.write_str(&self.rule_id),
        }
    }
}

/// The verdict on one variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub key: String,
    /// Empty for a value that is not a secret.
    pub labels: Vec<Label>,
}

impl Classification {
    pub fn is_secret(&self) -> bool {
        !self.labels.is_empty()
    }

    /// `stripe-secret-key (live)`, or `-` for a non-secret.
    pub fn kind(&self) -> String {
        if self.labels.is_empty() {
            "-".to_owned()
        } else {
            self.labels
                .iter()
                .map(Label::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

/// Classifies every variable of `env`, in the same order as `env.variables`.
pub fn classify(env: &Environment, scanner: &Scanner) -> Vec<Classification> {
    env.variables
        .iter()
        .map(|v| classify_variable(v, scanner))
        .collect()
}

/// Runs the rules over the variable as its file would hold it once expanded, so a secret
/// reached through `${OTHER}` is labelled too.
pub fn classify_variable(v: &Variable, scanner: &Scanner) -> Classification {
    let value = v.value.expose();
    let text = format!("{}={}\n", v.key, value);
    let mut labels: Vec<Label> = Vec::new();
    for f in scanner.scan(ScanInput {
        path: &v.file,
        bytes: text.as_bytes(),
        commit: None,
    }) {
        let label = Label {
            rule_id: f.rule_id,
            environment: f.environment,
            validated: f.validated,
        };
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    if labels.is_empty() {
        if let Some(label) = heuristic_label(&v.key, value) {
            labels.push(label);
        }
    }
    Classification {
        key: v.key.clone(),
        labels,
    }
}

fn heuristic_label(key: &str, value: &str) -> Option<Label> {
    let label = |rule_id: &str, environment: Option<String>, validated: bool| Label {
        rule_id: rule_id.to_owned(),
        environment,
        validated,
    };
    let trimmed = value.trim();
    if let Ok(k) = ApiKey::parse(trimmed) {
        return Some(label(
            "secrets-guard-api-key",
            Some(k.environment().to_owned()),
            true,
        ));
    }
    if has_url_password(trimmed) {
        return Some(label("url-credentials", None, false));
    }
    if trimmed.is_empty() || looks_like_placeholder(trimmed.as_bytes()) || is_plain_setting(trimmed)
    {
        return None;
    }
    // A UUID is as random as a token but is usually an identifier (tenant, project):
    // only its key's name can say it is a secret.
    if looks_random(trimmed) && !is_uuid(trimmed) {
        return Some(label("high-entropy-value", None, false));
    }
    if has_secret_name(key)
        && trimmed.chars().count() >= 8
        && !trimmed.contains(char::is_whitespace)
    {
        return Some(label("secret-named-key", None, false));
    }
    None
}

/// `scheme://user:password@host`.
fn has_url_password(value: &str) -> bool {
    let Some((_, rest)) = value.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    match authority.rsplit_once('@') {
        Some((userinfo, _)) => userinfo
            .split_once(':')
            .is_some_and(|(_, password)| !password.is_empty() && !password.starts_with('$')),
        None => false,
    }
}

/// Booleans, numbers, durations, host:port, plain URLs and paths: settings, not secrets.
fn is_plain_setting(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "none"
    ) {
        return true;
    }
    if value
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | ':' | '_'))
    {
        return true;
    }
    if value.contains("://") || value.starts_with('/') || value.starts_with("./") {
        return true;
    }
    false
}

/// Long, unbroken and random-looking: at least 16 characters, two character classes, and
/// an entropy that ordinary words and identifiers do not reach.
fn looks_random(value: &str) -> bool {
    let len = value.chars().count();
    if len < 16 || value.contains(char::is_whitespace) {
        return false;
    }
    let classes = [
        value.chars().any(|c| c.is_ascii_lowercase()),
        value.chars().any(|c| c.is_ascii_uppercase()),
        value.chars().any(|c| c.is_ascii_digit()),
    ]
    .iter()
    .filter(|&&b| b)
    .count();
    let entropy = shannon_entropy(value.as_bytes());
    // snake_case or dotted words (`feature_flag_new_checkout_flow`) have separators and
    // one case; a token does not read as words.
    let wordy = value
        .split(['_', '-', '.'])
        .filter(|w| !w.is_empty())
        .all(|w| w.len() >= 3 && w.chars().all(|c| c.is_ascii_lowercase()));
    classes >= 2 && entropy >= 3.5 && !wordy
}

fn is_uuid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn has_secret_name(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    [
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
        "ACCESS_KEY",
    ]
    .iter()
    .any(|w| upper.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(key: &str, value: &str) -> Option<String> {
        heuristic_label(key, value).map(|l| l.rule_id)
    }

    #[test]
    fn settings_are_not_secrets() {
        for (k, v) in [
            ("LOG_LEVEL", "info"),
            ("PORT", "8080"),
            ("DEBUG", "true"),
            ("HOST", "0.0.0.0"),
            ("DATABASE_URL", "postgres://db.internal:5432/app"),
            ("APP_NAME", "secrets-guard-demo"),
            ("FEATURE", "feature_flag_new_checkout_flow"),
            ("API_KEY", "changeme"),
            ("TOKEN", ""),
            ("TENANT_ID", "550e8400-e29b-41d4-a716-446655440000"),
        ] {
            assert_eq!(verdict(k, v), None, "{k}");
        }
    }

    #[test]
    fn random_values_and_credentials_are_secrets() {
        assert_eq!(
            verdict("SESSION_KEY", "q8Zr2LmW0xVbN4tYc7Hs").as_deref(),
            Some("high-entropy-value")
        );
        assert_eq!(
            verdict("DATABASE_URL", "postgres://app:s3cr3tpass@db:5432/app").as_deref(),
            Some("url-credentials")
        );
        assert_eq!(
            verdict("HEROKU_API_KEY", "550e8400-e29b-41d4-a716-446655440000").as_deref(),
            Some("secret-named-key")
        );
        assert_eq!(
            verdict("DB_PASSWORD", "hunter2hunter").as_deref(),
            Some("secret-named-key")
        );
        let key = "sgk_prod_Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7yEe2zI7BX";
        let l = heuristic_label("SG_KEY", key).expect("a key");
        assert_eq!(l.environment.as_deref(), Some("prod"));
    }
}
