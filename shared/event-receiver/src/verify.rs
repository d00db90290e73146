//! SET verification with `jsonwebtoken` against the feed's published JWKS (refetched once for an unknown `kid`,
//! so a key rotation needs no restart). SETs carry no `exp` (RFC 8417 §2.2), so none is required.

use std::collections::HashSet;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::Value;

pub struct Verifier {
    jwks_url: String,
    issuer: String,
    keys: Option<JwkSet>,
}

impl Verifier {
    pub fn new(jwks_url: String, issuer: String) -> Self {
        Self {
            jwks_url,
            issuer,
            keys: None,
        }
    }

    async fn key(&mut self, http: &reqwest::Client, kid: &str) -> Result<DecodingKey, String> {
        for refresh in [false, true] {
            if refresh || self.keys.is_none() {
                let set: JwkSet = http
                    .get(&self.jwks_url)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?
                    .json()
                    .await
                    .map_err(|e| e.to_string())?;
                self.keys = Some(set);
            }
            if let Some(jwk) = self.keys.as_ref().and_then(|set| set.find(kid)) {
                return DecodingKey::from_jwk(jwk).map_err(|e| e.to_string());
            }
        }
        Err(format!("no key {kid} in {}", self.jwks_url))
    }

    /// The claims of a valid SET.
    pub async fn verify(&mut self, http: &reqwest::Client, set: &str) -> Result<Value, String> {
        let header = decode_header(set).map_err(|e| e.to_string())?;
        if header.typ.as_deref() != Some("secevent+jwt") || header.alg != Algorithm::ES256 {
            return Err("not an ES256 secevent+jwt".into());
        }
        let key = self.key(http, header.kid.as_deref().unwrap_or_default()).await?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims = HashSet::new();
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_issuer(&[&self.issuer]);
        let claims = decode::<Value>(set, &key, &validation)
            .map_err(|e| e.to_string())?
            .claims;
        if claims
            .get("events")
            .and_then(Value::as_object)
            .is_none_or(|events| events.is_empty())
        {
            return Err("a SET carries events".into());
        }
        Ok(claims)
    }
}
