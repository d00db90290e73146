//! JSON Web Signatures (RFC 7515, compact serialisation) for the tokens this product signs: Security Event Tokens
//! to the ISV's application and `private_key_jwt` client assertions to Entra. Pure: no AWS, no network.
//!
//! - [`JwsSigner`]: whatever holds the private key. In production that is `wif-kms` (the key never leaves AWS KMS);
//!   in tests [`LocalSigner`] (feature `test-support`).
//! - [`sign_compact`]: header + payload → `base64url(header).base64url(payload).base64url(signature)`.
//! - [`public_jwk`] / [`jwk_thumbprint`]: the JWK (RFC 7517/7518) of a DER `SubjectPublicKeyInfo`, as KMS
//!   `GetPublicKey` returns it, and its RFC 7638 thumbprint.
//! - [`ecdsa_der_to_raw`]: KMS returns ECDSA signatures DER-encoded; JWS wants `r || s` (RFC 7518 §3.4).
//! - [`verify_compact`]: checks a compact JWS against a JWK, for our own tests and tools (receivers use any JOSE
//!   library).

mod algorithm;
mod der;
mod jwk;
#[cfg(any(test, feature = "test-support"))]
mod local;
mod sign;
mod verify;

pub use algorithm::JwsAlgorithm;
pub use der::ecdsa_der_to_raw;
pub use jwk::{jwk_thumbprint, public_jwk};
#[cfg(any(test, feature = "test-support"))]
pub use local::LocalSigner;
pub use sign::{JwsSigner, SignError, sign_compact};
pub use verify::{VerifiedJws, verify_compact};

/// A key or signature that cannot be used: malformed DER, an unsupported key type, a malformed JWK or JWS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JoseError(pub String);

impl JoseError {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn b64url_decode(text: &str) -> Result<Vec<u8>, JoseError> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| JoseError::new("not base64url"))
}
