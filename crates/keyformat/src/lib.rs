//! The shape of the API keys that the secrets-guard access core issues, shared by the
//! scanner (which must find them with no false positives) and the env loader (which
//! checks that a key sits in the environment it was issued for).
//!
//! A key reads `sgk_<environment>_<random><checksum>`:
//! - `environment` is the subaccount's environment name, `[a-z0-9]{1,20}` (`prod`, `qa`, `dev`, or custom);
//! - `random` is [`RANDOM_LEN`] base62 characters (about 190 bits);
//! - `checksum` is the CRC32 of `random`, written as [`CHECKSUM_LEN`] base62 characters, the
//!   same construction GitHub and npm use, so a mistyped or forged key is rejected offline.

mod checksum;

pub use checksum::{base62_crc32, has_valid_base62_crc32, BASE62_ALPHABET};

use std::fmt;

/// The literal every key starts with.
pub const PREFIX: &str = "sgk_";
/// Number of base62 characters of randomness (62^32 ≈ 2^190).
pub const RANDOM_LEN: usize = 32;
/// Number of base62 characters of checksum at the end of a key.
pub const CHECKSUM_LEN: usize = 6;
/// Longest environment name a key may carry.
pub const MAX_ENVIRONMENT_LEN: usize = 20;

/// Why a string is not a well-formed secrets-guard key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    #[error("a secrets-guard key starts with `sgk_`")]
    MissingPrefix,
    #[error("the environment name must be 1 to 20 characters of a-z and 0-9")]
    BadEnvironment,
    #[error("the key body must be {RANDOM_LEN} + {CHECKSUM_LEN} base62 characters")]
    BadBody,
    #[error("the checksum does not match: the key is mistyped or forged")]
    BadChecksum,
}

/// A well-formed key: its checksum has been verified.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    text: String,
    env_end: usize,
}

impl ApiKey {
    /// Generates a fresh key for `environment` from the operating system's random source.
    pub fn generate(environment: &str) -> Result<ApiKey, KeyFormatError> {
        use rand::Rng;
        validate_environment(environment)?;
        let mut rng = rand::rngs::OsRng;
        let random: String = (0..RANDOM_LEN)
            .map(|_| BASE62_ALPHABET[rng.gen_range(0..62)] as char)
            .collect();
        let checksum = base62_crc32(random.as_bytes());
        let text = format!(
            "{PREFIX}{environment}_{random}{}",
            std::str::from_utf8(&checksum).unwrap_or_default()
        );
        Ok(ApiKey {
            env_end: PREFIX.len() + environment.len(),
            text,
        })
    }

    /// Parses and verifies a key, checksum included.
    pub fn parse(text: &str) -> Result<ApiKey, KeyFormatError> {
        Ok(ApiKey {
            env_end: check(text)?,
            text: text.to_owned(),
        })
    }

    /// What [`ApiKey::display_prefix`] would be for `text`, after the checks of
    /// [`ApiKey::parse`], without copying the key: a server verifying presented keys does
    /// this on every request.
    pub fn checked_display_prefix(text: &str) -> Result<&str, KeyFormatError> {
        let env_end = check(text)?;
        Ok(&text[..env_end + 1 + DISPLAY_RANDOM_LEN])
    }

    /// The environment the key was issued for.
    pub fn environment(&self) -> &str {
        &self.text[PREFIX.len()..self.env_end]
    }

    /// The whole key. Handle with care: this is the secret.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// A short prefix that identifies the key in listings without revealing it:
    /// `sgk_<env>_` and the first four random characters.
    pub fn display_prefix(&self) -> String {
        self.text[..self.env_end + 1 + DISPLAY_RANDOM_LEN].to_owned()
    }
}

/// Random characters shown in a key's display prefix.
const DISPLAY_RANDOM_LEN: usize = 4;

/// Checks that `text` is a well-formed key, checksum included; returns where its
/// environment ends.
fn check(text: &str) -> Result<usize, KeyFormatError> {
    let rest = text
        .strip_prefix(PREFIX)
        .ok_or(KeyFormatError::MissingPrefix)?;
    let (environment, body) = rest.split_once('_').ok_or(KeyFormatError::BadEnvironment)?;
    validate_environment(environment)?;
    if body.len() != RANDOM_LEN + CHECKSUM_LEN || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(KeyFormatError::BadBody);
    }
    if !has_valid_base62_crc32(body.as_bytes(), CHECKSUM_LEN) {
        return Err(KeyFormatError::BadChecksum);
    }
    Ok(PREFIX.len() + environment.len())
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}…)", self.display_prefix())
    }
}

fn validate_environment(environment: &str) -> Result<(), KeyFormatError> {
    let ok = !environment.is_empty()
        && environment.len() <= MAX_ENVIRONMENT_LEN
        && environment
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(KeyFormatError::BadEnvironment)
    }
}

/// Whether `environment` can appear in a key.
pub fn is_valid_environment(environment: &str) -> bool {
    validate_environment(environment).is_ok()
}

/// The regular expression (Rust `regex` syntax) that finds candidate keys in text.
/// Candidates still need [`ApiKey::parse`] to verify the checksum.
pub const CANDIDATE_REGEX: &str = r"\bsgk_([a-z0-9]{1,20})_([0-9A-Za-z]{38})\b";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_round_trip() {
        for env in ["prod", "qa", "dev", "staging2"] {
            let key = ApiKey::generate(env).expect("valid environment");
            let parsed = ApiKey::parse(key.expose()).expect("a generated key parses");
            assert_eq!(parsed.environment(), env);
            assert_eq!(parsed, key);
            assert_eq!(
                key.expose().len(),
                PREFIX.len() + env.len() + 1 + RANDOM_LEN + CHECKSUM_LEN
            );
            assert!(key.display_prefix().starts_with(&format!("sgk_{env}_")));
        }
    }

    #[test]
    fn checked_display_prefix_agrees_with_parse() {
        let key = ApiKey::generate("prod").expect("valid environment");
        assert_eq!(
            ApiKey::checked_display_prefix(key.expose()),
            Ok(key.display_prefix().as_str())
        );
        let mut forged = key.expose().to_owned();
        let last = if forged.ends_with('a') { "b" } else { "a" };
        forged.replace_range(forged.len() - 1.., last);
        for text in [
            "",
            "ghp_abc",
            "sgk_PROD_abc",
            "sgk_prod_short",
            forged.as_str(),
        ] {
            assert_eq!(
                ApiKey::checked_display_prefix(text).map(str::to_owned),
                ApiKey::parse(text).map(|k| k.display_prefix()),
                "{text}"
            );
        }
    }

    #[test]
    fn any_changed_character_fails_the_checksum() {
        let key = ApiKey::generate("prod").expect("valid environment");
        let text = key.expose();
        let body_start = "sgk_prod_".len();
        for i in body_start..text.len() {
            let mut bytes = text.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let changed = String::from_utf8(bytes).expect("ascii");
            assert_eq!(
                ApiKey::parse(&changed),
                Err(KeyFormatError::BadChecksum),
                "changing byte {i} must break the checksum"
            );
        }
    }

    #[test]
    fn malformed_keys_are_rejected_with_the_reason() {
        assert_eq!(ApiKey::parse("ghp_abc"), Err(KeyFormatError::MissingPrefix));
        assert_eq!(
            ApiKey::parse("sgk_PROD_abc"),
            Err(KeyFormatError::BadEnvironment)
        );
        assert_eq!(ApiKey::parse("sgk_prod_abc"), Err(KeyFormatError::BadBody));
        assert!(ApiKey::generate("Prod").is_err());
        assert!(ApiKey::generate("").is_err());
    }

    #[test]
    fn debug_does_not_reveal_the_key() {
        let key = ApiKey::generate("dev").expect("valid environment");
        let shown = format!("{key:?}");
        assert!(!shown.contains(&key.expose()[12..]));
    }

    #[test]
    fn candidate_regex_is_documented_shape() {
        // Kept as a string so crates that embed it do not need this crate's regex dependency.
        assert!(CANDIDATE_REGEX.contains("sgk_"));
    }
}
