//! JSON Web Tokens: `header.payload.signature`, each part base64url.

use super::decode_base64_lenient;

fn json_object(part: &[u8]) -> Option<serde_json::Map<String, serde_json::Value>> {
    let bytes = decode_base64_lenient(part)?;
    match serde_json::from_slice(&bytes).ok()? {
        serde_json::Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A JWS (three parts; the signature may be empty for `alg: none`, still a token worth
/// reporting) whose header is a JSON object with a string `alg` and whose payload is a JSON
/// object, or a JWE (five parts) whose header has `alg` and `enc`.
pub(super) fn is_jwt(secret: &[u8]) -> bool {
    let parts: Vec<&[u8]> = secret.split(|&b| b == b'.').collect();
    let Some(header) = parts.first().and_then(|h| json_object(h)) else {
        return false;
    };
    if !header.get("alg").is_some_and(serde_json::Value::is_string) {
        return false;
    }
    match parts.len() {
        3 => {
            json_object(parts[1]).is_some()
                && parts[2]
                    .iter()
                    .all(|&b| super::is_base64url_byte(b) || b == b'=')
        }
        5 => header.get("enc").is_some_and(serde_json::Value::is_string),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    fn jwt(header: &str, payload: &str, sig: &str) -> String {
        format!(
            "{}.{}.{sig}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn accepts_signed_and_unsigned_tokens() {
        let hs = jwt(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            r#"{"sub":"1234567890","name":"Ada","iat":1516239022}"#,
            "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        );
        assert!(is_jwt(hs.as_bytes()));
        let none = jwt(r#"{"alg":"none"}"#, r#"{"admin":true}"#, "");
        assert!(is_jwt(none.as_bytes()));
        let jwe = format!(
            "{}.a.b.c.d",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#)
        );
        assert!(is_jwt(jwe.as_bytes()));
    }

    #[test]
    fn rejects_what_does_not_decode() {
        for bad in [
            jwt(r#"{"typ":"JWT"}"#, r#"{"sub":"1"}"#, "sig"),
            jwt(r#"{"alg":5}"#, r#"{"sub":"1"}"#, "sig"),
            jwt(r#"["alg"]"#, r#"{"sub":"1"}"#, "sig"),
            jwt(r#"{"alg":"HS256"}"#, "not json", "sig"),
            jwt(r#"{"alg":"HS256"}"#, r#"{"sub":"1"}"#, "si g"),
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0".to_owned(),
            "eyJhbGciOiJIUzI1NiJ9!.eyJzdWIiOiIxIn0.sig".to_owned(),
        ] {
            assert!(!is_jwt(bad.as_bytes()), "{bad}");
        }
    }
}
