//! Validators: checks of a secret's structure that go beyond its regex. A validator can
//! reject a candidate (a forged or mistyped token is not reported), prove its format
//! (`validated`), and read the environment the format names.

mod bech32;
mod jwt;
mod macaroon;
mod markers;
mod slack;

use sg_keyformat::{has_valid_base62_crc32, ApiKey};

pub use bech32::bech32_decode;

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
    /// The format is proven and names no environment.
    pub fn proven() -> Validation {
        Validation::Accept {
            validated: true,
            environment: None,
        }
    }

    /// Plausible, but nothing in the token proves its format.
    pub fn unproven() -> Validation {
        Validation::Accept {
            validated: false,
            environment: None,
        }
    }

    fn proven_if(ok: bool) -> Validation {
        if ok {
            Validation::proven()
        } else {
            Validation::Reject
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
    /// Stripe `sk_`/`rk_`/`pk_` keys; yields `live` or `test` (or `prod`, which gitleaks
    /// also accepts).
    StripeMode,
    /// PyPI API tokens: `pypi-` + a base64url macaroon v2 located at `pypi.org` or
    /// `test.pypi.org`; yields `prod` or `test`.
    PypiMacaroon,
    /// OpenAI keys carry `T3BlbkFJ` (base64 of "OpenAI") in their middle.
    OpenaiMarker,
    /// Anthropic keys: `sk-ant-api03-`/`sk-ant-admin01-` + 93 base64url characters + `AA`.
    AnthropicMarker,
    /// age identities: `AGE-SECRET-KEY-1…` with a valid bech32 checksum over 32 bytes.
    AgeBech32,
    /// JSON Web Tokens: base64url JSON header (with `alg`) and payload.
    Jwt,
    /// Slack `xox?-`/`xapp-` tokens with the segment structure of their kind.
    SlackStructure,
}

impl Validator {
    /// Every validator name, as written in rule files.
    pub const NAMES: &'static [&'static str] = &[
        "github-crc32",
        "npm-crc32",
        "secrets-guard-key",
        "stripe-mode",
        "pypi-macaroon",
        "openai-marker",
        "anthropic-marker",
        "age-bech32",
        "jwt",
        "slack-structure",
    ];

    pub fn from_name(name: &str) -> Option<Validator> {
        Some(match name {
            "github-crc32" => Validator::GithubCrc32,
            "npm-crc32" => Validator::NpmCrc32,
            "secrets-guard-key" => Validator::SecretsGuardKey,
            "stripe-mode" => Validator::StripeMode,
            "pypi-macaroon" => Validator::PypiMacaroon,
            "openai-marker" => Validator::OpenaiMarker,
            "anthropic-marker" => Validator::AnthropicMarker,
            "age-bech32" => Validator::AgeBech32,
            "jwt" => Validator::Jwt,
            "slack-structure" => Validator::SlackStructure,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Validator::GithubCrc32 => "github-crc32",
            Validator::NpmCrc32 => "npm-crc32",
            Validator::SecretsGuardKey => "secrets-guard-key",
            Validator::StripeMode => "stripe-mode",
            Validator::PypiMacaroon => "pypi-macaroon",
            Validator::OpenaiMarker => "openai-marker",
            Validator::AnthropicMarker => "anthropic-marker",
            Validator::AgeBech32 => "age-bech32",
            Validator::Jwt => "jwt",
            Validator::SlackStructure => "slack-structure",
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
            Validator::StripeMode => stripe_mode(secret),
            Validator::PypiMacaroon => macaroon::validate_pypi(secret),
            Validator::OpenaiMarker => markers::validate_openai(secret),
            Validator::AnthropicMarker => markers::validate_anthropic(secret),
            Validator::AgeBech32 => Validation::proven_if(bech32::is_age_secret_key(secret)),
            Validator::Jwt => Validation::proven_if(jwt::is_jwt(secret)),
            Validator::SlackStructure => slack::validate(secret),
        }
    }
}

/// A token of `prefix` + 30 random base62 characters + their 6-character base62 CRC32
/// (CRC32 of the 30 random characters only, base62 `0-9A-Za-z`, left-padded with `0`).
fn prefixed_crc32(secret: &[u8], prefixes: &[&[u8]]) -> Validation {
    let Some(body) = prefixes.iter().find_map(|p| secret.strip_prefix(*p)) else {
        return Validation::Reject;
    };
    Validation::proven_if(
        body.len() == 36
            && body.iter().all(u8::is_ascii_alphanumeric)
            && has_valid_base62_crc32(body, 6),
    )
}

/// Stripe keys are `sk_`/`rk_`/`pk_` then `live_`/`test_` then base62; the mode is the
/// environment. The body length has grown over the years (24 to 99+), so only a floor is kept.
fn stripe_mode(secret: &[u8]) -> Validation {
    let Some(rest) = [&b"sk_"[..], b"rk_", b"pk_"]
        .iter()
        .find_map(|p| secret.strip_prefix(*p))
    else {
        return Validation::Reject;
    };
    // gitleaks also accepts `_prod_`; Stripe documents only live and test.
    let Some((mode, body)) = ["live", "test", "prod"].iter().find_map(|mode| {
        rest.strip_prefix(mode.as_bytes())
            .and_then(|r| r.strip_prefix(b"_"))
            .map(|body| (*mode, body))
    }) else {
        return Validation::Reject;
    };
    if body.len() < 16 || !body.iter().all(u8::is_ascii_alphanumeric) {
        return Validation::Reject;
    }
    Validation::Accept {
        validated: false,
        environment: Some(mode.to_owned()),
    }
}

/// The base64 alphabet with `-` and `_` (URL-safe), as many token formats use.
pub(crate) fn is_base64url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Decodes base64url with or without padding; also accepts the standard alphabet, which
/// some tools emit for the same structures.
pub(crate) fn decode_base64_lenient(data: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    use base64::Engine;
    let trimmed = match data.iter().position(|&b| b == b'=') {
        Some(i) if data[i..].iter().all(|&b| b == b'=') => &data[..i],
        Some(_) => return None,
        None => data,
    };
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| STANDARD_NO_PAD.decode(trimmed))
        .ok()
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
        // The prefix is not part of the checksummed data: a GitHub checksum computed over
        // `ghp_` + random must not validate.
        let over_prefix = base62_crc32(format!("ghp_{random}").as_bytes());
        let wrong = format!(
            "ghp_{random}{}",
            std::str::from_utf8(&over_prefix).expect("ascii")
        );
        assert_eq!(
            Validator::GithubCrc32.validate(wrong.as_bytes()),
            Validation::Reject
        );
    }

    #[test]
    fn github_checksum_matches_an_independent_computation() {
        // CRC32/IEEE of "R2n5xQ8wL1mK4jH7gF0dS3aZ6cV9bN" computed bit by bit here, then
        // base62-encoded by hand, so the test does not reuse the code it checks.
        fn crc32_bitwise(data: &[u8]) -> u32 {
            let mut crc = !0u32;
            for &b in data {
                crc ^= u32::from(b);
                for _ in 0..8 {
                    crc = if crc & 1 == 1 {
                        (crc >> 1) ^ 0xEDB8_8320
                    } else {
                        crc >> 1
                    };
                }
            }
            !crc
        }
        let random = b"R2n5xQ8wL1mK4jH7gF0dS3aZ6cV9bN";
        let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut v = crc32_bitwise(random);
        let mut digits = [b'0'; 6];
        for d in digits.iter_mut().rev() {
            *d = alphabet[(v % 62) as usize];
            v /= 62;
        }
        let mut token = b"ghp_".to_vec();
        token.extend_from_slice(random);
        token.extend_from_slice(&digits);
        assert_eq!(
            Validator::GithubCrc32.validate(&token),
            Validation::proven()
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
    fn stripe_mode_reads_live_and_test() {
        let live = Validator::StripeMode.validate(b"sk_live_4eC39HqLyjWDarjtT1zdp7dc");
        assert_eq!(
            live,
            Validation::Accept {
                validated: false,
                environment: Some("live".into())
            }
        );
        let test = Validator::StripeMode.validate(b"rk_test_51H8bQ2Kz3fLm9Xr0Yt7Wq");
        assert_eq!(
            test,
            Validation::Accept {
                validated: false,
                environment: Some("test".into())
            }
        );
        assert_eq!(
            Validator::StripeMode.validate(b"rk_prod_51OuEMLAlTWGaDypquDn9aZiga"),
            Validation::Accept {
                validated: false,
                environment: Some("prod".into())
            }
        );
        for bad in [
            &b"sk_demo_4eC39HqLyjWDarjtT1zdp7dc"[..],
            b"sk_liveX4eC39HqLyjWDarjtT1zdp7dc",
            b"xk_live_4eC39HqLyjWDarjtT1zdp7dc",
            b"sk_live_short",
            b"sk_live_4eC39HqLyjWD-rjtT1zdp7dc",
        ] {
            assert_eq!(Validator::StripeMode.validate(bad), Validation::Reject);
        }
    }

    #[test]
    fn lenient_base64_accepts_padding_and_both_alphabets() {
        assert_eq!(decode_base64_lenient(b"aGk="), Some(b"hi".to_vec()));
        assert_eq!(decode_base64_lenient(b"aGk"), Some(b"hi".to_vec()));
        assert_eq!(decode_base64_lenient(b"-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(decode_base64_lenient(b"+/8"), Some(vec![0xfb, 0xff]));
        assert_eq!(decode_base64_lenient(b"a=Gk"), None);
    }

    #[test]
    fn every_name_round_trips() {
        for name in Validator::NAMES {
            assert_eq!(Validator::from_name(name).map(Validator::name), Some(*name));
        }
        assert_eq!(Validator::from_name("nope"), None);
    }
}
