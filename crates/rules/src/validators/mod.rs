//! Validators: checks of a secret's structure that go beyond its regex. A validator can
//! reject a candidate (a forged or mistyped token is not reported), prove its format
//! (`validated`), and read the environment the format names.

use sg_keyformat::{has_valid_base62_crc32, ApiKey};

/// The outcome of validating one candidate secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validation {
    /// Not a real token of this format: do not report.
    Reject,
    /// Report it. `validated` when a checksum or structure proved the format.
    Accept {
        validated: bool,
        environment: Option<String>,
    },
}

impl Validation {
    fn proven() -> Validation {
        Validation::Accept {
            validated: true,
            environment: None,
        }
    }
}

/// The validators a rule can name with `validator = "…"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    /// `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` + 30 random + 6 base62 CRC32.
    GithubCrc32,
    /// `npm_` + 30 random + 6 base62 CRC32.
    NpmCrc32,
    /// secrets-guard's own `sgk_<env>_…` keys; yields the environment.
    SecretsGuardKey,
    /// Stripe `sk_`/`rk_`/`pk_` keys; yields `live` or `test`.
    StripeMode,
}

impl Validator {
    /// Every validator name, as written in rule files.
    pub const NAMES: &'static [&'static str] = &[
        "github-crc32",
        "npm-crc32",
        "secrets-guard-key",
        "stripe-mode",
    ];

    pub fn from_name(name: &str) -> Option<Validator> {
        Some(match name {
            "github-crc32" => Validator::GithubCrc32,
            "npm-crc32" => Validator::NpmCrc32,
            "secrets-guard-key" => Validator::SecretsGuardKey,
            "stripe-mode" => Validator::StripeMode,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Validator::GithubCrc32 => "github-crc32",
            Validator::NpmCrc32 => "npm-crc32",
            Validator::SecretsGuardKey => "secrets-guard-key",
            Validator::StripeMode => "stripe-mode",
        }
    }

    pub fn validate(self, secret: &[u8]) -> Validation {
        match self {
            Validator::GithubCrc32 => {
                prefixed_crc32(secret, &[b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_"])
            }
            Validator::NpmCrc32 => prefixed_crc32(secret, &[b"npm_"]),
            Validator::SecretsGuardKey => match std::str::from_utf8(secret).map(ApiKey::parse) {
                Ok(Ok(key)) => Validation::Accept {
                    validated: true,
                    environment: Some(key.environment().to_owned()),
                },
                _ => Validation::Reject,
            },
            Validator::StripeMode => {
                let mode = if contains(secret, b"_live_") {
                    "live"
                } else if contains(secret, b"_test_") {
                    "test"
                } else {
                    return Validation::Reject;
                };
                Validation::Accept {
                    validated: false,
                    environment: Some(mode.to_owned()),
                }
            }
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A token of `prefix` + 30 random base62 characters + their 6-character base62 CRC32.
fn prefixed_crc32(secret: &[u8], prefixes: &[&[u8]]) -> Validation {
    let Some(body) = prefixes.iter().find_map(|p| secret.strip_prefix(*p)) else {
        return Validation::Reject;
    };
    if body.len() == 36
        && body.iter().all(u8::is_ascii_alphanumeric)
        && has_valid_base62_crc32(body, 6)
    {
        Validation::proven()
    } else {
        Validation::Reject
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sg_keyformat::base62_crc32;

    fn with_checksum(prefix: &str, random: &str) -> String {
        let cs = base62_crc32(random.as_bytes());
        format!(
            "{prefix}{random}{}",
            std::str::from_utf8(&cs).expect("ascii")
        )
    }

    #[test]
    fn github_and_npm_checksums() {
        let random = "R2n5xQ8wL1mK4jH7gF0dS3aZ6cV9bN";
        for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
            let good = with_checksum(prefix, random);
            assert_eq!(
                Validator::GithubCrc32.validate(good.as_bytes()),
                Validation::proven()
            );
            let mut bad = good.clone().into_bytes();
            let last = bad.len() - 1;
            bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
            assert_eq!(Validator::GithubCrc32.validate(&bad), Validation::Reject);
        }
        let npm = with_checksum("npm_", random);
        assert_eq!(
            Validator::NpmCrc32.validate(npm.as_bytes()),
            Validation::proven()
        );
        assert_eq!(
            Validator::NpmCrc32.validate(b"npm_R2n5xQ8wL1mK4jH7gF0dS3aZ6cV9bN000000"),
            Validation::Reject
        );
    }

    #[test]
    fn secrets_guard_keys_yield_their_environment() {
        let key = ApiKey::generate("prod").expect("valid env");
        assert_eq!(
            Validator::SecretsGuardKey.validate(key.expose().as_bytes()),
            Validation::Accept {
                validated: true,
                environment: Some("prod".into())
            }
        );
        let mut forged = key.expose().to_owned();
        forged.pop();
        forged.push(if key.expose().ends_with('x') {
            'y'
        } else {
            'x'
        });
        assert_eq!(
            Validator::SecretsGuardKey.validate(forged.as_bytes()),
            Validation::Reject
        );
    }

    #[test]
    fn every_name_round_trips() {
        for name in Validator::NAMES {
            assert_eq!(Validator::from_name(name).map(Validator::name), Some(*name));
        }
    }
}
