//! The portal's confidential-client credential at Entra: `private_key_jwt` with a certificate credential. The
//! client assertion (RFC 7523) names the portal as `iss` and `sub`, the token endpoint as `aud`, lives five
//! minutes, carries a fresh `jti`, and its header says which uploaded certificate verifies it (`x5t#S256`, the
//! base64url SHA-256 of the certificate's DER). The private key stays in KMS: signing goes through
//! `wif_jose::JwsSigner`.

use serde_json::{Map, Value, json};

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

#[cfg(test)]
mod tests {
    use super::*;

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
