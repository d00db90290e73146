//! Opaque access tokens and client secrets.
//!
//! Both are 32 random bytes from the operating system's CSPRNG (aws-lc-rs `SystemRandom`) behind a recognisable
//! prefix (`wif_at_`, `wif_cs_`; secret scanners can match them), and only their SHA-256 is stored.
//!
//! Why a fast hash and not bcrypt/argon2 for secrets: slow password hashes exist to make guessing *low-entropy*
//! human passwords expensive after a database leak. A 256-bit random value cannot be guessed at any hash speed
//! (2^256 candidates), so SHA-256 already gives full preimage resistance, while a deliberately slow hash would
//! turn every token request and every SCIM call into a CPU-bound denial-of-service lever.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use crate::registration::{Registration, StoredSecret};

pub const ACCESS_TOKEN_PREFIX: &str = "wif_at_";
pub const CLIENT_SECRET_PREFIX: &str = "wif_cs_";
/// At most this many unexpired secrets per client: the current one and the one being rotated in.
pub const MAX_ACTIVE_SECRETS: usize = 2;
const RANDOM_BYTES: usize = 32;
/// Prefix plus 43 base64url characters.
const ENCODED_LEN: usize = 7 + 43;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomUnavailable;

fn random_value(prefix: &str) -> Result<String, RandomUnavailable> {
    let mut bytes = [0u8; RANDOM_BYTES];
    SystemRandom::new().fill(&mut bytes).map_err(|_| RandomUnavailable)?;
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// Hex SHA-256 of a token or secret string, as stored.
pub fn sha256_hex(value: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, value.as_bytes()))
}

/// A freshly minted access token. The value goes to the client exactly once; only `hash` is stored.
pub struct AccessToken {
    value: String,
    hash: String,
}

impl AccessToken {
    pub fn generate() -> Result<Self, RandomUnavailable> {
        let value = random_value(ACCESS_TOKEN_PREFIX)?;
        let hash = sha256_hex(&value);
        Ok(Self { value, hash })
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    pub fn hash(&self) -> &str {
        &self.hash
    }
}

// Never print the value, not even in debug output of a surrounding struct.
impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

/// Whether `value` has the shape of one of our access tokens (cheap pre-check before a store lookup).
pub fn looks_like_access_token(value: &str) -> bool {
    looks_like(value, ACCESS_TOKEN_PREFIX)
}

fn looks_like(value: &str, prefix: &str) -> bool {
    value.len() == ENCODED_LEN
        && value.starts_with(prefix)
        && value[prefix.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A new client secret: the value (shown to the admin once) and what to store.
pub struct NewClientSecret {
    pub value: String,
    pub stored: StoredSecret,
}

impl std::fmt::Debug for NewClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewClientSecret")
            .field("stored", &self.stored)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("a client may have at most {MAX_ACTIVE_SECRETS} active secrets; revoke one first")]
    TooManyActive,
    #[error("secret lifetime must be positive")]
    BadLifetime,
    #[error(transparent)]
    Random(#[from] RandomUnavailable),
}

/// Generates a secret valid for `lifetime_seconds` from `now`, refusing a third active secret.
pub fn generate_client_secret(
    registration: &Registration,
    now: i64,
    lifetime_seconds: i64,
    description: Option<String>,
) -> Result<NewClientSecret, SecretError> {
    if lifetime_seconds <= 0 {
        return Err(SecretError::BadLifetime);
    }
    if active_secrets(registration, now).count() >= MAX_ACTIVE_SECRETS {
        return Err(SecretError::TooManyActive);
    }
    let value = random_value(CLIENT_SECRET_PREFIX)?;
    let stored = StoredSecret {
        secret_id: uuid::Uuid::new_v4().to_string(),
        hash: sha256_hex(&value),
        created_at: now,
        expires_at: now.saturating_add(lifetime_seconds),
        description,
    };
    Ok(NewClientSecret { value, stored })
}

/// Secrets that have not expired at `now`.
pub fn active_secrets(registration: &Registration, now: i64) -> impl Iterator<Item = &StoredSecret> {
    registration
        .secrets
        .iter()
        .filter(move |secret| secret.expires_at > now)
}

/// The id of the unexpired secret `presented` matches, if any. Every active secret is compared, in constant
/// time, so the timing reveals neither which secret matched nor how much of a hash did.
pub fn verify_client_secret(registration: &Registration, presented: &str, now: i64) -> Option<String> {
    let presented_hash = sha256_hex(presented);
    let mut matched = None;
    for secret in active_secrets(registration, now) {
        if bool::from(secret.hash.as_bytes().ct_eq(presented_hash.as_bytes())) {
            matched = Some(secret.secret_id.clone());
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_registration;

    #[test]
    fn tokens_are_prefixed_random_and_hashed() {
        let a = AccessToken::generate().unwrap();
        let b = AccessToken::generate().unwrap();
        assert_ne!(a.value(), b.value());
        assert!(a.value().starts_with("wif_at_"));
        assert_eq!(a.value().len(), 50);
        assert!(looks_like_access_token(a.value()));
        assert_eq!(a.hash(), sha256_hex(a.value()));
        assert_eq!(a.hash().len(), 64);
        assert!(!format!("{a:?}").contains(a.value()));
        assert!(!looks_like_access_token("wif_at_short"));
        assert!(!looks_like_access_token(&format!("wif_cs_{}", &a.value()[7..])));
        assert!(!looks_like_access_token(&format!("{}!", &a.value()[..49])));
    }

    #[test]
    fn sha256_matches_a_known_vector() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn secrets_verify_expire_and_are_capped_at_two() {
        let mut registration = sample_registration("c1");
        let first = generate_client_secret(&registration, 100, 1000, None).unwrap();
        assert!(first.value.starts_with("wif_cs_"));
        assert!(!format!("{first:?}").contains(&first.value));
        registration.secrets.push(first.stored.clone());
        let second = generate_client_secret(&registration, 100, 5000, Some("rotation".into())).unwrap();
        registration.secrets.push(second.stored.clone());
        assert_eq!(
            generate_client_secret(&registration, 100, 1000, None).unwrap_err(),
            SecretError::TooManyActive
        );
        assert_eq!(
            verify_client_secret(&registration, &first.value, 500),
            Some(first.stored.secret_id.clone())
        );
        assert_eq!(
            verify_client_secret(&registration, &second.value, 500),
            Some(second.stored.secret_id.clone())
        );
        assert_eq!(verify_client_secret(&registration, "wif_cs_wrong", 500), None);
        // The first expires at 1100; afterwards only the second works and a new one may be added.
        assert_eq!(verify_client_secret(&registration, &first.value, 1100), None);
        assert!(verify_client_secret(&registration, &second.value, 1100).is_some());
        assert!(generate_client_secret(&registration, 1100, 1000, None).is_ok());
        assert_eq!(
            generate_client_secret(&registration, 1100, 0, None).unwrap_err(),
            SecretError::BadLifetime
        );
    }
}
