//! BIP-173 bech32: the checksummed encoding of age identities (`AGE-SECRET-KEY-1…`).

const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATORS: [u32; 5] = [
    0x3b6a_57b2,
    0x2650_8e6d,
    0x1ea1_19fa,
    0x3d42_33dd,
    0x2a14_62b3,
];
/// Longest bech32 string BIP-173 allows; age lifts the limit, its keys are 74 characters.
const MAX_LEN: usize = 1024;

fn polymod_step(chk: u32, value: u8) -> u32 {
    let top = chk >> 25;
    let mut chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(value);
    for (i, g) in GENERATORS.iter().enumerate() {
        if (top >> i) & 1 == 1 {
            chk ^= g;
        }
    }
    chk
}

fn charset_index(b: u8) -> Option<u8> {
    let lower = b.to_ascii_lowercase();
    CHARSET.iter().position(|&c| c == lower).map(|i| i as u8)
}

/// Decodes a bech32 string (not bech32m) and verifies its checksum. Returns the
/// lower-cased human-readable part and the 5-bit data values without the checksum.
/// Upper or lower case is accepted; mixed case is not (BIP-173).
pub fn bech32_decode(text: &[u8]) -> Option<(String, Vec<u8>)> {
    if text.len() < 8 || text.len() > MAX_LEN {
        return None;
    }
    let has_lower = text.iter().any(u8::is_ascii_lowercase);
    let has_upper = text.iter().any(u8::is_ascii_uppercase);
    if has_lower && has_upper {
        return None;
    }
    let sep = text.iter().rposition(|&b| b == b'1')?;
    let (hrp, rest) = (&text[..sep], &text[sep + 1..]);
    if hrp.is_empty() || rest.len() < 6 || hrp.iter().any(|&b| !(33..=126).contains(&b)) {
        return None;
    }
    let data: Vec<u8> = rest
        .iter()
        .map(|&b| charset_index(b))
        .collect::<Option<_>>()?;
    let hrp_lower: Vec<u8> = hrp.iter().map(u8::to_ascii_lowercase).collect();
    let mut chk = 1u32;
    for &b in &hrp_lower {
        chk = polymod_step(chk, b >> 5);
    }
    chk = polymod_step(chk, 0);
    for &b in &hrp_lower {
        chk = polymod_step(chk, b & 31);
    }
    for &v in &data {
        chk = polymod_step(chk, v);
    }
    if chk != 1 {
        return None;
    }
    let payload_len = data.len() - 6;
    let hrp = String::from_utf8(hrp_lower).ok()?;
    let mut data = data;
    data.truncate(payload_len);
    Some((hrp, data))
}

/// Regroups 5-bit values into bytes; the leftover padding must be under 5 bits and zero.
fn five_to_eight(data: &[u8]) -> Option<Vec<u8>> {
    let mut acc = 0u32;
    let mut bits = 0u32;
    let mut out = Vec::with_capacity(data.len() * 5 / 8);
    for &v in data {
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 5 || acc != 0 {
        return None;
    }
    Some(out)
}

/// An age X25519 identity: hrp `age-secret-key-`, 32 bytes of key, valid checksum.
pub(super) fn is_age_secret_key(secret: &[u8]) -> bool {
    match bech32_decode(secret) {
        Some((hrp, data)) => {
            hrp == "age-secret-key-" && five_to_eight(&data).is_some_and(|k| k.len() == 32)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes for the tests, so they build keys of their own rather than copy one.
    fn encode(hrp: &str, bytes: &[u8]) -> String {
        let mut data = Vec::new();
        let (mut acc, mut bits) = (0u32, 0u32);
        for &b in bytes {
            acc = (acc << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                data.push(((acc >> bits) & 31) as u8);
            }
        }
        if bits > 0 {
            data.push(((acc << (5 - bits)) & 31) as u8);
        }
        let mut chk = 1u32;
        for b in hrp.bytes() {
            chk = polymod_step(chk, b >> 5);
        }
        chk = polymod_step(chk, 0);
        for b in hrp.bytes() {
            chk = polymod_step(chk, b & 31);
        }
        for &v in &data {
            chk = polymod_step(chk, v);
        }
        for _ in 0..6 {
            chk = polymod_step(chk, 0);
        }
        chk ^= 1;
        let mut out = format!("{hrp}1");
        for &v in &data {
            out.push(CHARSET[v as usize] as char);
        }
        for i in 0..6 {
            out.push(CHARSET[((chk >> (5 * (5 - i))) & 31) as usize] as char);
        }
        out
    }

    #[test]
    fn bip173_test_vectors() {
        // Valid strings from BIP-173.
        for valid in [
            "A12UEL5L",
            "a12uel5l",
            "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
            "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
            "?1ezyfcl",
        ] {
            assert!(bech32_decode(valid.as_bytes()).is_some(), "{valid}");
        }
        // Invalid ones: no separator, empty hrp, bad checksum, mixed case, bad character.
        for invalid in [
            "pzry9x0s0muk",
            "1pzry9x0s0muk",
            "x1b4n0q5v",
            "li1dgmt3",
            "A1G7SGD8",
            "a12UEL5L",
            "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxb",
        ] {
            assert!(bech32_decode(invalid.as_bytes()).is_none(), "{invalid}");
        }
    }

    #[test]
    fn age_secret_keys() {
        let key: Vec<u8> = (0u8..32)
            .map(|i| i.wrapping_mul(37).wrapping_add(11))
            .collect();
        let lower = encode("age-secret-key-", &key);
        let upper = lower.to_ascii_uppercase();
        assert!(upper.starts_with("AGE-SECRET-KEY-1"));
        assert_eq!(upper.len(), 74);
        assert!(is_age_secret_key(upper.as_bytes()));
        assert!(is_age_secret_key(lower.as_bytes()));
        // One changed character breaks the checksum.
        let mut typo = upper.clone().into_bytes();
        typo[30] = if typo[30] == b'Q' { b'P' } else { b'Q' };
        assert!(!is_age_secret_key(&typo));
        // Right checksum, wrong length or wrong hrp.
        assert!(!is_age_secret_key(
            encode("age-secret-key-", &key[..31])
                .to_ascii_uppercase()
                .as_bytes()
        ));
        assert!(!is_age_secret_key(encode("age", &key).as_bytes()));
        assert!(!is_age_secret_key(
            b"AGE-SECRET-KEY-1XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
        ));
    }
}
