//! An AWS KMS asymmetric key (`SIGN_VERIFY`) as a [`wif_jose::JwsSigner`]: the private key never leaves KMS.
//!
//! Signing hashes the JWS signing input locally and sends only the SHA-256 digest (`MessageType=DIGEST`): KMS
//! refuses raw messages over 4,096 bytes, and a Security Event Token carrying a full resource can be larger. KMS
//! returns ECDSA signatures DER-encoded; they are converted to the `r || s` form JWS uses.
//!
//! The JWS `kid` is the KMS key id (the UUID of the key ARN), so it needs no KMS call and changes whenever the key
//! does. The public key is fetched once per process (`GetPublicKey`), only when a JWKS is asked for.

use aws_lc_rs::digest::{SHA256, digest};
use aws_sdk_kms::Client;
use aws_sdk_kms::config::http::HttpResponse;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use serde_json::Value;
use tokio::sync::OnceCell;
use wif_jose::{JwsAlgorithm, JwsSigner, SignError, ecdsa_der_to_raw, public_jwk};

/// A KMS key reference that cannot name a stable signing key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KmsKeyError {
    #[error("the KMS key is empty")]
    Empty,
    /// An alias can be re-pointed at another key without changing its name, which would publish two keys under one
    /// `kid`.
    #[error("use the KMS key id or key ARN, not an alias ({0})")]
    Alias(String),
}

/// Signs with one KMS key.
pub struct KmsSigner {
    client: Client,
    key: String,
    kid: String,
    alg: JwsAlgorithm,
    public_key_der: OnceCell<Vec<u8>>,
}

impl std::fmt::Debug for KmsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsSigner")
            .field("key", &self.key)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// The key id inside a key ARN (`arn:aws:kms:<region>:<account>:key/<id>`), or the key id itself.
fn key_id_of(key: &str) -> Result<String, KmsKeyError> {
    let key = key.trim();
    if key.is_empty() {
        return Err(KmsKeyError::Empty);
    }
    let id = key.rsplit_once(":key/").map_or(key, |(_, id)| id);
    if key.starts_with("alias/") || key.contains(":alias/") {
        return Err(KmsKeyError::Alias(key.to_owned()));
    }
    Ok(id.to_owned())
}

impl KmsSigner {
    /// Makes no KMS call: configuration errors surface here, KMS errors at the first use.
    pub fn new(client: Client, key: &str, alg: JwsAlgorithm) -> Result<Self, KmsKeyError> {
        Ok(Self {
            kid: key_id_of(key)?,
            key: key.trim().to_owned(),
            client,
            alg,
            public_key_der: OnceCell::new(),
        })
    }

    /// The public key as DER `SubjectPublicKeyInfo` (one `GetPublicKey` per process).
    pub async fn public_key_der(&self) -> Result<&[u8], SignError> {
        self.public_key_der
            .get_or_try_init(|| async {
                let answer = self
                    .client
                    .get_public_key()
                    .key_id(&self.key)
                    .send()
                    .await
                    .map_err(classify)?;
                answer
                    .public_key
                    .map(Blob::into_inner)
                    .ok_or_else(|| SignError::Failed("KMS returned no public key".into()))
            })
            .await
            .map(Vec::as_slice)
    }

    /// The public JWK to publish in a JWKS.
    pub async fn public_jwk(&self) -> Result<Value, SignError> {
        let der = self.public_key_der().await?;
        public_jwk(der, &self.kid, self.alg).map_err(|err| SignError::Failed(format!("KMS public key: {err}")))
    }
}

#[async_trait::async_trait]
impl JwsSigner for KmsSigner {
    fn algorithm(&self) -> JwsAlgorithm {
        self.alg
    }

    fn key_id(&self) -> &str {
        &self.kid
    }

    async fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignError> {
        let answer = self
            .client
            .sign()
            .key_id(&self.key)
            .message(Blob::new(digest(&SHA256, signing_input).as_ref()))
            .message_type(MessageType::Digest)
            .signing_algorithm(SigningAlgorithmSpec::from(self.alg.kms_signing_algorithm()))
            .send()
            .await
            .map_err(classify)?;
        let signature = answer
            .signature
            .map(Blob::into_inner)
            .ok_or_else(|| SignError::Failed("KMS returned no signature".into()))?;
        match self.alg {
            JwsAlgorithm::RS256 => Ok(signature),
            JwsAlgorithm::ES256 => {
                ecdsa_der_to_raw(&signature, 32).map_err(|err| SignError::Failed(format!("KMS signature: {err}")))
            }
        }
    }
}

/// KMS errors a retry can cure (throttling, KMS-side faults, the network) are `Unavailable`; the rest `Failed`.
fn classify<E>(err: SdkError<E, HttpResponse>) -> SignError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    const RETRYABLE: &[&str] = &[
        "ThrottlingException",
        "LimitExceededException",
        "KMSInternalException",
        "KeyUnavailableException",
        "DependencyTimeoutException",
    ];
    match &err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("unknown").to_owned();
            let message = format!("{code}: {}", service.err().message().unwrap_or_default());
            if RETRYABLE.contains(&code.as_str()) || service.raw().status().is_server_error() {
                SignError::Unavailable(message)
            } else {
                SignError::Failed(message)
            }
        }
        SdkError::ConstructionFailure(_) => SignError::Failed(format!("KMS request: {err}")),
        _ => SignError::Unavailable(format!("KMS unreachable: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kid_is_the_key_id_and_aliases_are_refused() {
        assert_eq!(
            key_id_of("arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab").unwrap(),
            "1234abcd-12ab-34cd-56ef-1234567890ab"
        );
        assert_eq!(key_id_of(" 1234abcd ").unwrap(), "1234abcd");
        assert_eq!(key_id_of(""), Err(KmsKeyError::Empty));
        assert!(matches!(key_id_of("alias/events"), Err(KmsKeyError::Alias(_))));
        assert!(matches!(
            key_id_of("arn:aws:kms:eu-west-1:123456789012:alias/events"),
            Err(KmsKeyError::Alias(_))
        ));
    }
}
