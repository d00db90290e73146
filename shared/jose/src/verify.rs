//! Checking a compact JWS against one public JWK: what our tests and tools need to prove a signature is real.

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey,
};
use serde_json::Value;

use crate::{JoseError, JwsAlgorithm, b64url_decode};

/// A JWS whose signature verified: its protected header and payload as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedJws {
    pub header: Value,
    pub payload: Value,
}

/// Verifies a compact JWS with `jwk` (RSA for RS256, P-256 for ES256). The header's `alg` must fit the key, and its
/// `kid` must equal the JWK's when both are present.
pub fn verify_compact(jwk: &Value, token: &str) -> Result<VerifiedJws, JoseError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JoseError::new("a compact JWS has three parts"));
    };
    let header = json_part(header_b64)?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(JwsAlgorithm::parse)
        .ok_or_else(|| JoseError::new("unsupported or missing alg"))?;
    if let (Some(kid), Some(expected)) = (header.get("kid"), jwk.get("kid"))
        && kid != expected
    {
        return Err(JoseError::new("kid does not match the key"));
    }
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    let signature = b64url_decode(signature_b64)?;
    verify_signature(jwk, alg, signing_input.as_bytes(), &signature)?;
    Ok(VerifiedJws {
        header,
        payload: json_part(payload_b64)?,
    })
}

fn json_part(part: &str) -> Result<Value, JoseError> {
    serde_json::from_slice(&b64url_decode(part)?).map_err(|_| JoseError::new("a JWS part is not JSON"))
}

fn jwk_bytes(jwk: &Value, name: &str) -> Result<Vec<u8>, JoseError> {
    let text = jwk
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| JoseError::new(format!("JWK has no {name}")))?;
    b64url_decode(text)
}

fn verify_signature(jwk: &Value, alg: JwsAlgorithm, message: &[u8], signature: &[u8]) -> Result<(), JoseError> {
    let kty = jwk.get("kty").and_then(Value::as_str);
    let verified = match (alg, kty) {
        (JwsAlgorithm::RS256, Some("RSA")) => RsaPublicKeyComponents {
            n: jwk_bytes(jwk, "n")?,
            e: jwk_bytes(jwk, "e")?,
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature),
        (JwsAlgorithm::ES256, Some("EC")) if jwk.get("crv").and_then(Value::as_str) == Some("P-256") => {
            let mut point = vec![0x04];
            point.extend(jwk_bytes(jwk, "x")?);
            point.extend(jwk_bytes(jwk, "y")?);
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(message, signature)
        }
        _ => return Err(JoseError::new(format!("the key does not fit {alg}"))),
    };
    verified.map_err(|_| JoseError::new("the signature is invalid"))
}
