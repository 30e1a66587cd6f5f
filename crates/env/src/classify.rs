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
    /// Why the value is public by design (a Stripe publishable key, a `NEXT_PUBLIC_` value,
    /// a Sentry DSN, local default credentials, a commit SHA), when it is: not a secret,
    /// whatever the labels say.
    pub public: Option<String>,
}

impl Classification {
    pub fn is_secret(&self) -> bool {
        !self.labels.is_empty() && self.public.is_none()
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
    let by_rule = !labels.is_empty();
    if labels.is_empty() {
        if let Some(label) = heuristic_label(&v.key, value) {
            labels.push(label);
        }
    }
    let public = public_reason(&v.key, value.trim(), by_rule);
    Classification {
        key: v.key.clone(),
        labels,
        public,
    }
}

/// Prefixes that bundlers copy into client code: such values are public by design.
const PUBLIC_PREFIXES: &[&str] = &[
    "NEXT_PUBLIC_",
    "VITE_",
    "PUBLIC_",
    "REACT_APP_",
    "EXPO_PUBLIC_",
    "NUXT_PUBLIC_",
];

/// Why a value is public by design, if it is. A value a scanner rule recognises as a secret
/// stays a secret even under a public prefix: that is a leak into client code.
pub(crate) fn public_reason(key: &str, value: &str, labelled_by_rule: bool) -> Option<String> {
    if value.starts_with("pk_live_") || value.starts_with("pk_test_") {
        return Some("a Stripe publishable key".to_owned());
    }
    if is_sentry_dsn(value) {
        return Some("a Sentry DSN".to_owned());
    }
    if is_local_default_credentials(value) {
        return Some("local default credentials".to_owned());
    }
    if is_commit_sha(key, value) {
        return Some("a commit SHA".to_owned());
    }
    if !labelled_by_rule {
        if let Some(prefix) = PUBLIC_PREFIXES.iter().find(|p| key.starts_with(*p)) {
            return Some(format!("public by its `{prefix}` prefix"));
        }
    }
    None
}

/// `https://<public key>@<org>.ingest.sentry.io/<project>`: no password, a Sentry host.
fn is_sentry_dsn(value: &str) -> bool {
    let Some(rest) = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
    else {
        return false;
    };
    let Some((userinfo, host_path)) = rest.split_once('@') else {
        return false;
    };
    let host = host_path.split('/').next().unwrap_or("");
    !userinfo.contains(':')
        && userinfo.bytes().all(|b| b.is_ascii_hexdigit())
        && (host.ends_with("sentry.io") || host.contains(".sentry."))
}

/// `postgres://postgres:postgres@localhost/app`: a local service with its stock password.
fn is_local_default_credentials(value: &str) -> bool {
    let Some((_, rest)) = value.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return false;
    };
    let Some((user, password)) = userinfo.split_once(':') else {
        return false;
    };
    let host = host
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h);
    let local = matches!(
        host,
        "localhost" | "127.0.0.1" | "0.0.0.0" | "[::1]" | "host.docker.internal"
    );
    let stock = password == user
        || matches!(
            password,
            "postgres"
                | "password"
                | "root"
                | "secret"
                | "admin"
                | "guest"
                | "mysql"
                | "redis"
                | "example"
                | "changeme"
                | "dev"
                | "test"
                | "pass"
        );
    local && stock
}

/// A commit SHA under a name that says so (`GIT_SHA`, `COMMIT`, `REVISION`).
fn is_commit_sha(key: &str, value: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    let named = ["SHA", "COMMIT", "REVISION", "GIT_REV"]
        .iter()
        .any(|w| upper.contains(w));
    named
        && (7..=40).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
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
    fn public_values_are_told_apart() {
        for (k, v) in [
            (
                "STRIPE_PUBLISHABLE_KEY",
                "pk_live_51Dm7w4suUssSCQtHkFVRsbQhSDnHYOIIbhtXgv",
            ),
            (
                "SENTRY_DSN",
                "https://0123456789abcdef0123456789abcdef@o4505.ingest.sentry.io/4505",
            ),
            (
                "DATABASE_URL",
                "postgres://postgres:postgres@localhost:5432/app",
            ),
            ("REDIS_URL", "redis://default:redis@127.0.0.1:6379"),
            ("GIT_SHA", "3ac9823e01b99ec1a7f3c9b4a2ba2f321c7feab0"),
            ("NEXT_PUBLIC_ANALYTICS_ID", "q8Zr2LmW0xVbN4tYc7Hs"),
        ] {
            assert!(public_reason(k, v, false).is_some(), "{k}");
        }
        for (k, v) in [
            ("DATABASE_URL", "postgres://app:s3cr3tpass@localhost/app"),
            (
                "DATABASE_URL",
                "postgres://postgres:postgres@db.prod.internal/app",
            ),
            ("API_TOKEN", "3ac9823e01b99ec1a7f3c9b4a2ba2f321c7feab0"),
            ("SENTRY_DSN", "https://abc:def@example.com/1"),
        ] {
            assert!(public_reason(k, v, false).is_none(), "{k}={v}");
        }
        // A real secret under a public prefix stays a secret.
        assert!(public_reason("NEXT_PUBLIC_STRIPE", "sk_live_x", true).is_none());
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
