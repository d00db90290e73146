//! Minting Entra-shaped app-only access tokens (the client assertions Entra's provisioning service presents),
//! plus a raw mode that signs arbitrary header/payload text for attack tests.
//!
//! Shapes copied from real Entra tokens (see shared/fixtures/entra-real): v1 headers carry `typ, alg, x5t, kid`
//! and v2 headers `typ, alg, kid`; v1 payloads name the client `appid/appidacr` and carry `idp`, v2 payloads
//! name it `azp/azpacr` and carry `idtyp: "app"`. `iat`/`nbf` are backdated five minutes and `exp` is 65 minutes
//! after `iat`, as Entra does.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::b64;
use crate::error::{Result, SimError};
use crate::identity::{Identity, TokenVersion, Workload};
use crate::json_order::OrderedObject;
use crate::keys::SigningKey;

/// Entra backdates `iat` and `nbf` by five minutes to absorb clock skew at relying parties.
pub const DEFAULT_BACKDATE_SECONDS: i64 = 300;
/// `exp - iat` of the real v1 and v2 fixtures (65 minutes).
pub const DEFAULT_LIFETIME_SECONDS: i64 = 3900;

#[derive(Clone, Debug)]
enum Edit {
    Set(Value),
    Remove,
}

/// Builds one assertion. Start from [`Identity::assertion`] (prefilled) or [`AssertionBuilder::new`].
#[derive(Clone, Debug)]
pub struct AssertionBuilder {
    version: TokenVersion,
    tenant_id: String,
    app_id: String,
    object_id: String,
    audience: String,
    issued_at: Option<i64>,
    backdate: i64,
    lifetime: i64,
    kid: Option<String>,
    claim_edits: Vec<(String, Edit)>,
    header_edits: Vec<(String, Edit)>,
}

impl AssertionBuilder {
    pub fn new(version: TokenVersion, tenant_id: &str, workload: &Workload) -> Self {
        AssertionBuilder {
            version,
            tenant_id: tenant_id.to_string(),
            app_id: workload.app_id.clone(),
            object_id: workload.object_id.clone(),
            audience: workload.audience.clone(),
            issued_at: None,
            backdate: DEFAULT_BACKDATE_SECONDS,
            lifetime: DEFAULT_LIFETIME_SECONDS,
            kid: None,
            claim_edits: Vec::new(),
            header_edits: Vec::new(),
        }
    }

    pub fn version(&self) -> TokenVersion {
        self.version
    }

    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// Sets both `sub` and `oid` (equal in app-only tokens); override one with [`Self::claim`] to split them.
    pub fn subject(mut self, object_id: impl Into<String>) -> Self {
        self.object_id = object_id.into();
        self
    }

    /// The client application id (`appid` in v1, `azp` in v2).
    pub fn app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = app_id.into();
        self
    }

    /// Changes `tid` and the tenant inside `iss` and `idp`.
    pub fn tenant(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = tenant_id.into();
        self
    }

    /// Pins "now" (unix seconds) instead of reading the system clock; `iat = now - backdate`.
    pub fn now(mut self, unix_seconds: i64) -> Self {
        self.issued_at = Some(unix_seconds);
        self
    }

    pub fn backdate_seconds(mut self, seconds: i64) -> Self {
        self.backdate = seconds;
        self
    }

    /// `exp - iat`.
    pub fn lifetime_seconds(mut self, seconds: i64) -> Self {
        self.lifetime = seconds;
        self
    }

    /// Signs with this published key instead of the identity's current signing key.
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Sets (or replaces, keeping its position) any payload claim, e.g. `iss`, `xms_mirid`, `roles`.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claim_edits.push((name.into(), Edit::Set(value.into())));
        self
    }

    pub fn without_claim(mut self, name: impl Into<String>) -> Self {
        self.claim_edits.push((name.into(), Edit::Remove));
        self
    }

    /// Sets any header member, e.g. `jku`, `crit`, `alg` (the signature stays RS256: use [`RawJws`] for others).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.header_edits.push((name.into(), Edit::Set(value.into())));
        self
    }

    pub fn without_header(mut self, name: impl Into<String>) -> Self {
        self.header_edits.push((name.into(), Edit::Remove));
        self
    }

    /// The payload in Entra's member order, after edits.
    pub fn claims(&self) -> OrderedObject {
        let now = self.issued_at.unwrap_or_else(unix_now);
        let iat = now - self.backdate;
        let tid = self.tenant_id.as_str();
        let mut c = OrderedObject::new()
            .with("aud", self.audience.as_str())
            .with("iss", self.version.issuer(tid))
            .with("iat", iat)
            .with("nbf", iat)
            .with("exp", iat + self.lifetime);
        match self.version {
            TokenVersion::V1 => {
                c.set("aio", b64::standard(&random_bytes::<23>()));
                c.set("appid", self.app_id.as_str());
                // "2": the client authenticated with a certificate or managed identity, never a secret.
                c.set("appidacr", "2");
                c.set("idp", TokenVersion::V1.issuer(tid));
            }
            TokenVersion::V2 => {
                c.set("aio", b64::standard(&random_bytes::<41>()));
                c.set("azp", self.app_id.as_str());
                c.set("azpacr", "2");
                c.set("idtyp", "app");
            }
        }
        c.set("oid", self.object_id.as_str());
        c.set("rh", format!("0.{}.", b64::url(&random_bytes::<38>())));
        c.set("sub", self.object_id.as_str());
        c.set("tid", tid);
        c.set("uti", b64::url(&random_bytes::<16>()));
        c.set("ver", self.version.ver_claim());
        apply_edits(&mut c, &self.claim_edits);
        c
    }

    /// The JOSE header for `key`, after edits.
    pub fn header_for(&self, key: &SigningKey) -> OrderedObject {
        let mut h = OrderedObject::new().with("typ", "JWT").with("alg", "RS256");
        if self.version == TokenVersion::V1 {
            h.set("x5t", key.kid());
        }
        h.set("kid", key.kid());
        apply_edits(&mut h, &self.header_edits);
        h
    }

    /// Signs with the identity's signing key (or the key chosen with [`Self::kid`]).
    pub fn sign(&self, identity: &Identity) -> Result<String> {
        let key = match &self.kid {
            Some(kid) => identity
                .key(kid)
                .ok_or_else(|| SimError::InvalidArgument(format!("no published key with kid {kid}")))?,
            None => identity.signing_key(),
        };
        self.sign_with(&key)
    }

    pub fn sign_with(&self, key: &SigningKey) -> Result<String> {
        self.to_raw(key).sign(RawSignature::Rs256(key))
    }

    /// The header and payload as text, for further tampering before signing.
    pub fn to_raw(&self, key: &SigningKey) -> RawJws {
        RawJws::new(self.header_for(key).to_json(), self.claims().to_json())
    }
}

fn apply_edits(obj: &mut OrderedObject, edits: &[(String, Edit)]) {
    for (name, edit) in edits {
        match edit {
            Edit::Set(v) => obj.set(name.clone(), v.clone()),
            Edit::Remove => {
                obj.remove(name);
            }
        }
    }
}

/// How a [`RawJws`] gets its third segment.
pub enum RawSignature<'a> {
    /// RSASSA-PKCS1-v1_5 SHA-256 with a real key, whatever the header claims.
    Rs256(&'a SigningKey),
    /// HMAC-SHA256 with arbitrary key bytes (e.g. the RSA public key, for the classic key-confusion attack).
    Hs256(&'a [u8]),
    /// An empty signature segment (`alg: none` style): `header.payload.`
    Empty,
    /// These exact bytes, base64url-encoded.
    Bytes(Vec<u8>),
}

/// A JWS built from arbitrary header and payload *text*, so callers can craft what no JSON library would emit:
/// duplicate members, `crit`, `jku`, `alg: none`, trailing garbage. For malformed base64 or a wrong segment count,
/// take [`RawJws::signing_input`] or the segments and assemble the string yourself.
#[derive(Clone, Debug)]
pub struct RawJws {
    pub header_json: String,
    pub payload_json: String,
}

impl RawJws {
    pub fn new(header_json: impl Into<String>, payload_json: impl Into<String>) -> Self {
        RawJws {
            header_json: header_json.into(),
            payload_json: payload_json.into(),
        }
    }

    pub fn header_segment(&self) -> String {
        b64::url(self.header_json.as_bytes())
    }

    pub fn payload_segment(&self) -> String {
        b64::url(self.payload_json.as_bytes())
    }

    /// `base64url(header) "." base64url(payload)`: the bytes a JWS signature covers.
    pub fn signing_input(&self) -> String {
        format!("{}.{}", self.header_segment(), self.payload_segment())
    }

    pub fn sign(&self, signature: RawSignature<'_>) -> Result<String> {
        let input = self.signing_input();
        let sig = match signature {
            RawSignature::Rs256(key) => key.sign_rs256(input.as_bytes())?,
            RawSignature::Hs256(secret) => {
                let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
                aws_lc_rs::hmac::sign(&key, input.as_bytes()).as_ref().to_vec()
            }
            RawSignature::Empty => Vec::new(),
            RawSignature::Bytes(bytes) => bytes,
        };
        Ok(format!("{input}.{}", b64::url(&sig)))
    }
}

/// A JWS whose signature was checked against a JWKS.
#[derive(Clone, Debug)]
pub struct VerifiedJws {
    pub header: Value,
    pub claims: Value,
}

/// Splits a compact JWS and decodes header and payload without checking anything (for inspecting tokens).
pub fn decode_unverified(token: &str) -> Result<(Value, Value)> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(SimError::InvalidArgument(format!(
            "a compact JWS has 3 segments, got {}",
            parts.len()
        )));
    }
    let decode = |segment: &str, what: &str| -> Result<Value> {
        let bytes = b64::decode_url(segment)
            .ok_or_else(|| SimError::InvalidArgument(format!("{what} segment is not base64url")))?;
        serde_json::from_slice(&bytes).map_err(|e| SimError::Json {
            what: what.into(),
            detail: e.to_string(),
        })
    };
    Ok((decode(parts[0], "header")?, decode(parts[1], "payload")?))
}

/// Checks an RS256 JWS against the RSA keys of a JWKS document (by `kid`), using aws-lc-rs. Test helper: it
/// checks only the signature, not the claims.
pub fn verify_rs256_with_jwks(token: &str, jwks: &Value) -> Result<VerifiedJws> {
    let (header, claims) = decode_unverified(token)?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(SimError::InvalidArgument("alg is not RS256".into()));
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or_else(|| SimError::InvalidArgument("header has no kid".into()))?;
    let jwk = jwks
        .get("keys")
        .and_then(Value::as_array)
        .and_then(|keys| keys.iter().find(|k| k.get("kid").and_then(Value::as_str) == Some(kid)))
        .ok_or_else(|| SimError::InvalidArgument(format!("kid {kid} is not in the JWKS")))?;
    let component = |name: &str| -> Result<Vec<u8>> {
        jwk.get(name)
            .and_then(Value::as_str)
            .and_then(b64::decode_url)
            .ok_or_else(|| SimError::InvalidArgument(format!("JWK member {name} missing or not base64url")))
    };
    let (n, e) = (component("n")?, component("e")?);
    let (input, sig_b64) = token
        .rsplit_once('.')
        .ok_or_else(|| SimError::InvalidArgument("no signature segment".into()))?;
    let sig = b64::decode_url(sig_b64).ok_or_else(|| SimError::InvalidArgument("signature is not base64url".into()))?;
    aws_lc_rs::signature::RsaPublicKeyComponents { n: &n, e: &e }
        .verify(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            input.as_bytes(),
            &sig,
        )
        .map_err(|_| SimError::InvalidArgument("signature does not verify".into()))?;
    Ok(VerifiedJws { header, claims })
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The system RNG failing is not recoverable and not input-dependent; zero bytes would still be valid claims.
    let _ = aws_lc_rs::rand::fill(&mut buf);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &Value) -> Vec<String> {
        v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
    }

    fn payload_member_order(token: &str) -> Vec<String> {
        // Member order is only visible in the text; parse it by scanning top-level keys.
        let (_, payload) = token.split_once('.').expect("dot");
        let payload = payload.split('.').next().expect("payload");
        let text = String::from_utf8(b64::decode_url(payload).expect("b64")).expect("utf8");
        let obj: OrderedKeys = serde_json::from_str(&text).expect("json");
        obj.0
    }

    struct OrderedKeys(Vec<String>);
    impl<'de> serde::Deserialize<'de> for OrderedKeys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = OrderedKeys;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut m: A,
                ) -> std::result::Result<OrderedKeys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some((k, _)) = m.next_entry::<String, serde::de::IgnoredAny>()? {
                        keys.push(k);
                    }
                    Ok(OrderedKeys(keys))
                }
            }
            d.deserialize_map(V)
        }
    }

    #[test]
    fn v1_assertion_has_entra_v1_shape_and_verifies_with_jwks() {
        let id = Identity::generate("72f988bf-86f1-41af-91ab-2d7cd011db47").expect("identity");
        let token = id
            .assertion(TokenVersion::V1)
            .now(1_700_000_000)
            .sign(&id)
            .expect("sign");
        let verified = verify_rs256_with_jwks(&token, &id.jwks(TokenVersion::V1)).expect("verify");
        let h = &verified.header;
        assert_eq!(h["typ"], "JWT");
        assert_eq!(h["alg"], "RS256");
        assert_eq!(h["kid"], id.signing_kid());
        assert_eq!(h["x5t"], id.signing_kid());
        let c = &verified.claims;
        assert_eq!(
            c["iss"],
            "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/"
        );
        assert_eq!(c["idp"], c["iss"]);
        assert_eq!(c["ver"], "1.0");
        assert_eq!(c["aud"], id.workload().audience.as_str());
        assert_eq!(c["sub"], id.workload().object_id.as_str());
        assert_eq!(c["oid"], c["sub"]);
        assert_eq!(c["appid"], id.workload().app_id.as_str());
        assert_eq!(c["appidacr"], "2");
        assert_eq!(c["tid"], id.tenant_id());
        assert_eq!(c["iat"], 1_700_000_000 - 300);
        assert_eq!(c["nbf"], c["iat"]);
        assert_eq!(c["exp"], 1_700_000_000 - 300 + 3900);
        assert_eq!(c["uti"].as_str().map(str::len), Some(22));
        assert!(c.get("azp").is_none() && c.get("idtyp").is_none());
        assert_eq!(
            payload_member_order(&token),
            [
                "aud", "iss", "iat", "nbf", "exp", "aio", "appid", "appidacr", "idp", "oid", "rh", "sub", "tid", "uti",
                "ver"
            ]
        );
    }

    #[test]
    fn v2_assertion_has_entra_v2_shape() {
        let id = Identity::random().expect("identity");
        let token = id.mint(TokenVersion::V2).expect("sign");
        let v = verify_rs256_with_jwks(&token, &id.jwks(TokenVersion::V2)).expect("verify");
        assert_eq!(names(&v.header).len(), 3, "v2 header is typ, alg, kid: {}", v.header);
        assert!(v.header.get("x5t").is_none());
        let c = &v.claims;
        assert_eq!(
            c["iss"],
            format!("https://login.microsoftonline.com/{}/v2.0", id.tenant_id())
        );
        assert_eq!(c["ver"], "2.0");
        assert_eq!(c["azp"], id.workload().app_id.as_str());
        assert_eq!(c["azpacr"], "2");
        assert_eq!(c["idtyp"], "app");
        assert!(c.get("appid").is_none() && c.get("idp").is_none());
        let rh = c["rh"].as_str().expect("rh");
        assert!(rh.starts_with("0.") && rh.ends_with('.'));
    }

    #[test]
    fn overrides_set_and_remove_claims_and_headers() {
        let id = Identity::random().expect("identity");
        let token = id
            .assertion(TokenVersion::V2)
            .audience("api://other")
            .claim("xms_mirid", "/subscriptions/x")
            .claim("iss", "https://evil.example/")
            .without_claim("exp")
            .header("jku", "https://evil.example/keys")
            .without_header("typ")
            .lifetime_seconds(60)
            .sign(&id)
            .expect("sign");
        let (h, c) = decode_unverified(&token).expect("decode");
        assert_eq!(c["aud"], "api://other");
        assert_eq!(c["xms_mirid"], "/subscriptions/x");
        assert_eq!(c["iss"], "https://evil.example/");
        assert!(c.get("exp").is_none());
        assert_eq!(h["jku"], "https://evil.example/keys");
        assert!(h.get("typ").is_none());
        assert!(verify_rs256_with_jwks(&token, &id.jwks(TokenVersion::V2)).is_ok());
    }

    #[test]
    fn signing_with_an_older_published_key_uses_its_kid() {
        let mut id = Identity::random().expect("identity");
        let old = id.signing_kid().to_string();
        id.rotate(false).expect("rotate");
        let token = id.assertion(TokenVersion::V1).kid(old.clone()).sign(&id).expect("sign");
        let v = verify_rs256_with_jwks(&token, &id.jwks(TokenVersion::V1)).expect("verify");
        assert_eq!(v.header["kid"], old.as_str());
        assert!(id.assertion(TokenVersion::V1).kid("missing").sign(&id).is_err());
    }

    #[test]
    fn raw_mode_emits_exact_text_and_chosen_signatures() {
        let id = Identity::random().expect("identity");
        let raw = RawJws::new(r#"{"alg":"RS256","alg":"none"}"#, r#"{"sub":"a","sub":"b"}"#);
        let unsigned = raw.sign(RawSignature::Empty).expect("sign");
        assert!(unsigned.ends_with('.'));
        assert_eq!(unsigned.split('.').count(), 3);
        let header_text = String::from_utf8(b64::decode_url(&raw.header_segment()).expect("b64")).expect("utf8");
        assert_eq!(header_text, r#"{"alg":"RS256","alg":"none"}"#);

        let signed = raw.sign(RawSignature::Rs256(&id.signing_key())).expect("sign");
        let (input, sig) = signed.rsplit_once('.').expect("dot");
        assert!(
            id.signing_key()
                .verify_rs256(input.as_bytes(), &b64::decode_url(sig).expect("sig"))
        );

        let secret = id.signing_key().modulus().to_vec();
        let hs = RawJws::new(r#"{"alg":"HS256"}"#, "{}")
            .sign(RawSignature::Hs256(&secret))
            .expect("hs");
        assert_eq!(
            b64::decode_url(hs.rsplit('.').next().expect("sig")).expect("b64").len(),
            32
        );
    }

    #[test]
    fn verification_rejects_a_changed_payload() {
        let id = Identity::random().expect("identity");
        let token = id.mint(TokenVersion::V1).expect("sign");
        let parts: Vec<&str> = token.split('.').collect();
        let forged_payload = b64::url(br#"{"sub":"attacker"}"#);
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert!(verify_rs256_with_jwks(&forged, &id.jwks(TokenVersion::V1)).is_err());
    }
}
