//! PyPI API tokens: `pypi-` + a base64url-encoded macaroon in the v2 binary format.
//!
//! v2 layout (libmacaroons): version byte `2`; then packets of `type` varint, `length`
//! varint, bytes. The header is `[location(1)] identifier(2) EOS(0)`; each caveat is
//! `[location(1)] identifier(2) [vid(4)] EOS(0)`; an extra EOS ends the caveats; then
//! `signature(6)` of 32 bytes.

use super::{decode_base64_lenient, is_base64url_byte, Validation};

const EOS: u64 = 0;
const LOCATION: u64 = 1;
const IDENTIFIER: u64 = 2;
const VID: u64 = 4;
const SIGNATURE: u64 = 6;

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.data.get(self.pos)?;
            self.pos += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// The next packet's type without consuming it.
    fn peek_type(&mut self) -> Option<u64> {
        let at = self.pos;
        let t = self.varint();
        self.pos = at;
        t
    }

    /// One packet: (type, contents). `EOS` has no length or contents.
    fn packet(&mut self) -> Option<(u64, &'a [u8])> {
        let t = self.varint()?;
        if t == EOS {
            return Some((EOS, &[]));
        }
        let len = usize::try_from(self.varint()?).ok()?;
        let end = self.pos.checked_add(len)?;
        let body = self.data.get(self.pos..end)?;
        self.pos = end;
        Some((t, body))
    }

    fn expect(&mut self, t: u64) -> Option<&'a [u8]> {
        match self.packet()? {
            (got, body) if got == t => Some(body),
            _ => None,
        }
    }
}

/// The macaroon header's location, if `data` starts with a v2 header (version, optional
/// location, non-empty identifier, EOS).
fn header_location<'a>(r: &mut Reader<'a>) -> Option<&'a [u8]> {
    if r.data.first() != Some(&2) {
        return None;
    }
    r.pos = 1;
    let location = if r.peek_type()? == LOCATION {
        r.expect(LOCATION)?
    } else {
        &[]
    };
    let id = r.expect(IDENTIFIER)?;
    if id.is_empty() {
        return None;
    }
    r.expect(EOS)?;
    Some(location)
}

/// Caveats, the end-of-caveats marker, and a 32-byte signature ending the data.
fn body_is_complete(r: &mut Reader<'_>) -> Option<()> {
    loop {
        match r.peek_type()? {
            EOS => {
                r.expect(EOS)?;
                break;
            }
            LOCATION | IDENTIFIER => {
                if r.peek_type()? == LOCATION {
                    r.expect(LOCATION)?;
                }
                r.expect(IDENTIFIER)?;
                if r.peek_type()? == VID {
                    r.expect(VID)?;
                }
                r.expect(EOS)?;
            }
            _ => return None,
        }
    }
    let sig = r.expect(SIGNATURE)?;
    (sig.len() == 32 && r.pos == r.data.len()).then_some(())
}

/// A PyPI token is reported when its header is a macaroon located at PyPI; it is proven
/// (`validated`) when the whole macaroon parses. The environment is `prod` for pypi.org
/// and `test` for test.pypi.org.
pub(super) fn validate_pypi(secret: &[u8]) -> Validation {
    let Some(body) = secret.strip_prefix(b"pypi-") else {
        return Validation::Reject;
    };
    if body.is_empty() || !body.iter().all(|&b| is_base64url_byte(b) || b == b'=') {
        return Validation::Reject;
    }
    let usable = match body.iter().position(|&b| b == b'=') {
        Some(i) => &body[..i],
        None => body,
    };
    // A token cut short in the text still decodes up to its last whole 4-character group.
    let (data, whole) = match decode_base64_lenient(usable) {
        Some(d) => (d, true),
        None => match decode_base64_lenient(&usable[..usable.len() - usable.len() % 4]) {
            Some(d) => (d, false),
            None => return Validation::Reject,
        },
    };
    let mut r = Reader {
        data: &data,
        pos: 0,
    };
    let environment = match header_location(&mut r) {
        Some(b"pypi.org") => "prod",
        Some(b"test.pypi.org") => "test",
        _ => return Validation::Reject,
    };
    Validation::Accept {
        validated: whole && body_is_complete(&mut r).is_some(),
        environment: Some(environment.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    fn packet(out: &mut Vec<u8>, t: u8, body: &[u8]) {
        out.push(t);
        assert!(body.len() < 128);
        out.push(body.len() as u8);
        out.extend_from_slice(body);
    }

    /// A macaroon v2 as PyPI issues it: location, identifier, one caveat, signature.
    fn macaroon(location: &[u8]) -> Vec<u8> {
        let mut m = vec![2];
        packet(&mut m, 1, location);
        packet(&mut m, 2, b"8d4c5b0f-6a3e-4c1e-9f7e-0b2d1a3c4e5f");
        m.push(0);
        packet(
            &mut m,
            2,
            br#"{"version": 1, "permissions": {"projects": ["demo"]}}"#,
        );
        m.push(0);
        m.push(0);
        packet(&mut m, 6, &[0x5a; 32]);
        m
    }

    fn token(m: &[u8]) -> String {
        format!("pypi-{}", URL_SAFE_NO_PAD.encode(m))
    }

    #[test]
    fn full_macaroons_validate_with_their_index() {
        let prod = token(&macaroon(b"pypi.org"));
        assert!(prod.starts_with("pypi-AgEIcHlwaS5vcmc"), "{prod}");
        assert_eq!(
            validate_pypi(prod.as_bytes()),
            Validation::Accept {
                validated: true,
                environment: Some("prod".into())
            }
        );
        let test = token(&macaroon(b"test.pypi.org"));
        assert!(test.starts_with("pypi-AgENdGVzdC5weXBpLm9yZw"), "{test}");
        assert_eq!(
            validate_pypi(test.as_bytes()),
            Validation::Accept {
                validated: true,
                environment: Some("test".into())
            }
        );
    }

    #[test]
    fn truncated_tokens_are_reported_but_not_proven() {
        let full = token(&macaroon(b"pypi.org"));
        let cut = &full[..90];
        assert_eq!(
            validate_pypi(cut.as_bytes()),
            Validation::Accept {
                validated: false,
                environment: Some("prod".into())
            }
        );
    }

    #[test]
    fn wrong_structure_is_rejected() {
        // The right prefix followed by noise: the identifier packet is missing.
        assert_eq!(
            validate_pypi(b"pypi-AgEIcHlwaS5vcmcXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
            Validation::Reject
        );
        // Another location.
        assert_eq!(
            validate_pypi(token(&macaroon(b"evil.example")).as_bytes()),
            Validation::Reject
        );
        // Version 1 macaroons are base64 text, not PyPI tokens.
        let mut v1 = macaroon(b"pypi.org");
        v1[0] = 1;
        assert_eq!(validate_pypi(token(&v1).as_bytes()), Validation::Reject);
        assert_eq!(validate_pypi(b"pypi-"), Validation::Reject);
        assert_eq!(validate_pypi(b"pypi-AgEI!!!"), Validation::Reject);
        // A 31-byte signature does not complete the macaroon.
        let mut short_sig = macaroon(b"pypi.org");
        short_sig.pop();
        let len_at = short_sig.len() - 32;
        short_sig[len_at] = 31;
        assert_eq!(
            validate_pypi(token(&short_sig).as_bytes()),
            Validation::Accept {
                validated: false,
                environment: Some("prod".into())
            }
        );
    }
}
