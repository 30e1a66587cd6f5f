//! The server's master key and what is derived from it: the AEAD key that seals TOTP
//! secrets, the MAC keys that make stored records and the audit chain unforgeable without
//! it, and the Ed25519 key that signs audit checkpoints.
//!
//! The key lives in its own file (mode 0600), never in the database, so a copy of the
//! database alone yields no TOTP secret and cannot be edited undetected.

use crate::error::{AccessError, Result};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::io::Write;
use std::path::{Path, PathBuf};

const FILE_PREFIX: &str = "secrets-guard-master-key-v1:";

/// The master key and its derived keys.
pub struct ServerKey {
    master: [u8; 32],
    totp: XChaCha20Poly1305,
    record_mac: [u8; 32],
    audit_mac: [u8; 32],
    signing: SigningKey,
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServerKey(public {})", self.public_key_hex())
    }
}

fn derive(hk: &Hkdf<Sha256>, purpose: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
    let _ = hk.expand(purpose.as_bytes(), &mut out);
    out
}

impl ServerKey {
    /// A new random key (not yet saved anywhere).
    pub fn generate() -> ServerKey {
        let mut master = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut master);
        ServerKey::from_master(master)
    }

    fn from_master(master: [u8; 32]) -> ServerKey {
        let hk = Hkdf::<Sha256>::new(Some(b"secrets-guard access server"), &master);
        let totp_key = derive(&hk, "totp-secret-encryption");
        ServerKey {
            master,
            totp: XChaCha20Poly1305::new(&totp_key.into()),
            record_mac: derive(&hk, "record-integrity"),
            audit_mac: derive(&hk, "audit-chain"),
            signing: SigningKey::from_bytes(&derive(&hk, "audit-checkpoint-signing")),
        }
    }

    /// Loads the key at `path`, creating it (mode 0600, never readable by others even for
    /// a moment) when the file does not exist. A key file that others can read is refused.
    pub fn load_or_create(path: &Path) -> Result<ServerKey> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                refuse_shared_file(path, "key file")?;
                ServerKey::parse(path, &text)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = ServerKey::generate();
                key.save_new(path)?;
                Ok(key)
            }
            Err(e) => Err(AccessError::io(path, e)),
        }
    }

    /// Loads an existing key file.
    pub fn load(path: &Path) -> Result<ServerKey> {
        let text = std::fs::read_to_string(path).map_err(|e| AccessError::io(path, e))?;
        refuse_shared_file(path, "key file")?;
        ServerKey::parse(path, &text)
    }

    fn parse(path: &Path, text: &str) -> Result<ServerKey> {
        let bad = || AccessError::Corrupt {
            path: path.to_path_buf(),
            problem: "not a secrets-guard master key file".to_owned(),
        };
        let hex = text.trim().strip_prefix(FILE_PREFIX).ok_or_else(bad)?;
        let bytes = decode_hex(hex).ok_or_else(bad)?;
        let master: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
        Ok(ServerKey::from_master(master))
    }

    /// Writes this key to a new file at `path` (which must not exist), mode 0600.
    pub fn save_new(&self, path: &Path) -> Result<()> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| AccessError::io(parent, e))?;
        }
        let mut file = create_private(path)?;
        let text = format!("{FILE_PREFIX}{}\n", crate::audit::hex(&self.master));
        file.write_all(text.as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(|e| AccessError::io(path, e))
    }

    /// Seals a TOTP secret for user `user_id`: the user id is authenticated with it, so a
    /// sealed secret copied onto another user's row does not open.
    pub fn seal_totp(&self, user_id: i64, secret: &[u8]) -> String {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = format!("totp:{user_id}");
        // Encryption with a fresh nonce and a valid key does not fail.
        let sealed = self
            .totp
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: aad.as_bytes(),
                },
            )
            .unwrap_or_default();
        format!(
            "v1:{}:{}",
            crate::audit::hex(&nonce),
            crate::audit::hex(&sealed)
        )
    }

    /// Opens a sealed TOTP secret of `user_id`.
    pub fn open_totp(&self, user_id: i64, sealed: &str) -> Result<Vec<u8>> {
        let fail = || {
            AccessError::Integrity(format!(
                "the 2FA secret of user {user_id} does not open with the server's key (copied from another user, or sealed under another key)"
            ))
        };
        let mut parts = sealed.split(':');
        let (Some("v1"), Some(nonce), Some(ct), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(fail());
        };
        let nonce = decode_hex(nonce)
            .filter(|n| n.len() == 24)
            .ok_or_else(fail)?;
        let ct = decode_hex(ct).ok_or_else(fail)?;
        let aad = format!("totp:{user_id}");
        self.totp
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &ct,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| fail())
    }

    /// The integrity code of a stored record: `kind` names the table, `fields` its
    /// security-relevant columns.
    pub fn record_mac(&self, kind: &str, fields: &serde_json::Value) -> String {
        mac_hex(&self.record_mac, &format!("{kind}:{fields}"))
    }

    /// The chain hash of an audit entry, over its canonical encoding.
    pub fn audit_mac(&self, canonical: &str) -> String {
        mac_hex(&self.audit_mac, canonical)
    }

    /// The Ed25519 public key that verifies checkpoints, hex-encoded.
    pub fn public_key_hex(&self) -> String {
        crate::audit::hex(self.signing.verifying_key().as_bytes())
    }

    /// Signs `message` with the checkpoint key; hex-encoded signature.
    pub fn sign(&self, message: &[u8]) -> String {
        crate::audit::hex(&self.signing.sign(message).to_bytes())
    }
}

/// Checks a checkpoint signature against a hex public key.
pub fn verify_signature(public_key_hex: &str, message: &[u8], signature_hex: &str) -> bool {
    let Some(key) = decode_hex(public_key_hex).and_then(|b| <[u8; 32]>::try_from(b).ok()) else {
        return false;
    };
    let Some(sig) = decode_hex(signature_hex).and_then(|b| <[u8; 64]>::try_from(b).ok()) else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_bytes(&key) else {
        return false;
    };
    key.verify(message, &ed25519_dalek::Signature::from_bytes(&sig))
        .is_ok()
}

fn mac_hex(key: &[u8; 32], message: &str) -> String {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(message.as_bytes());
    crate::audit::hex(&mac.finalize().into_bytes())
}

pub(crate) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Creates `path` for writing, failing if it exists, with mode 0600 from the first byte.
pub(crate) fn create_private(path: &Path) -> Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| AccessError::io(path, e))
}

/// Refuses a secret-holding file that its group or others may read, as ssh refuses a
/// readable private key.
pub(crate) fn refuse_shared_file(path: &Path, what: &str) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| AccessError::io(path, e))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(AccessError::InvalidInput(format!(
                "the {what} {} is readable by others (mode {mode:o}): run `chmod 600 {}`",
                path.display(),
                path.display()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, what);
    Ok(())
}

/// The key file of a local (serverless) database: beside it, `<db>.key`.
pub fn local_key_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".key");
    db.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_totp_opens_only_for_its_user_and_key() {
        let key = ServerKey::generate();
        let sealed = key.seal_totp(7, b"0123456789abcdefghij");
        assert_eq!(
            key.open_totp(7, &sealed).ok(),
            Some(b"0123456789abcdefghij".to_vec())
        );
        assert!(key.open_totp(8, &sealed).is_err());
        assert!(ServerKey::generate().open_totp(7, &sealed).is_err());
    }

    #[test]
    fn signatures_verify_with_the_public_key_only() {
        let key = ServerKey::generate();
        let sig = key.sign(b"head");
        assert!(verify_signature(&key.public_key_hex(), b"head", &sig));
        assert!(!verify_signature(&key.public_key_hex(), b"head2", &sig));
        assert!(!verify_signature(
            &ServerKey::generate().public_key_hex(),
            b"head",
            &sig
        ));
    }

    #[test]
    fn key_files_round_trip_and_are_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("server.key");
        let key = ServerKey::load_or_create(&path).expect("create");
        let again = ServerKey::load_or_create(&path).expect("load");
        assert_eq!(key.public_key_hex(), again.public_key_hex());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            assert!(ServerKey::load(&path).is_err());
        }
    }
}
