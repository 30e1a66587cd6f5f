//! Values that look like secrets but are placeholders in documentation and templates.

/// Whether `secret` is a placeholder rather than a credential: documented example keys
/// (`EXAMPLE`), masked or redacted values (`xxxx`, `****`), template references (`${VAR}`,
/// `{{ var }}`, `<your-key>`), and the usual stand-ins (`changeme`, `your_api_key`, …).
pub fn looks_like_placeholder(secret: &[u8]) -> bool {
    const MARKERS: &[&[u8]] = &[
        b"example",
        b"xxxx",
        b"****",
        b"${",
        b"{{",
        b"<your",
        b"your_",
        b"your-",
        b"yourkey",
        b"changeme",
        b"change_me",
        b"placeholder",
        b"redacted",
        b"dummy",
        b"insert_",
        b"replace_me",
        b"replaceme",
    ];
    // Called on every candidate: compare case-insensitively in place rather than lowering
    // a copy.
    if MARKERS
        .iter()
        .any(|m| contains_ignore_ascii_case(secret, m))
    {
        return true;
    }
    // `<...>` wrapped values and `$VAR` references.
    if secret.first() == Some(&b'<') && secret.last() == Some(&b'>') {
        return true;
    }
    if let Some((b'$', rest)) = secret.split_first() {
        if rest.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') {
            return true;
        }
    }
    // A run of one repeated character (`0000000000`, `aaaaaaaa`) is filler.
    secret.len() >= 8 && secret.iter().all(|b| b.eq_ignore_ascii_case(&secret[0]))
}

/// Whether `needle` (lower case) occurs in `hay`, ignoring ASCII case.
pub(crate) fn contains_ignore_ascii_case(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || (hay.len() >= needle.len()
            && hay
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_placeholders() {
        for p in [
            "AKIAIOSFODNN7EXAMPLE",
            "xxxxxxxxxxxxxxxx",
            "sk_live_****************",
            "${STRIPE_KEY}",
            "{{ secret }}",
            "<your-api-key>",
            "changeme",
            "$API_TOKEN",
            "0000000000000000",
            "AAAAaaaaAAAA",
            "My_Example_Token_123",
        ] {
            assert!(looks_like_placeholder(p.as_bytes()), "{p}");
        }
    }

    #[test]
    fn does_not_flag_random_tokens() {
        for t in [
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzKEYEXAMPL",
            "9f8a7c6d5e4b3a2f1e0d",
            "ghp_R2n5xQ8wL1mK4jH7gF0dS3aZ6cV9bN2mQ5wE",
        ] {
            assert!(!looks_like_placeholder(t.as_bytes()), "{t}");
        }
    }
}
