//! The portal's confidential-client credential at Entra: `private_key_jwt` with a certificate credential. The
//! client assertion (RFC 7523) names the portal as `iss` and `sub`, the token endpoint as `aud`, lives five
//! minutes, carries a fresh `jti`, and its header says which uploaded certificate verifies it (`x5t#S256`, the
//! base64url SHA-256 of the certificate's DER). The private key stays in KMS: signing goes through
//! `wif_jose::JwsSigner`.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use wif_jose::{JwsSigner, sign_compact};

use crate::ports::{AssertionSigner, SigningFailed};

/// Entra accepts assertions up to 10 minutes old; five leaves room for clock skew.
pub const ASSERTION_LIFETIME_SECONDS: i64 = 300;

/// The assertion's claims.
pub fn assertion_claims(client_id: &str, token_url: &str, now: i64, jti: &str) -> Value {
    json!({
        "aud": token_url,
        "iss": client_id,
        "sub": client_id,
        "jti": jti,
        "nbf": now,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME_SECONDS,
    })
}

/// Header members beside `alg` and `kid`.
pub fn assertion_header(certificate_thumbprint_s256: &str) -> Map<String, Value> {
    let mut header = Map::new();
    header.insert("typ".into(), Value::from("JWT"));
    header.insert("x5t#S256".into(), Value::from(certificate_thumbprint_s256));
    header
}

/// Signs the portal's client assertions with a key that never leaves its signer (KMS).
pub struct CertificateAssertion {
    signer: Arc<dyn JwsSigner>,
    client_id: String,
    certificate_thumbprint_s256: String,
}

impl CertificateAssertion {
    pub fn new(signer: Arc<dyn JwsSigner>, client_id: String, certificate_thumbprint_s256: String) -> Self {
        Self {
            signer,
            client_id,
            certificate_thumbprint_s256,
        }
    }
}

#[async_trait::async_trait]
impl AssertionSigner for CertificateAssertion {
    async fn client_assertion(&self, token_url: &str, now: i64) -> Result<String, SigningFailed> {
        let claims = assertion_claims(&self.client_id, token_url, now, &uuid::Uuid::new_v4().to_string());
        sign_compact(
            self.signer.as_ref(),
            &assertion_header(&self.certificate_thumbprint_s256),
            &claims,
        )
        .await
        .map_err(|err| SigningFailed(err.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wif_jose::{JwsAlgorithm, LocalSigner, verify_compact};

    #[tokio::test]
    async fn assertions_verify_with_the_signers_public_key() {
        let signer = Arc::new(LocalSigner::generate(JwsAlgorithm::RS256, "kms-key-1").unwrap());
        let jwk = signer.public_jwk();
        let assertion = CertificateAssertion::new(signer, "cid".into(), "thumb".into());
        let token = assertion
            .client_assertion("https://login.example/token", 1000)
            .await
            .unwrap();
        let verified = verify_compact(&jwk, &token).unwrap();
        assert_eq!(verified.header["x5t#S256"], "thumb");
        assert_eq!(verified.header["alg"], "RS256");
        assert_eq!(verified.payload["aud"], "https://login.example/token");
        assert_eq!(verified.payload["exp"], 1300);
    }

    #[test]
    fn claims_pin_the_token_endpoint_and_expire_soon() {
        let claims = assertion_claims(
            "cid",
            "https://login.example/organizations/oauth2/v2.0/token",
            100,
            "j1",
        );
        assert_eq!(claims["aud"], "https://login.example/organizations/oauth2/v2.0/token");
        assert_eq!(
            (claims["iss"].as_str(), claims["sub"].as_str()),
            (Some("cid"), Some("cid"))
        );
        assert_eq!(claims["exp"], 400);
        assert_eq!(assertion_header("abc")["x5t#S256"], "abc");
    }
}
