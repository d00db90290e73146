//! Public JWKs (RFC 7517, RFC 7518 §6) of the keys we sign with, and their RFC 7638 thumbprints.

use aws_lc_rs::digest::{SHA256, digest};
use serde_json::{Value, json};

use crate::der::{PublicKeyParts, parse_spki};
use crate::{JoseError, JwsAlgorithm, b64url};

/// The public JWK of a DER `SubjectPublicKeyInfo` (what KMS `GetPublicKey` returns), with `kid`, `alg` and
/// `"use":"sig"`, ready to publish in a JWKS. The key type must fit `alg` (RSA for RS256, P-256 for ES256).
pub fn public_jwk(spki_der: &[u8], kid: &str, alg: JwsAlgorithm) -> Result<Value, JoseError> {
    let mut jwk = match (parse_spki(spki_der)?, alg) {
        (PublicKeyParts::Rsa { n, e }, JwsAlgorithm::RS256) => {
            json!({"kty": "RSA", "n": b64url(&n), "e": b64url(&e)})
        }
        (PublicKeyParts::P256 { x, y }, JwsAlgorithm::ES256) => {
            json!({"kty": "EC", "crv": "P-256", "x": b64url(&x), "y": b64url(&y)})
        }
        _ => return Err(JoseError::new(format!("the key does not fit {alg}"))),
    };
    jwk["kid"] = json!(kid);
    jwk["alg"] = json!(alg.as_str());
    jwk["use"] = json!("sig");
    Ok(jwk)
}

/// RFC 7638 thumbprint (SHA-256, base64url) of a public JWK: the required members only, in lexicographic order.
pub fn jwk_thumbprint(jwk: &Value) -> Result<String, JoseError> {
    let member = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| JoseError::new(format!("JWK has no {name}")))
    };
    // serde_json's default map is ordered by key, so this serialises exactly the canonical form.
    let canonical = match member("kty")? {
        "RSA" => json!({"e": member("e")?, "kty": "RSA", "n": member("n")?}),
        "EC" => json!({"crv": member("crv")?, "kty": "EC", "x": member("x")?, "y": member("y")?}),
        other => return Err(JoseError::new(format!("unsupported kty {other}"))),
    };
    Ok(b64url(digest(&SHA256, canonical.to_string().as_bytes()).as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1's example key and its thumbprint.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            jwk_thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn incomplete_jwks_have_no_thumbprint() {
        assert!(jwk_thumbprint(&json!({"kty": "EC", "crv": "P-256", "x": "a"})).is_err());
        assert!(jwk_thumbprint(&json!({"kty": "oct", "k": "a"})).is_err());
    }
}
