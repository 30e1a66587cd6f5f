//! HOTP (RFC 4226) and TOTP (RFC 6238) with SHA-1, base32 secrets, and the otpauth URI.

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per TOTP step.
pub const STEP_SECONDS: i64 = 30;
/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Steps of clock drift accepted either side of the current one.
pub const DRIFT_STEPS: i64 = 1;
/// Bytes of randomness in a new secret (160 bits, the HMAC-SHA-1 block-friendly size RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;

const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, as authenticator apps expect.
pub fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut buffer: u64 = 0;
    let mut bits = 0u32;
    for &byte in data {
        buffer = (buffer << 8) | u64::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32_ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32_ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes base32, ignoring case, spaces and `=` padding. `None` if a character is not base32.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u64 = 0;
    let mut bits = 0u32;
    for c in text.chars() {
        if c == '=' || c == ' ' || c == '-' {
            continue;
        }
        let upper = c.to_ascii_uppercase() as u32;
        let value = BASE32_ALPHABET
            .iter()
            .position(|&a| u32::from(a) == upper)? as u64;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The HOTP value of `secret` at `counter` with `digits` digits, zero-padded.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = (hash[hash.len() - 1] & 0x0f) as usize;
    let binary = (u32::from(hash[offset] & 0x7f) << 24)
        | (u32::from(hash[offset + 1]) << 16)
        | (u32::from(hash[offset + 2]) << 8)
        | u32::from(hash[offset + 3]);
    let modulus = 10u64.pow(digits);
    format!(
        "{:0width$}",
        u64::from(binary) % modulus,
        width = digits as usize
    )
}

/// The TOTP step that contains `unix_time`.
pub fn step_at(unix_time: i64) -> i64 {
    unix_time.div_euclid(STEP_SECONDS)
}

/// The TOTP code of `secret` at `unix_time`, with `digits` digits and 30-second steps.
pub fn totp(secret: &[u8], unix_time: i64, digits: u32) -> String {
    hotp(secret, step_at(unix_time).max(0) as u64, digits)
}

/// The six-digit code an authenticator app shows at `unix_time` for a base32 secret.
pub fn code_for_base32(secret_base32: &str, unix_time: i64) -> Option<String> {
    let secret = base32_decode(secret_base32)?;
    if secret.is_empty() {
        return None;
    }
    Some(totp(&secret, unix_time, DIGITS))
}

/// The step whose code matches `code` within ±[`DRIFT_STEPS`] of `unix_time`, if any.
/// Every candidate is compared in constant time so timing does not reveal near misses.
pub fn matching_step(secret: &[u8], code: &str, unix_time: i64) -> Option<i64> {
    use subtle::ConstantTimeEq;
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(unix_time);
    let mut found = None;
    for step in (now - DRIFT_STEPS)..=(now + DRIFT_STEPS) {
        if step < 0 {
            continue;
        }
        let expected = hotp(secret, step as u64, DIGITS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// The `otpauth://` URI an authenticator app imports.
pub fn otpauth_uri(email: &str, secret_base32: &str) -> String {
    format!(
        "otpauth://totp/secrets-guard:{}?secret={secret_base32}&issuer=secrets-guard",
        percent_encode(email)
    )
}

/// The base32 secret in an `otpauth://` URI, or `text` itself when it is not a URI.
pub fn secret_from_uri(text: &str) -> Option<String> {
    let text = text.trim();
    if !text.starts_with("otpauth://") {
        return Some(text.to_owned());
    }
    text.split_once('?')?
        .1
        .split('&')
        .find_map(|pair| pair.strip_prefix("secret="))
        .map(str::to_owned)
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 column: the 20-byte ASCII seed and 8-digit codes.
    const RFC6238_SHA1: [(i64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn rfc6238_appendix_b_sha1_vectors() {
        for (time, expected) in RFC6238_SHA1 {
            assert_eq!(totp(b"12345678901234567890", time, 8), expected, "T={time}");
        }
    }

    #[test]
    fn six_digit_codes_are_the_low_digits_of_the_rfc_vectors() {
        for (time, expected) in RFC6238_SHA1 {
            assert_eq!(
                totp(b"12345678901234567890", time, 6),
                &expected[2..],
                "T={time}"
            );
        }
    }

    #[test]
    fn rfc4226_appendix_d_hotp_vectors() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(b"12345678901234567890", counter as u64, 6), *code);
        }
    }

    #[test]
    fn base32_matches_rfc4648_and_round_trips() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_encode(b"f"), "MY");
        assert_eq!(base32_decode("MZXW6YTBOI======"), Some(b"foobar".to_vec()));
        assert_eq!(base32_decode("mzxw6ytboi"), Some(b"foobar".to_vec()));
        assert_eq!(base32_decode("MZ1"), None);
        let seed = b"12345678901234567890";
        assert_eq!(base32_decode(&base32_encode(seed)), Some(seed.to_vec()));
    }

    #[test]
    fn drift_of_one_step_is_accepted_and_two_is_not() {
        let secret = b"12345678901234567890";
        let t = 1_111_111_111;
        let now = step_at(t);
        let previous = totp(secret, t - 30, 6);
        let next = totp(secret, t + 30, 6);
        let far = totp(secret, t + 60, 6);
        assert_eq!(matching_step(secret, &previous, t), Some(now - 1));
        assert_eq!(matching_step(secret, &next, t), Some(now + 1));
        assert_eq!(matching_step(secret, &far, t), None);
        assert_eq!(matching_step(secret, "12345", t), None);
        assert_eq!(matching_step(secret, "abcdef", t), None);
    }

    #[test]
    fn secrets_come_out_of_uris_or_stand_alone() {
        let uri = otpauth_uri("a@b.test", "MZXW6YTBOI");
        assert_eq!(secret_from_uri(&uri).as_deref(), Some("MZXW6YTBOI"));
        assert_eq!(secret_from_uri("MZXW6YTBOI").as_deref(), Some("MZXW6YTBOI"));
        assert_eq!(secret_from_uri("otpauth://totp/x?issuer=y"), None);
    }

    #[test]
    fn uri_carries_secret_and_issuer() {
        let uri = otpauth_uri("dev@acme.test", "ABC");
        assert_eq!(
            uri,
            "otpauth://totp/secrets-guard:dev%40acme.test?secret=ABC&issuer=secrets-guard"
        );
    }
}
