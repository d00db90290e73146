//! The two JWS algorithms we sign with (RFC 7518 §3.3 and §3.4).

/// `RS256` (RSASSA-PKCS1-v1_5 with SHA-256; what Entra accepts for client assertions) or `ES256` (ECDSA P-256
/// with SHA-256; compact signatures for Security Event Tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwsAlgorithm {
    RS256,
    ES256,
}

impl JwsAlgorithm {
    /// The JWS `alg` value.
    pub fn as_str(self) -> &'static str {
        match self {
            JwsAlgorithm::RS256 => "RS256",
            JwsAlgorithm::ES256 => "ES256",
        }
    }

    /// The AWS KMS signing algorithm that produces this JWS algorithm's signatures.
    pub fn kms_signing_algorithm(self) -> &'static str {
        match self {
            JwsAlgorithm::RS256 => "RSASSA_PKCS1_V1_5_SHA_256",
            JwsAlgorithm::ES256 => "ECDSA_SHA_256",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "RS256" => Some(JwsAlgorithm::RS256),
            "ES256" => Some(JwsAlgorithm::ES256),
            _ => None,
        }
    }
}

impl std::fmt::Display for JwsAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
