//! JWS algorithms and JSON Web Key Sets.
//!
//! Keys are parsed once per JWKS document into aws-lc-rs `ParsedPublicKey`s (lazily per algorithm), so a warm
//! verification does no key decoding at all. We call aws-lc-rs directly rather than `jsonwebtoken::crypto::verify`
//! because the latter rebuilds the RSA key from `n`/`e` on every call, which costs about as much as the RSA
//! verification itself.
//!
//! A malformed or unsupported key is skipped, never fatal: Entra's JWKS carries keys we cannot or must not use,
//! and one bad key must not lock every tenant out. Only `n`/`e` (RSA) and `crv`/`x`/`y` (EC) are key material;
//! `x5c`/`x5t`/`x5u` are ignored (we do not build or trust certificate chains).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents, VerificationAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The JWS algorithms we can verify. HMAC (`HS*`) and `none` are not representable: a registration cannot allow
/// them and a header naming them is rejected before any key is touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JwsAlgorithm {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
}

impl JwsAlgorithm {
    pub const ALL: [JwsAlgorithm; 8] = [
        JwsAlgorithm::RS256,
        JwsAlgorithm::RS384,
        JwsAlgorithm::RS512,
        JwsAlgorithm::PS256,
        JwsAlgorithm::PS384,
        JwsAlgorithm::PS512,
        JwsAlgorithm::ES256,
        JwsAlgorithm::ES384,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JwsAlgorithm::RS256 => "RS256",
            JwsAlgorithm::RS384 => "RS384",
            JwsAlgorithm::RS512 => "RS512",
            JwsAlgorithm::PS256 => "PS256",
            JwsAlgorithm::PS384 => "PS384",
            JwsAlgorithm::PS512 => "PS512",
            JwsAlgorithm::ES256 => "ES256",
            JwsAlgorithm::ES384 => "ES384",
        }
    }

    /// Exact, case-sensitive (RFC 7515 §4.1.1: `alg` is case-sensitive).
    pub fn parse(text: &str) -> Option<JwsAlgorithm> {
        JwsAlgorithm::ALL.into_iter().find(|alg| alg.as_str() == text)
    }

    fn index(self) -> usize {
        self as usize
    }

    fn key_family(self) -> KeyFamily {
        match self {
            JwsAlgorithm::ES256 => KeyFamily::EcP256,
            JwsAlgorithm::ES384 => KeyFamily::EcP384,
            _ => KeyFamily::Rsa,
        }
    }

    fn verification(self) -> &'static dyn VerificationAlgorithm {
        match self {
            JwsAlgorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            JwsAlgorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            JwsAlgorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            JwsAlgorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
            JwsAlgorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
            JwsAlgorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
            JwsAlgorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
            JwsAlgorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
        }
    }

    fn rsa_parameters(self) -> Option<&'static signature::RsaParameters> {
        Some(match self {
            JwsAlgorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            JwsAlgorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            JwsAlgorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            JwsAlgorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
            JwsAlgorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
            JwsAlgorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
            JwsAlgorithm::ES256 | JwsAlgorithm::ES384 => return None,
        })
    }
}

impl std::fmt::Display for JwsAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyFamily {
    Rsa,
    EcP256,
    EcP384,
}

/// RSA keys below 2048 bits are skipped (aws-lc-rs would refuse to verify with them anyway).
const MIN_RSA_MODULUS_BYTES: usize = 256;
const MAX_RSA_MODULUS_BYTES: usize = 1024;
/// Entra publishes ~10 keys; a document with thousands is an attack on our memory, not a key set.
pub const MAX_KEYS_PER_SET: usize = 100;
const MAX_KID_LEN: usize = 256;

#[derive(Debug)]
enum KeyMaterial {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// Uncompressed SEC1 point `04 || x || y`.
    Ec {
        point: Vec<u8>,
    },
}

/// One usable verification key of a JWKS.
#[derive(Debug)]
pub struct VerifyingKey {
    kid: String,
    family: KeyFamily,
    /// The JWK's own `alg`, if it names one: the key may then be used with that algorithm only.
    pinned_alg: Option<JwsAlgorithm>,
    material: KeyMaterial,
    /// Parsed once per algorithm on first use; index = `JwsAlgorithm::index`.
    parsed: [OnceLock<Option<ParsedPublicKey>>; 8],
}

/// Why a key refused to verify a signature; turned into an assertion error by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyUseError {
    #[error("the key's type does not match the algorithm")]
    WrongKeyType,
    #[error("the key is restricted to a different algorithm")]
    AlgorithmPinned,
    #[error("the key could not be used")]
    Unusable,
    #[error("signature verification failed")]
    BadSignature,
}

impl VerifyingKey {
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Verifies `signature` over `message` with `alg`, refusing any algorithm that does not fit this key's type.
    pub fn verify(&self, alg: JwsAlgorithm, message: &[u8], signature: &[u8]) -> Result<(), KeyUseError> {
        if alg.key_family() != self.family {
            return Err(KeyUseError::WrongKeyType);
        }
        if self.pinned_alg.is_some_and(|pinned| pinned != alg) {
            return Err(KeyUseError::AlgorithmPinned);
        }
        let parsed = self.parsed[alg.index()].get_or_init(|| self.parse_for(alg));
        let parsed = parsed.as_ref().ok_or(KeyUseError::Unusable)?;
        parsed
            .verify_sig(message, signature)
            .map_err(|_| KeyUseError::BadSignature)
    }

    fn parse_for(&self, alg: JwsAlgorithm) -> Option<ParsedPublicKey> {
        match &self.material {
            KeyMaterial::Rsa { n, e } => {
                let params = alg.rsa_parameters()?;
                RsaPublicKeyComponents {
                    n: n.as_slice(),
                    e: e.as_slice(),
                }
                .to_parsed_public_key(params)
                .ok()
            }
            KeyMaterial::Ec { point } => ParsedPublicKey::new(alg.verification(), point).ok(),
        }
    }
}

/// A parsed JWKS: the usable signing keys by `kid`, and what was skipped (for logs and the admin checks).
#[derive(Debug, Default)]
pub struct JwkSet {
    keys: HashMap<String, Arc<VerifyingKey>>,
    skipped: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksParseError {
    #[error("JWKS is not valid JSON: {0}")]
    NotJson(String),
    #[error("JWKS has no \"keys\" array")]
    NoKeysArray,
    #[error("JWKS has {0} keys, more than the {MAX_KEYS_PER_SET} we accept")]
    TooManyKeys(usize),
}

impl JwkSet {
    /// Parses a JWKS document. Fails only if the document as a whole is unusable (not JSON, no `keys` array);
    /// individual bad keys are skipped and listed in [`JwkSet::skipped`].
    pub fn parse(document: &str) -> Result<JwkSet, JwksParseError> {
        let value: serde_json::Value =
            serde_json::from_str(document).map_err(|err| JwksParseError::NotJson(err.to_string()))?;
        let keys = value
            .get("keys")
            .and_then(serde_json::Value::as_array)
            .ok_or(JwksParseError::NoKeysArray)?;
        if keys.len() > MAX_KEYS_PER_SET {
            return Err(JwksParseError::TooManyKeys(keys.len()));
        }
        let mut set = JwkSet::default();
        let mut duplicated = std::collections::HashSet::new();
        for (index, jwk) in keys.iter().enumerate() {
            match parse_key(jwk) {
                Ok(key) => {
                    // Two keys under one kid would make the choice of key ambiguous: keep neither.
                    if duplicated.contains(&key.kid) || set.keys.remove(&key.kid).is_some() {
                        set.skipped.push(format!("key {index}: duplicate kid {}", key.kid));
                        duplicated.insert(key.kid);
                    } else {
                        set.keys.insert(key.kid.clone(), Arc::new(key));
                    }
                }
                Err(reason) => set.skipped.push(format!("key {index}: {reason}")),
            }
        }
        Ok(set)
    }

    pub fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.get(kid).map(Arc::as_ref)
    }

    /// The key as a shared handle, for callers that outlive this set (the cache hands these out).
    pub fn get_shared(&self, kid: &str) -> Option<Arc<VerifyingKey>> {
        self.keys.get(kid).cloned()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// Why each skipped key was skipped.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }
}

/// A JWK's members, read as JSON strings (a member of another JSON type is an error, not absent).
struct JwkMembers<'a>(&'a serde_json::Map<String, serde_json::Value>);

impl JwkMembers<'_> {
    fn text(&self, name: &str) -> Result<Option<&str>, String> {
        match self.0.get(name) {
            None => Ok(None),
            Some(serde_json::Value::String(value)) => Ok(Some(value.as_str())),
            Some(_) => Err(format!("{name} is not a string")),
        }
    }
}

/// `use` and `key_ops`, when present, must allow signature verification.
fn check_key_usage(members: &JwkMembers<'_>) -> Result<(), String> {
    if let Some(key_use) = members.text("use")?
        && key_use != "sig"
    {
        return Err(format!("use is {key_use:?}, not \"sig\""));
    }
    if let Some(ops) = members.0.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            return Err("key_ops does not include verify".to_owned());
        }
    }
    Ok(())
}

/// The public key material of an RSA or EC JWK, with sizes checked.
fn key_material(members: &JwkMembers<'_>, kty: &str) -> Result<(KeyFamily, KeyMaterial), String> {
    match kty {
        "RSA" => {
            let n = strip_leading_zeros(decode_component(members.text("n")?, "n")?);
            let e = strip_leading_zeros(decode_component(members.text("e")?, "e")?);
            if n.len() < MIN_RSA_MODULUS_BYTES || n.len() > MAX_RSA_MODULUS_BYTES {
                return Err(format!("RSA modulus of {} bits is outside 2048..=8192", n.len() * 8));
            }
            if e.is_empty() || e.len() > 8 {
                return Err("RSA exponent is implausible".to_owned());
            }
            Ok((KeyFamily::Rsa, KeyMaterial::Rsa { n, e }))
        }
        "EC" => {
            let (family, coordinate_len) = match members.text("crv")? {
                Some("P-256") => (KeyFamily::EcP256, 32),
                Some("P-384") => (KeyFamily::EcP384, 48),
                other => return Err(format!("EC curve {other:?} is not supported")),
            };
            let x = decode_component(members.text("x")?, "x")?;
            let y = decode_component(members.text("y")?, "y")?;
            if x.len() != coordinate_len || y.len() != coordinate_len {
                return Err("EC coordinates have the wrong length".to_owned());
            }
            let mut point = Vec::with_capacity(1 + 2 * coordinate_len);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            Ok((family, KeyMaterial::Ec { point }))
        }
        other => Err(format!("kty {other:?} is not supported")),
    }
}

fn parse_key(jwk: &serde_json::Value) -> Result<VerifyingKey, String> {
    let members = JwkMembers(jwk.as_object().ok_or("not an object")?);
    let kid = members.text("kid")?.ok_or("no kid")?;
    if kid.is_empty() || kid.len() > MAX_KID_LEN {
        return Err("kid is empty or too long".to_owned());
    }
    check_key_usage(&members)?;
    let pinned_alg = match members.text("alg")? {
        None => None,
        Some(alg) => Some(JwsAlgorithm::parse(alg).ok_or_else(|| format!("alg {alg:?} is not supported"))?),
    };
    let kty = members.text("kty")?.ok_or("no kty")?;
    let (family, material) = key_material(&members, kty)?;
    if let Some(alg) = pinned_alg
        && alg.key_family() != family
    {
        return Err(format!("alg {alg} does not fit kty {kty}"));
    }
    let key = VerifyingKey {
        kid: kid.to_owned(),
        family,
        pinned_alg,
        material,
        parsed: Default::default(),
    };
    // Parse eagerly with one algorithm of the family so an invalid key is skipped now, not at first use.
    let probe = pinned_alg.unwrap_or(match family {
        KeyFamily::Rsa => JwsAlgorithm::RS256,
        KeyFamily::EcP256 => JwsAlgorithm::ES256,
        KeyFamily::EcP384 => JwsAlgorithm::ES384,
    });
    let parsed = key.parse_for(probe);
    if parsed.is_none() {
        return Err("key material is invalid".to_owned());
    }
    let _ = key.parsed[probe.index()].set(parsed);
    Ok(key)
}

fn decode_component(value: Option<&str>, name: &str) -> Result<Vec<u8>, String> {
    let value = value.ok_or_else(|| format!("no {name}"))?;
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| format!("{name} is not base64url"))
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|byte| **byte == 0).count();
    bytes.drain(..zeros);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/entra-real");

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap()
    }

    #[test]
    fn parses_real_entra_key_sets() {
        for (file, kid) in [
            ("jwks_2.json", "nbCwW11w3XkB-xUaXwKRSLjMHGQ"),
            ("jwks_3.json", "YMELHT0gvb0mxoSDoYfomjqfjYU"),
            ("jwks_4.json", "H9nj5AOSswMphg1SFx7jaV-lB9w"),
        ] {
            let set = JwkSet::parse(&fixture(file)).unwrap();
            assert!(set.get(kid).is_some(), "{file} lacks {kid}");
            assert!(set.skipped().is_empty(), "{file}: {:?}", set.skipped());
        }
    }

    #[test]
    fn bad_keys_are_skipped_not_fatal() {
        let good_n = URL_SAFE_NO_PAD.encode([0xC5u8; 256]);
        let doc = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "good", "n": good_n, "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": good_n, "e": "AQAB"},
            {"kty": "RSA", "kid": "short", "n": URL_SAFE_NO_PAD.encode([0xC5u8; 128]), "e": "AQAB"},
            {"kty": "RSA", "kid": "no-e", "n": good_n},
            {"kty": "RSA", "kid": "bad-b64", "n": "!!!", "e": "AQAB"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "RSA", "n": good_n, "e": "AQAB"},
            {"kty": "RSA", "kid": "hs", "alg": "HS256", "n": good_n, "e": "AQAB"},
            {"kty": "RSA", "kid": "ec-alg", "alg": "ES256", "n": good_n, "e": "AQAB"},
            {"kty": "EC", "kid": "ec-bad", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
            {"kty": "EC", "kid": "ec-curve", "crv": "secp256k1", "x": "AAAA", "y": "AAAA"},
            {"kty": "RSA", "kid": "ops", "key_ops": ["encrypt"], "n": good_n, "e": "AQAB"},
            "not an object",
            {"kty": "RSA", "kid": 7, "n": good_n, "e": "AQAB"}
        ]});
        let set = JwkSet::parse(&doc.to_string()).unwrap();
        assert_eq!(set.kids().collect::<Vec<_>>(), vec!["good"]);
        assert_eq!(set.skipped().len(), 13);
    }

    #[test]
    fn duplicate_kids_keep_neither() {
        let n = URL_SAFE_NO_PAD.encode([0xC5u8; 256]);
        let doc = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "a", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "a", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "a", "n": n, "e": "AQAB"}
        ]});
        let set = JwkSet::parse(&doc.to_string()).unwrap();
        assert!(set.is_empty());
    }

    #[test]
    fn whole_document_failures() {
        assert!(matches!(JwkSet::parse("{"), Err(JwksParseError::NotJson(_))));
        assert_eq!(JwkSet::parse("{}").unwrap_err(), JwksParseError::NoKeysArray);
        assert_eq!(
            JwkSet::parse(r#"{"keys":{}}"#).unwrap_err(),
            JwksParseError::NoKeysArray
        );
        let many = serde_json::json!({"keys": vec![serde_json::json!({}); MAX_KEYS_PER_SET + 1]});
        assert!(matches!(
            JwkSet::parse(&many.to_string()),
            Err(JwksParseError::TooManyKeys(_))
        ));
        assert!(JwkSet::parse(r#"{"keys":[]}"#).unwrap().is_empty());
    }

    #[test]
    fn algorithm_names_are_exact() {
        assert_eq!(JwsAlgorithm::parse("RS256"), Some(JwsAlgorithm::RS256));
        assert_eq!(JwsAlgorithm::parse("rs256"), None);
        assert_eq!(JwsAlgorithm::parse("HS256"), None);
        assert_eq!(JwsAlgorithm::parse("none"), None);
    }
}
