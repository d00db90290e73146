//! Compact JWS signing (RFC 7515 §7.1) over a [`JwsSigner`].

use serde_json::{Map, Value};

use crate::{JwsAlgorithm, b64url};

/// Why a signature could not be made. The split matters to callers: an event pipeline retries `Unavailable` (KMS
/// throttling or an outage delays events, it must not drop them) and alarms on `Failed`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// Throttling, a network failure or a server error: a later retry may succeed.
    #[error("signing is temporarily unavailable: {0}")]
    Unavailable(String),
    /// The key cannot produce this signature (disabled, access denied, wrong key spec, malformed answer).
    #[error("signing failed: {0}")]
    Failed(String),
}

/// Holds a private key and signs with it. The private key may live elsewhere (KMS): only the signature comes back.
#[async_trait::async_trait]
pub trait JwsSigner: Send + Sync {
    fn algorithm(&self) -> JwsAlgorithm;
    /// The JWS `kid` receivers use to find the public key in our JWKS.
    fn key_id(&self) -> &str;
    /// The raw JWS signature of `signing_input` (`r || s` for ES256, the PKCS #1 v1.5 signature for RS256).
    async fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignError>;
}

/// Signs `payload` as a compact JWS. The protected header holds `alg` and `kid` from the signer, then
/// `extra_header` (e.g. `typ`, `x5t#S256`); `extra_header` cannot override `alg` or `kid`.
pub async fn sign_compact(
    signer: &dyn JwsSigner,
    extra_header: &Map<String, Value>,
    payload: &Value,
) -> Result<String, SignError> {
    let mut header = Map::new();
    header.insert("alg".into(), Value::from(signer.algorithm().as_str()));
    header.insert("kid".into(), Value::from(signer.key_id()));
    for (name, value) in extra_header {
        if name != "alg" && name != "kid" {
            header.insert(name.clone(), value.clone());
        }
    }
    let mut token = b64url(Value::Object(header).to_string().as_bytes());
    token.push('.');
    token.push_str(&b64url(payload.to_string().as_bytes()));
    let signature = signer.sign(token.as_bytes()).await?;
    token.push('.');
    token.push_str(&b64url(&signature));
    Ok(token)
}
