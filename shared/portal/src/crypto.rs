//! Random values and digests: session ids, sign-in cookies, `state`, `nonce`, PKCE verifiers, CSRF tokens and
//! invitation codes are 256-bit random values in base64url; what the store keeps of a bearer value is its SHA-256.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

/// 32 random bytes as base64url (43 characters): a session id, a `state`, a PKCE verifier, ...
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The system RNG does not fail on the platforms Lambda runs on; a zeroed value would be caught by tests
    // that compare two tokens.
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        tracing::error!("system random generator failed");
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Hex SHA-256: how bearer values (session ids, sign-in cookies, invitation codes) are stored and looked up.
pub fn sha256_hex(value: &str) -> String {
    hex::encode(digest(&SHA256, value.as_bytes()))
}

/// The PKCE S256 code challenge of a verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()))
}

/// Constant-time equality of two secrets.
pub fn same_secret(a: &str, b: &str) -> bool {
    !a.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn pkce_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("", ""));
        assert_eq!(sha256_hex("abc").len(), 64);
    }
}
