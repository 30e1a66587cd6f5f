//! Slack tokens: a kind prefix, then dash-separated segments whose shape depends on the kind.

use super::Validation;

fn digits(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

fn alnum(s: &[u8], min: usize) -> bool {
    s.len() >= min && s.iter().all(u8::is_ascii_alphanumeric)
}

/// Bot (`xoxb-<team>-<bot>-<24+ alnum>`), user (`xoxp-<team>-<user>-<id>-<32 hex>`) and
/// app-level (`xapp-1-<A…>-<digits>-<64 hex>`) tokens have documented shapes and are
/// proven by them; the rarer kinds (`xoxa`, `xoxc`, `xoxd`, `xoxe`, `xoxr`, `xoxs`) are
/// reported when their characters are plausible.
pub(super) fn validate(secret: &[u8]) -> Validation {
    let segments: Vec<&[u8]> = secret.split(|&b| b == b'-').collect();
    let (kind, rest) = match segments.split_first() {
        Some((k, r)) if !r.is_empty() => (*k, r),
        _ => return Validation::Reject,
    };
    match kind {
        b"xoxb" => {
            let Some((last, ids)) = rest.split_last() else {
                return Validation::Reject;
            };
            Validation::proven_if(
                !ids.is_empty() && ids.iter().all(|s| digits(s)) && alnum(last, 24),
            )
        }
        b"xoxp" => {
            let Some((last, ids)) = rest.split_last() else {
                return Validation::Reject;
            };
            Validation::proven_if(
                ids.len() >= 2
                    && ids.iter().all(|s| digits(s))
                    && last.len() == 32
                    && last.iter().all(u8::is_ascii_hexdigit),
            )
        }
        b"xapp" => Validation::proven_if(
            rest.len() == 4
                && digits(rest[0])
                && rest[1].first() == Some(&b'A')
                && alnum(rest[1], 8)
                && digits(rest[2])
                && rest[3].len() == 64
                && rest[3].iter().all(u8::is_ascii_hexdigit),
        ),
        b"xoxa" | b"xoxc" | b"xoxd" | b"xoxe" | b"xoxe.xoxp" | b"xoxe.xoxb" | b"xoxr" | b"xoxs"
        | b"xoxo" => {
            let plausible = rest.iter().all(|s| {
                s.iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'%' || b == b'_')
            }) && rest.iter().map(|s| s.len()).sum::<usize>() >= 20;
            if plausible {
                Validation::unproven()
            } else {
                Validation::Reject
            }
        }
        _ => Validation::Reject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_shapes_are_proven() {
        for ok in [
            &b"xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"[..],
            b"xoxb-263594206564-2343594967828-F9uyWJzLQvRc8FCgAKgoJvG3",
            b"xoxp-41684372915-1320496754-45609968301-e708ba56e1517a99f6b5fb07349476ef",
            b"xapp-1-A01B2C3D4E5-1234567890123-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(validate(ok), Validation::proven(), "{}", String::from_utf8_lossy(ok));
        }
        assert_eq!(
            validate(b"xoxe.xoxp-1-Mi0yLTExMjM0NTY3ODktMTIzNDU2Nzg5MDEy"),
            Validation::unproven()
        );
    }

    #[test]
    fn broken_shapes_are_rejected() {
        for bad in [
            &b"xoxb-17653672481-pdFZKVeTuE8sk7oOcB"[..],
            b"xoxb-1765367248a-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
            b"xoxp-41684372915-1320496754-45609968301-e708ba56e1517a99f6b5fb07349476eZ",
            b"xoxp-41684372915-e708ba56e1517a99f6b5fb07349476ef",
            b"xapp-1-B01B2C3D4E5-1234567890123-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            b"xoxq-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
            b"xoxc-short",
            b"xoxb",
        ] {
            assert_eq!(validate(bad), Validation::Reject, "{}", String::from_utf8_lossy(bad));
        }
    }
}
