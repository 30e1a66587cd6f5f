//! Fixed markers that AI providers put inside their keys.

use super::{is_base64url_byte, Validation};

/// base64 of "OpenAI": every OpenAI key format carries it between two random halves.
const OPENAI_MARKER: &[u8] = b"T3BlbkFJ";
/// Each random half of the shortest (legacy, 20+20) OpenAI key.
const OPENAI_MIN_HALF: usize = 16;

/// `sk-` (optionally `sk-proj-`, `sk-svcacct-`, `sk-admin-`, …) then base64url with the
/// marker in the middle.
pub(super) fn validate_openai(secret: &[u8]) -> Validation {
    let Some(body) = secret.strip_prefix(b"sk-") else {
        return Validation::Reject;
    };
    if !body.iter().all(|&b| is_base64url_byte(b)) {
        return Validation::Reject;
    }
    let has_marker = body.windows(OPENAI_MARKER.len()).enumerate().any(|(i, w)| {
        w == OPENAI_MARKER
            && i >= OPENAI_MIN_HALF
            && body.len() - i - OPENAI_MARKER.len() >= OPENAI_MIN_HALF
    });
    Validation::proven_if(has_marker)
}

/// Anthropic keys: a versioned prefix, 93 base64url characters, then `AA`.
pub(super) fn validate_anthropic(secret: &[u8]) -> Validation {
    let Some(body) = [&b"sk-ant-api03-"[..], b"sk-ant-admin01-"]
        .iter()
        .find_map(|p| secret.strip_prefix(*p))
    else {
        return Validation::Reject;
    };
    Validation::proven_if(
        body.len() == 95 && body.ends_with(b"AA") && body.iter().all(|&b| is_base64url_byte(b)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_keys_need_the_marker_in_the_middle() {
        let legacy = b"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";
        assert_eq!(validate_openai(legacy), Validation::proven());
        let project = format!(
            "sk-proj-{}T3BlbkFJ{}",
            "Ab3_dE5-gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5oQ7sU9wY1aC3eG5iK7mO9qS1uW",
            "Zy8xW6vU4tS2rQ0pO8nM6lK4jI2hG0fE8dC6bA4zY2xW0vU8tS6rQ4pO2nM0lK"
        );
        assert_eq!(validate_openai(project.as_bytes()), Validation::proven());
        // No marker, marker at an edge, wrong prefix, or foreign characters.
        for bad in [
            &b"sk-9xQ2mB7vL4kR8tP1wZ6cAAAAAAAAu5hN0eY3jD9aF2gS7qW4"[..],
            b"sk-T3BlbkFJu5hN0eY3jD9aF2gS7qW4u5hN0eY3jD9aF2gS7qW4",
            b"pk-9xQ2mB7vL4kR8tP1wZ6cT3BlbkFJu5hN0eY3jD9aF2gS7qW4",
            b"sk-9xQ2mB7vL4kR8tP1wZ6cT3BlbkFJu5hN0eY3jD9aF2gS7q.4",
        ] {
            assert_eq!(validate_openai(bad), Validation::Reject);
        }
    }

    #[test]
    fn anthropic_keys_have_93_characters_then_aa() {
        let random: String = (0..93).map(|i| b"abcXYZ019-_Qk"[i % 13] as char).collect();
        let api = format!("sk-ant-api03-{random}AA");
        let admin = format!("sk-ant-admin01-{random}AA");
        assert_eq!(validate_anthropic(api.as_bytes()), Validation::proven());
        assert_eq!(validate_anthropic(admin.as_bytes()), Validation::proven());
        for bad in [
            format!("sk-ant-api03-{random}AB"),
            format!("sk-ant-api03-{}AA", &random[1..]),
            format!("sk-ant-api02-{random}AA"),
            format!("sk-ant-api03-{}.AA", &random[1..]),
        ] {
            assert_eq!(
                validate_anthropic(bad.as_bytes()),
                Validation::Reject,
                "{bad}"
            );
        }
    }
}
