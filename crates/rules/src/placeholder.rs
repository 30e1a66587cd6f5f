//! Values that look like secrets but are placeholders in documentation and templates.

/// Whether `secret` is a placeholder rather than a credential: documented example keys
/// (`EXAMPLE`), masked or redacted values (`xxxx`, `****`), template references (`${VAR}`,
/// `{{ var }}`, `<your-key>`), and the usual stand-ins (`changeme`, `your_api_key`, …).
pub fn looks_like_placeholder(secret: &[u8]) -> bool {
    let lower: Vec<u8> = secret.iter().map(|b| b.to_ascii_lowercase()).collect();
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
    if MARKERS
        .iter()
        .any(|m| lower.windows(m.len()).any(|w| w == *m))
    {
        return true;
    }
    // `<...>` wrapped values and `$VAR` references.
    if lower.first() == Some(&b'<') && lower.last() == Some(&b'>') {
        return true;
    }
    if lower.first() == Some(&b'$')
        && lower[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        return true;
    }
    // A run of one repeated character (`0000000000`, `aaaaaaaa`) is filler.
    lower.len() >= 8 && lower.iter().all(|&b| b == lower[0])
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
