//! A software signer for tests: the same contract as the KMS signer, with a key generated in memory.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::Value;

use crate::{JoseError, JwsAlgorithm, JwsSigner, SignError, public_jwk};

enum Key {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// An in-memory key pair implementing [`JwsSigner`] (feature `test-support`).
pub struct LocalSigner {
    alg: JwsAlgorithm,
    kid: String,
    key: Key,
    spki_der: Vec<u8>,
}

impl LocalSigner {
    /// A fresh key for `alg` (P-256 for ES256, RSA-2048 for RS256).
    pub fn generate(alg: JwsAlgorithm, kid: &str) -> Result<Self, JoseError> {
        let failed = |_| JoseError::new("key generation failed");
        let (key, spki_der) = match alg {
            JwsAlgorithm::ES256 => {
                let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(failed)?;
                let der = pair.public_key().as_der().map_err(failed)?.as_ref().to_vec();
                (Key::Ec(pair), der)
            }
            JwsAlgorithm::RS256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?;
                let der = pair.public_key().as_der().map_err(failed)?.as_ref().to_vec();
                (Key::Rsa(pair), der)
            }
        };
        Ok(Self {
            alg,
            kid: kid.to_owned(),
            key,
            spki_der,
        })
    }

    /// The public key as DER `SubjectPublicKeyInfo`, as KMS `GetPublicKey` returns it.
    pub fn public_key_der(&self) -> &[u8] {
        &self.spki_der
    }

    pub fn public_jwk(&self) -> Value {
        public_jwk(&self.spki_der, &self.kid, self.alg).expect("a generated key has a JWK")
    }
}

#[async_trait::async_trait]
impl JwsSigner for LocalSigner {
    fn algorithm(&self) -> JwsAlgorithm {
        self.alg
    }

    fn key_id(&self) -> &str {
        &self.kid
    }

    async fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignError> {
        let rng = SystemRandom::new();
        let failed = |_| SignError::Failed("local signing failed".into());
        match &self.key {
            Key::Ec(pair) => Ok(pair.sign(&rng, signing_input).map_err(failed)?.as_ref().to_vec()),
            Key::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, signing_input, &mut signature)
                    .map_err(failed)?;
                Ok(signature)
            }
        }
    }
}
