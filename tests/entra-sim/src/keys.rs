//! RSA-2048 signing keys shaped like Entra's: each key has a self-signed certificate, and the key id is the
//! certificate's SHA-1 thumbprint (base64url), so `kid == x5t` exactly as in Entra's JWKS documents.

use std::fmt;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, KeyPair as _, RsaKeyPair, RsaPublicKeyComponents};
use serde_json::{Value, json};

use crate::b64;
use crate::error::{Result, SimError};

/// Subject of Entra's token-signing certificates; copying it keeps our x5c looking like theirs.
const CERT_COMMON_NAME: &str = "accounts.accesscontrol.windows.net";
/// Entra's signing certificates are valid for about five years.
const CERT_VALIDITY: Duration = Duration::from_secs(5 * 365 * 24 * 3600);

pub struct SigningKey {
    kid: String,
    pkcs8: Vec<u8>,
    cert_der: Vec<u8>,
    key_pair: RsaKeyPair,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    // The private key never appears in logs or test output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh RSA-2048 key with its self-signed certificate.
    pub fn generate() -> Result<Self> {
        let key_pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|e| SimError::Crypto(e.to_string()))?;
        let pkcs8 = key_pair
            .as_der()
            .map_err(|e| SimError::Crypto(e.to_string()))?
            .as_ref()
            .to_vec();
        let cert_der = self_signed_certificate(&pkcs8)?;
        Self::from_parts(pkcs8, cert_der)
    }

    /// Rebuilds a key from its persisted PKCS#8 private key and certificate (both DER).
    pub fn from_parts(pkcs8: Vec<u8>, cert_der: Vec<u8>) -> Result<Self> {
        let key_pair = RsaKeyPair::from_pkcs8(&pkcs8).map_err(|e| SimError::Crypto(format!("PKCS#8 key: {e}")))?;
        let public = key_pair.public_key();
        let modulus = public.modulus().big_endian_without_leading_zero().to_vec();
        let exponent = public.exponent().big_endian_without_leading_zero().to_vec();
        let thumbprint = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &cert_der);
        Ok(SigningKey {
            kid: b64::url(thumbprint.as_ref()),
            pkcs8,
            cert_der,
            key_pair,
            modulus,
            exponent,
        })
    }

    /// The key id, equal to the certificate thumbprint `x5t` (as Entra does).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// Big-endian modulus without leading zeros (the JWK `n` before base64url).
    pub fn modulus(&self) -> &[u8] {
        &self.modulus
    }

    pub fn exponent(&self) -> &[u8] {
        &self.exponent
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message` (JWS RS256).
    pub fn sign_rs256(&self, message: &[u8]) -> Result<Vec<u8>> {
        let mut sig = vec![0u8; self.key_pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.key_pair
            .sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
            .map_err(|e| SimError::Crypto(e.to_string()))?;
        Ok(sig)
    }

    /// Checks an RS256 signature with this key's public half.
    pub fn verify_rs256(&self, message: &[u8], sig: &[u8]) -> bool {
        RsaPublicKeyComponents {
            n: &self.modulus,
            e: &self.exponent,
        }
        .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
        .is_ok()
    }

    /// The public JWK with Entra's members: kty, use, kid, x5t, n, e, x5c.
    pub fn public_jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": b64::url(&self.modulus),
            "e": b64::url(&self.exponent),
            "x5c": [b64::standard(&self.cert_der)],
        })
    }
}

fn self_signed_certificate(pkcs8: &[u8]) -> Result<Vec<u8>> {
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8);
    let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_RSA_SHA256)
        .map_err(|e| SimError::Crypto(format!("certificate key: {e}")))?;
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| SimError::Crypto(e.to_string()))?;
    let mut name = rcgen::DistinguishedName::new();
    name.push(rcgen::DnType::CommonName, CERT_COMMON_NAME);
    params.distinguished_name = name;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + CERT_VALIDITY;
    let mut serial = [0u8; 16];
    aws_lc_rs::rand::fill(&mut serial).map_err(|e| SimError::Crypto(e.to_string()))?;
    // A positive INTEGER: clear the top bit so DER needs no sign padding.
    serial[0] &= 0x7f;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    let cert = params
        .self_signed(&key)
        .map_err(|e| SimError::Crypto(format!("self-signed certificate: {e}")))?;
    Ok(cert.der().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kid_is_the_certificate_sha1_thumbprint_and_jwk_has_entra_members() {
        let key = SigningKey::generate().expect("generate");
        assert_eq!(key.kid().len(), 27, "base64url of 20 bytes, like Entra kids");
        let jwk = key.public_jwk();
        let mut members: Vec<&str> = jwk.as_object().expect("object").keys().map(String::as_str).collect();
        members.sort_unstable();
        assert_eq!(members, ["e", "kid", "kty", "n", "use", "x5c", "x5t"]);
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(key.modulus().len(), 256, "RSA-2048");
    }

    #[test]
    fn persisted_parts_rebuild_the_same_key() {
        let key = SigningKey::generate().expect("generate");
        let again = SigningKey::from_parts(key.pkcs8_der().to_vec(), key.certificate_der().to_vec()).expect("load");
        assert_eq!(key.kid(), again.kid());
        let sig = key.sign_rs256(b"hello").expect("sign");
        assert!(again.verify_rs256(b"hello", &sig));
        assert!(!again.verify_rs256(b"hellO", &sig));
    }

    #[test]
    fn debug_output_hides_the_private_key() {
        let key = SigningKey::generate().expect("generate");
        let text = format!("{key:?}");
        assert!(text.contains(key.kid()));
        assert!(!text.contains("pkcs8"));
    }
}
