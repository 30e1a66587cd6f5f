//! The base62 CRC32 checksum carried by GitHub (`ghp_` …), npm (`npm_`) and secrets-guard keys.

/// GitHub's base62 alphabet: digits, then upper case, then lower case.
pub const BASE62_ALPHABET: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The CRC32 (IEEE) of `data`, as six base62 characters, most significant first,
/// left-padded with `0`.
pub fn base62_crc32(data: &[u8]) -> [u8; 6] {
    let mut value = crc32fast::hash(data);
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62_ALPHABET[(value % 62) as usize];
        value /= 62;
    }
    out
}

/// Whether the last `checksum_len` characters of `token_body` are the base62 CRC32 of the
/// characters before them. Only a 6-character checksum is defined; any other length is false.
pub fn has_valid_base62_crc32(token_body: &[u8], checksum_len: usize) -> bool {
    if checksum_len != 6 || token_body.len() <= checksum_len {
        return false;
    }
    let (random, checksum) = token_body.split_at(token_body.len() - checksum_len);
    base62_crc32(random) == checksum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_crc32_values_encode_as_expected() {
        // crc32("") = 0 pads to all zeros; crc32("a") = 0xE8B7BE43 = 3904355907.
        assert_eq!(&base62_crc32(b""), b"000000");
        let mut v: u64 = 3_904_355_907;
        let mut expected = Vec::new();
        while v > 0 {
            expected.push(BASE62_ALPHABET[(v % 62) as usize]);
            v /= 62;
        }
        while expected.len() < 6 {
            expected.push(b'0');
        }
        expected.reverse();
        assert_eq!(base62_crc32(b"a").to_vec(), expected);
    }

    #[test]
    fn validates_only_matching_checksums() {
        let mut token = b"abcdefghijklmnopqrstuvwxyz0123".to_vec();
        token.extend_from_slice(&base62_crc32(&token.clone()));
        assert!(has_valid_base62_crc32(&token, 6));
        let last = token.len() - 1;
        token[last] = if token[last] == b'0' { b'1' } else { b'0' };
        assert!(!has_valid_base62_crc32(&token, 6));
        assert!(!has_valid_base62_crc32(b"abc", 6));
    }
}
