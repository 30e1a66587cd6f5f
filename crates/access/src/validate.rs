//! Checks on text that people type and other people read: emails, names, descriptions.
//! Nothing stored may hide characters that change how it reads (controls, bidi overrides,
//! invisible characters), and no new email may be confusable with an existing one.

use crate::error::{AccessError, Result};

/// Controls, bidi controls and characters that render as nothing.
pub(crate) fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
            | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}' | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}')
}

/// An email address: one `@` with text on both sides, at most 254 bytes, no whitespace,
/// commas, controls, bidi or invisible characters.
pub fn validate_email(email: &str) -> Result<()> {
    let one_at = email.matches('@').count() == 1;
    let ok = email.len() <= 254
        && one_at
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email
            .chars()
            .any(|c| c.is_whitespace() || is_hidden(c) || c == ',');
    if ok {
        Ok(())
    } else {
        Err(AccessError::invalid(format!(
            "{} is not an email address (one '@', no spaces, commas, control, bidi or invisible characters)",
            escape(email)
        )))
    }
}

/// The confusable skeleton (Unicode TR39) of an email, case-folded: two addresses with
/// the same skeleton look alike.
pub fn email_skeleton(email: &str) -> String {
    unicode_security::confusable_detection::skeleton(&email.to_lowercase())
        .collect::<String>()
        .to_lowercase()
}

/// A name or description: 1 to `max` bytes, no controls (newline included), bidi
/// overrides or invisible characters.
pub fn validate_text(what: &str, text: &str, max: usize) -> Result<()> {
    if text.trim().is_empty() || text.len() > max {
        return Err(AccessError::invalid(format!(
            "{what} must be 1 to {max} characters"
        )));
    }
    if text.chars().any(is_hidden) {
        return Err(AccessError::invalid(format!(
            "{what} {} contains control, bidi or invisible characters",
            escape(text)
        )));
    }
    Ok(())
}

/// `text` with every hidden character written as `\u{…}` (and `\n`, `\t`), for showing
/// stored text on a terminal safely.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            c if is_hidden(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_exactly_one_at_and_no_hidden_characters() {
        assert!(validate_email("dev@acme.test").is_ok());
        for bad in [
            "a@b@c.test",
            "dev.acme.test",
            "dev\u{202E}@acme.test",
            "dev\u{200B}@acme.test",
            "de v@acme.test",
            "dev@acme.test\n",
        ] {
            assert!(validate_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn confusable_emails_share_a_skeleton() {
        assert_eq!(
            email_skeleton("paypal@acme.test"),
            email_skeleton("pаypal@acme.test")
        );
        assert_eq!(
            email_skeleton("Owner@acme.test"),
            email_skeleton("owner@acme.test")
        );
        assert_ne!(
            email_skeleton("alice@acme.test"),
            email_skeleton("bob@acme.test")
        );
    }

    #[test]
    fn escape_shows_hidden_characters() {
        assert_eq!(escape("a\nb\u{202E}c"), "a\\nb\\u{202e}c");
    }
}
