//! Whether an input is text, and UTF-16 text made scannable: Windows tools (PowerShell's
//! `>` redirection, regedit exports, .NET config writers) save UTF-16, whose ASCII letters
//! are each followed or preceded by a NUL byte, which the binary sniff would otherwise
//! take for a binary file and skip.

use std::borrow::Cow;

/// Binary sniffing looks for a NUL byte in this much of the input, as git does.
pub const SNIFF: usize = 8 * 1024;

/// What an input's bytes are, for scanning.
#[derive(Debug, PartialEq, Eq)]
pub enum Content<'a> {
    /// Scan these bytes (the input itself, or its UTF-16 decoded to UTF-8).
    Text(Cow<'a, [u8]>),
    /// Binary: not scanned.
    Binary,
}

impl Content<'_> {
    /// Whether the text was decoded from UTF-16.
    pub fn is_decoded(&self) -> bool {
        matches!(self, Content::Text(Cow::Owned(_)))
    }
}

/// Classifies `bytes`: UTF-16 (with a byte-order mark, or without one when the sample has
/// NULs in every other byte) is decoded; other input with a NUL in its first [`SNIFF`]
/// bytes is binary; the rest is text as it is.
pub fn classify(bytes: &[u8]) -> Content<'_> {
    if let Some(big_endian) = utf16_order(bytes) {
        if let Some(decoded) = decode_utf16(bytes, big_endian) {
            return Content::Text(Cow::Owned(decoded));
        }
    }
    let sniff = &bytes[..bytes.len().min(SNIFF)];
    if memchr::memchr(0, sniff).is_some() {
        Content::Binary
    } else {
        Content::Text(Cow::Borrowed(bytes))
    }
}

/// `Some(big_endian)` when `bytes` look like UTF-16.
fn utf16_order(bytes: &[u8]) -> Option<bool> {
    match bytes {
        [0xFF, 0xFE, ..] => return Some(false),
        [0xFE, 0xFF, ..] => return Some(true),
        _ => {}
    }
    // No BOM: mostly-ASCII UTF-16 has a NUL in nearly every high byte and almost none in
    // the low bytes. Binary formats with NULs (executables, images) do not keep that up.
    let sample = &bytes[..bytes.len().min(SNIFF) & !1];
    if sample.len() < 16 {
        return None;
    }
    let pairs = sample.len() / 2;
    let even_nuls = sample.iter().step_by(2).filter(|&&b| b == 0).count();
    let odd_nuls = sample
        .iter()
        .skip(1)
        .step_by(2)
        .filter(|&&b| b == 0)
        .count();
    let mostly = |n: usize| n * 10 >= pairs * 9;
    let few = |n: usize| n * 50 <= pairs;
    if mostly(odd_nuls) && few(even_nuls) {
        Some(false)
    } else if mostly(even_nuls) && few(odd_nuls) {
        Some(true)
    } else {
        None
    }
}

/// UTF-16 to UTF-8, the BOM dropped. `None` when the input is not valid UTF-16 (an unpaired
/// surrogate, or a NUL character, which text does not hold): it is then judged as bytes.
fn decode_utf16(bytes: &[u8], big_endian: bool) -> Option<Vec<u8>> {
    let units = bytes.chunks_exact(2).map(|pair| {
        if big_endian {
            u16::from_be_bytes([pair[0], pair[1]])
        } else {
            u16::from_le_bytes([pair[0], pair[1]])
        }
    });
    let mut out = String::with_capacity(bytes.len() / 2);
    for (i, c) in char::decode_utf16(units).enumerate() {
        match c {
            Ok('\u{feff}') if i == 0 => {}
            Ok('\0') | Err(_) => return None,
            Ok(c) => out.push(c),
        }
    }
    Some(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let units = bom
            .then_some(0xFEFFu16)
            .into_iter()
            .chain(text.encode_utf16());
        for u in units {
            out.extend(if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            });
        }
        out
    }

    #[test]
    fn utf16_with_or_without_bom_is_decoded() {
        let text = "token = \"dtk_Ab3De6Gh9Jk2Mn5Pq8St\"\r\n";
        for (be, bom) in [(false, true), (true, true), (false, false), (true, false)] {
            let bytes = utf16(text, be, bom);
            assert_eq!(
                classify(&bytes),
                Content::Text(Cow::Owned(text.as_bytes().to_vec())),
                "big endian {be}, bom {bom}"
            );
        }
    }

    #[test]
    fn binary_and_plain_text() {
        assert_eq!(
            classify(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0"),
            Content::Binary
        );
        assert_eq!(classify(b"plain"), Content::Text(Cow::Borrowed(b"plain")));
        // A gzip header is not UTF-16 even though it holds NULs.
        let gz = [
            0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0, 0x86, 0xa6,
            0x10, 0x36, 0x05, 0, 0, 0,
        ];
        assert_eq!(classify(&gz), Content::Binary);
    }
}
