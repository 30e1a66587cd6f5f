//! Encoded segments: base64, base64url, hex and percent-encoded runs that decode to at least
//! [`MIN_DECODED`] bytes of text are decoded and scanned in turn (nested to [`MAX_DEPTH`]),
//! so a credential does not escape by being wrapped in `echo … | base64`, a Kubernetes
//! Secret's `data:` or a URL query. A finding in decoded text is reported at the encoded
//! segment's place in the input, with the encodings it was found under.

use regex::bytes::Regex;
use std::ops::Range;
use std::sync::OnceLock;

/// Decoded segments shorter than this are not scanned: no credential is that short.
pub const MIN_DECODED: usize = 16;
/// Decoded text is decoded again at most this deep (base64 inside base64).
pub const MAX_DEPTH: usize = 2;

/// How a segment was encoded, as findings name it in `decoded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Base64,
    Base64Url,
    Hex,
    Percent,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Base64Url => "base64url",
            Encoding::Hex => "hex",
            Encoding::Percent => "percent",
        }
    }
}

/// One decoded segment: where it sits in the input, how it was encoded, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub span: Range<usize>,
    pub encoding: Encoding,
    pub text: Vec<u8>,
}

/// Base64 of 16 bytes is 22 characters; hex of 16 bytes is 32 (a subset of the first).
const MIN_RUN: usize = 22;

/// The characters of base64, base64url and hex runs.
const RUN_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'_' | b'-');
        b += 1;
    }
    table
};

fn is_run_byte(bytes: &[u8], at: usize) -> bool {
    bytes.get(at).is_some_and(|&b| RUN_BYTE[b as usize])
}

/// The spans `[A-Za-z0-9+/_\-]{22,}={0,2}` matches, leftmost first, as the regex would
/// give them. A regex walks every byte, and on source text that cost as much as the rules
/// themselves; here, a byte outside the class at `i + 21` rules out a run anywhere in
/// `i..=i + 21`, so text made of short words is read about one byte in ten.
fn runs(bytes: &[u8]) -> impl Iterator<Item = Range<usize>> + '_ {
    // Invariant: `at` is 0, or the byte before it is not a run byte, or `at` is the end
    // of a run (the byte at `at` is then not a run byte).
    let mut at = 0;
    std::iter::from_fn(move || {
        while at + MIN_RUN <= bytes.len() {
            let probe = at + MIN_RUN - 1;
            if !is_run_byte(bytes, probe) {
                at = probe + 1;
                continue;
            }
            let mut start = probe;
            while start > at && is_run_byte(bytes, start - 1) {
                start -= 1;
            }
            let mut end = probe + 1;
            while is_run_byte(bytes, end) {
                end += 1;
            }
            if end - start < MIN_RUN {
                at = end;
                continue;
            }
            for _ in 0..2 {
                if bytes.get(end) == Some(&b'=') {
                    end += 1;
                }
            }
            at = end;
            return Some(start..end);
        }
        None
    })
}

fn percent_runs() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"[^\s"'<>%]*(?:%[0-9A-Fa-f]{2}[^\s"'<>%]*){2,}"#)
            .expect("a fixed pattern compiles")
    })
}

/// The encoded segments of `bytes` that lie in the line-aligned `ranges` (in order), as
/// [`segments`] of the whole would give them: neither kind of run holds a line end, so a
/// search from a line start finds what a search of the whole text finds there.
pub(crate) fn segments_within(bytes: &[u8], ranges: &[Range<usize>]) -> Vec<Decoded> {
    let mut out = Vec::new();
    for range in ranges {
        let Some(part) = bytes.get(range.clone()) else {
            continue;
        };
        out.extend(segments(part).into_iter().map(|mut d| {
            d.span = d.span.start + range.start..d.span.end + range.start;
            d
        }));
    }
    out
}

/// The encoded segments of `bytes` that decode to text of at least [`MIN_DECODED`] bytes.
pub fn segments(bytes: &[u8]) -> Vec<Decoded> {
    let mut out = Vec::new();
    for span in runs(bytes) {
        if let Some((encoding, text)) = decode_run(&bytes[span.clone()]) {
            out.push(Decoded {
                span,
                encoding,
                text,
            });
        }
    }
    if memchr::memchr(b'%', bytes).is_some() {
        for m in percent_runs().find_iter(bytes) {
            let text = percent_encoding::percent_decode(m.as_bytes()).collect::<Vec<u8>>();
            if text.len() >= MIN_DECODED && text != m.as_bytes() && is_text(&text) {
                out.push(Decoded {
                    span: m.range(),
                    encoding: Encoding::Percent,
                    text,
                });
            }
        }
    }
    out
}

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
/// Built once: constructing an engine builds its lookup tables.
const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, CONFIG);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, CONFIG);

fn decode_run(run: &[u8]) -> Option<(Encoding, Vec<u8>)> {
    use base64::Engine;
    let bare = run.strip_suffix(b"==").or_else(|| run.strip_suffix(b"="));
    let bare = bare.unwrap_or(run);
    if bare.len() >= 2 * MIN_DECODED
        && bare.len().is_multiple_of(2)
        && bare.iter().all(u8::is_ascii_hexdigit)
    {
        let text = hex_decode(bare)?;
        return is_text(&text).then_some((Encoding::Hex, text));
    }
    let url = bare.iter().any(|b| matches!(b, b'-' | b'_'));
    let standard = bare.iter().any(|b| matches!(b, b'+' | b'/'));
    let (encoding, engine) = match (url, standard) {
        (true, true) => return None,
        (true, false) => (Encoding::Base64Url, &URL_SAFE),
        (false, _) => (Encoding::Base64, &STANDARD),
    };
    // A length of 1 mod 4 is never valid base64: the run's last character belongs to
    // what follows it.
    let usable = if bare.len() % 4 == 1 {
        &bare[..bare.len() - 1]
    } else {
        bare
    };
    let text = engine.decode(usable).ok()?;
    (text.len() >= MIN_DECODED && is_text(&text)).then_some((encoding, text))
}

fn hex_decode(hex: &[u8]) -> Option<Vec<u8>> {
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    hex.chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// Decoded bytes worth scanning: UTF-8 with nearly every character printable. Random
/// bytes (hashes, keys' raw bytes, identifiers that happen to be valid base64) fail this.
fn is_text(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let total = text.chars().count();
    let printable = text
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .count();
    printable * 100 >= total * 97
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_hex_percent_and_url_safe_runs_decode() {
        let secret = "password=Tr0ub4dor&3horse-battery";
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, secret);
        let url = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            "token: ab?cd>>ef??gh>>ij~~kl",
        );
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        let pct = "q=password%3DTr0ub4dor%263horse%2Dbattery";
        let text = format!("a: {b64}\nb: {url}\nc: {hex}\nd: {pct}\n");
        let found = segments(text.as_bytes());
        let kinds: Vec<&str> = found.iter().map(|d| d.encoding.name()).collect();
        assert_eq!(kinds, vec!["base64", "base64url", "hex", "percent"]);
        assert_eq!(found[0].text, secret.as_bytes());
        assert_eq!(&text[found[0].span.clone()], b64);
        assert_eq!(found[2].text, secret.as_bytes());
        assert_eq!(found[3].text, b"q=password=Tr0ub4dor&3horse-battery");
    }

    #[test]
    fn runs_are_the_spans_of_the_regex_they_replace() {
        let re = Regex::new(r"[A-Za-z0-9+/_\-]{22,}={0,2}").expect("regex");
        let alphabet: &[u8] = b"aZ9+/_-=== \n.\xc3\xa9%";
        // A small deterministic generator: runs of every length around the threshold,
        // padding, separators and non-ASCII bytes.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..3_000 {
            let mut text = Vec::new();
            for _ in 0..next(12) {
                let run = next(30);
                let byte = alphabet[next(7)];
                for _ in 0..run {
                    text.push(if next(4) == 0 {
                        alphabet[next(alphabet.len())]
                    } else {
                        byte
                    });
                }
                text.push(alphabet[next(alphabet.len())]);
            }
            let expected: Vec<Range<usize>> = re.find_iter(&text).map(|m| m.range()).collect();
            let got: Vec<Range<usize>> = runs(&text).collect();
            assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(&text));
        }
    }

    #[test]
    fn identifiers_hashes_and_short_runs_are_left_alone() {
        let text = "fn some_long_identifier_name_here() {}\n\
                    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n\
                    path: src/engine/scanner/windows/lines.rs\n\
                    short: aGVsbG8=\n";
        assert_eq!(segments(text.as_bytes()), vec![]);
    }
}
