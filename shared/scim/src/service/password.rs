//! Write-only `password` (RFC 7643 §4.1.1): stored only as a salted PBKDF2-HMAC-SHA256 hash, never returned.
//!
//! Why PBKDF2 from aws-lc-rs: it is already the workspace's (FIPS-validated) crypto backend, so no new dependency;
//! at 600,000 iterations it meets OWASP's current PBKDF2-SHA256 recommendation. Argon2id would resist GPUs better
//! but needs another crate, and SCIM passwords are rare here (Entra mostly provisions federated users without one).
//! The hash is self-describing (`$pbkdf2-sha256$i=<iterations>$<salt>$<hash>`, base64 without padding), so the
//! iteration count can grow without a migration.

use std::num::NonZeroU32;

use aws_lc_rs::pbkdf2;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;

/// OWASP Password Storage Cheat Sheet (2023+) for PBKDF2-HMAC-SHA256.
pub const DEFAULT_ITERATIONS: u32 = 600_000;
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

pub fn hash_password(password: &str, iterations: u32) -> Result<String, HashError> {
    let iterations = NonZeroU32::new(iterations).ok_or_else(|| HashError("zero iterations".into()))?;
    let mut salt = [0u8; SALT_LEN];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| HashError("no randomness".into()))?;
    let mut out = [0u8; HASH_LEN];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        password.as_bytes(),
        &mut out,
    );
    Ok(format!(
        "$pbkdf2-sha256$i={iterations}${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(out)
    ))
}

/// One request's password hash, computed on first use and reused by every retry of the write after a lost version
/// race: PBKDF2 at 600,000 iterations is the costliest thing a SCIM request can ask for, and a retried write must
/// not pay it again.
#[derive(Default)]
pub(super) struct HashedOnce(std::sync::Mutex<Option<(String, String)>>);

impl HashedOnce {
    /// The hash of `password`: the one computed earlier in this request when it is the same password.
    pub(super) fn hash(&self, password: &str, iterations: u32) -> Result<String, HashError> {
        let mut memo = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((hashed, hash)) = memo.as_ref()
            && hashed == password
        {
            return Ok(hash.clone());
        }
        let hash = hash_password(password, iterations)?;
        *memo = Some((password.to_owned(), hash.clone()));
        Ok(hash)
    }
}

/// Constant-time verification of a password against a stored hash (for a future password-login feature and the
/// tests proving what is stored).
pub fn verify_password(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some(""), Some("pbkdf2-sha256"), Some(iterations), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let Some(iterations) = iterations
        .strip_prefix("i=")
        .and_then(|i| i.parse::<u32>().ok())
        .and_then(NonZeroU32::new)
    else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (STANDARD_NO_PAD.decode(salt), STANDARD_NO_PAD.decode(hash)) else {
        return false;
    };
    pbkdf2::verify(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        password.as_bytes(),
        &hash,
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_never_contain_the_password() {
        let hash = hash_password("Secr3t!pass", 1_000).unwrap();
        assert!(hash.starts_with("$pbkdf2-sha256$i=1000$"));
        assert!(!hash.contains("Secr3t"));
        assert!(verify_password("Secr3t!pass", &hash));
        assert!(!verify_password("secr3t!pass", &hash));
        assert!(!verify_password("Secr3t!pass", "plain"));
        assert_ne!(hash, hash_password("Secr3t!pass", 1_000).unwrap(), "salted");
    }
}
