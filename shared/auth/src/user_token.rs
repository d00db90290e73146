//! Tokens of people signed in with Entra ID: the ID token of the customer portal's sign-in (OpenID Connect) and
//! the delegated access tokens of its JSON API. Both come from Entra's v2 endpoint of a multi-tenant app, so the
//! issuer is not one fixed string: it is a template (`https://login.microsoftonline.com/{tenantid}/v2.0`) that must
//! give exactly the token's `iss` once the token's own `tid` is put in.
//!
//! Order of checks, as for client assertions ([`crate::assertion`]): the JWT's shape and header first (the same
//! parser: size cap, canonical base64url, duplicate members, `crit`, `kid`), then the signature with the key the
//! caller found by `kid` (RS256 only, Entra's algorithm), and only then the claims: `tid` and `oid` are GUIDs,
//! `iss` equals the template with that `tid`, `aud` is one of the expected audiences, `ver` is `2.0`, `exp`/`nbf`/
//! `iat` with the clock skew, a bounded lifetime, then what the kind of token needs: an ID token carries exactly the
//! `nonce` of the sign-in that asked for it; an access token carries delegated scopes (`scp`) and no `nonce` (an ID
//! token is not accepted as an access token, even where the audiences overlap).

use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::assertion::{AssertionPolicy, UnverifiedAssertion};
use crate::jwks::{JwsAlgorithm, VerifyingKey};
use crate::strict_json;

/// Where the tenant id goes in an issuer template.
pub const TENANT_PLACEHOLDER: &str = "{tenantid}";
/// The issuer template of Entra's v2 endpoint in the public cloud.
pub const ENTRA_V2_ISSUER_TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";

/// What a deployment accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTokenPolicy {
    /// Contains [`TENANT_PLACEHOLDER`] exactly once.
    pub issuer_template: String,
    /// Accepted `aud` values (the portal app's client id for ID tokens; its API's app id URI for access tokens).
    pub audiences: Vec<String>,
    pub clock_skew_seconds: i64,
    pub max_bytes: usize,
    /// Entra's user tokens live about an hour (at most a day with token lifetime policies).
    pub max_lifetime_seconds: i64,
}

impl UserTokenPolicy {
    pub fn new(issuer_template: impl Into<String>, audiences: Vec<String>) -> Self {
        Self {
            issuer_template: issuer_template.into(),
            audiences,
            clock_skew_seconds: 300,
            max_bytes: 16_384,
            max_lifetime_seconds: 86_400,
        }
    }

    /// The issuer a token of `tid` must carry.
    pub fn issuer_for(&self, tid: &str) -> String {
        self.issuer_template.replace(TENANT_PLACEHOLDER, tid)
    }
}

/// Which kind of token the caller expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected<'a> {
    /// The ID token of the sign-in that sent this `nonce`.
    IdToken { nonce: &'a str },
    /// A delegated access token (`scp` required).
    AccessToken,
}

/// The person a verified token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserClaims {
    /// The person's Entra tenant (GUID).
    pub tid: String,
    /// The person's object id in that tenant (GUID): stable, never reassigned.
    pub oid: String,
    /// `upn`, else `preferred_username` (display only: it can change and is not unique across tenants).
    pub upn: Option<String>,
    pub name: Option<String>,
    /// Directory role template ids (`wids`).
    pub wids: Vec<String>,
    /// Delegated scopes (`scp`, space-separated in the token); empty for ID tokens.
    pub scopes: Vec<String>,
    pub exp: i64,
}

/// Why a token was refused. `reason` is for logs and the audit trail (it never contains the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct UserTokenError {
    pub failure: UserTokenFailure,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserTokenFailure {
    Malformed,
    Algorithm,
    BadSignature,
    Claims,
    Issuer,
    Audience,
    Expired,
    NotYetValid,
    Nonce,
    NotAnAccessToken,
}

fn error(failure: UserTokenFailure, reason: impl Into<String>) -> UserTokenError {
    UserTokenError {
        failure,
        reason: reason.into(),
    }
}

const CLAIMS: [&str; 14] = [
    "iss",
    "aud",
    "tid",
    "oid",
    "upn",
    "preferred_username",
    "name",
    "wids",
    "scp",
    "exp",
    "nbf",
    "iat",
    "nonce",
    "ver",
];

/// A token whose shape and header are fine, not yet trusted.
pub struct UnverifiedUserToken<'a> {
    inner: UnverifiedAssertion<'a>,
}

impl std::fmt::Debug for UnverifiedUserToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnverifiedUserToken")
            .field("kid", &self.kid())
            .finish_non_exhaustive()
    }
}

impl<'a> UnverifiedUserToken<'a> {
    pub fn parse(text: &'a str, policy: &UserTokenPolicy) -> Result<Self, UserTokenError> {
        let limits = AssertionPolicy {
            max_bytes: policy.max_bytes,
            ..AssertionPolicy::default()
        };
        let inner =
            UnverifiedAssertion::parse(text, &limits).map_err(|err| error(UserTokenFailure::Malformed, err.reason))?;
        if inner.header().alg != JwsAlgorithm::RS256.as_str() {
            return Err(error(
                UserTokenFailure::Algorithm,
                format!(
                    "token alg {:?} is not RS256",
                    inner.header().alg.chars().take(16).collect::<String>()
                ),
            ));
        }
        Ok(Self { inner })
    }

    /// The signing key's id, to look up in the identity provider's JWKS.
    pub fn kid(&self) -> &str {
        self.inner.kid()
    }

    /// Signature with `key`, then every claim rule.
    pub fn verify(
        &self,
        key: &VerifyingKey,
        policy: &UserTokenPolicy,
        expected: Expected<'_>,
        now: i64,
    ) -> Result<UserClaims, UserTokenError> {
        let (signing_input, payload, signature) = self.inner.parts();
        if key.kid() != self.kid() {
            return Err(error(UserTokenFailure::BadSignature, "key offered for another kid"));
        }
        key.verify(JwsAlgorithm::RS256, signing_input.as_bytes(), signature)
            .map_err(|err| error(UserTokenFailure::BadSignature, format!("signature: {err}")))?;
        let claims = strict_json::parse_object_keeping(payload, &CLAIMS)
            .map_err(|err| error(UserTokenFailure::Claims, format!("claims: {err}")))?;
        let user = identity(&claims, policy)?;
        check_times(&claims, policy, now)?;
        match expected {
            Expected::IdToken { nonce } => {
                let sent = optional_text(&claims, "nonce")?.unwrap_or_default();
                if nonce.is_empty() || !bool::from(sent.as_bytes().ct_eq(nonce.as_bytes())) {
                    return Err(error(UserTokenFailure::Nonce, "nonce does not match the sign-in"));
                }
                Ok(user)
            }
            Expected::AccessToken => {
                if claims.contains_key("nonce") {
                    return Err(error(
                        UserTokenFailure::NotAnAccessToken,
                        "an ID token is not an access token",
                    ));
                }
                Ok(user)
            }
        }
    }
}

fn identity(claims: &Map<String, Value>, policy: &UserTokenPolicy) -> Result<UserClaims, UserTokenError> {
    let tid = guid(claims, "tid")?;
    let oid = guid(claims, "oid")?;
    let iss = optional_text(claims, "iss")?.ok_or_else(|| error(UserTokenFailure::Claims, "no iss claim"))?;
    let expected_issuer = policy.issuer_for(&tid);
    if iss != expected_issuer {
        return Err(error(
            UserTokenFailure::Issuer,
            format!("iss {iss:?} is not {expected_issuer:?} (the issuer of the token's tid)"),
        ));
    }
    if optional_text(claims, "ver")?.as_deref() != Some("2.0") {
        return Err(error(UserTokenFailure::Claims, "ver is not 2.0"));
    }
    let aud = match claims.get("aud") {
        Some(Value::String(aud)) => aud.clone(),
        Some(Value::Array(items)) if items.len() == 1 => items[0].as_str().unwrap_or_default().to_owned(),
        _ => return Err(error(UserTokenFailure::Claims, "aud is not one string")),
    };
    if !policy.audiences.contains(&aud) {
        return Err(error(
            UserTokenFailure::Audience,
            format!("aud {aud:?} is not expected"),
        ));
    }
    let scopes = optional_text(claims, "scp")?
        .map(|scp| scp.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let wids = match claims.get("wids") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| error(UserTokenFailure::Claims, "wids is not a list of strings"))?,
        Some(_) => return Err(error(UserTokenFailure::Claims, "wids is not a list")),
    };
    Ok(UserClaims {
        tid,
        oid,
        upn: optional_text(claims, "upn")?.or(optional_text(claims, "preferred_username")?),
        name: optional_text(claims, "name")?,
        wids,
        scopes,
        exp: date(claims, "exp")?.ok_or_else(|| error(UserTokenFailure::Claims, "no exp claim"))?,
    })
}

fn check_times(claims: &Map<String, Value>, policy: &UserTokenPolicy, now: i64) -> Result<(), UserTokenError> {
    let skew = policy.clock_skew_seconds;
    let exp = date(claims, "exp")?.ok_or_else(|| error(UserTokenFailure::Claims, "no exp claim"))?;
    if exp <= now.saturating_sub(skew) {
        return Err(error(
            UserTokenFailure::Expired,
            format!("expired at {exp} (now {now})"),
        ));
    }
    let nbf = date(claims, "nbf")?;
    let iat = date(claims, "iat")?;
    for (name, value) in [("nbf", nbf), ("iat", iat)] {
        if value.is_some_and(|at| at > now.saturating_add(skew)) {
            return Err(error(UserTokenFailure::NotYetValid, format!("{name} is in the future")));
        }
    }
    let lifetime = exp.saturating_sub(iat.or(nbf).unwrap_or(now));
    if lifetime > policy.max_lifetime_seconds {
        return Err(error(
            UserTokenFailure::Claims,
            format!("lifetime {lifetime} s is too long"),
        ));
    }
    Ok(())
}

fn optional_text(claims: &Map<String, Value>, name: &str) -> Result<Option<String>, UserTokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(error(UserTokenFailure::Claims, format!("{name} is not a string"))),
    }
}

/// A canonical (lowercase, hyphenated) GUID: what Entra sends, and safe to put into an issuer or a storage key.
fn guid(claims: &Map<String, Value>, name: &str) -> Result<String, UserTokenError> {
    let text = optional_text(claims, name)?.ok_or_else(|| error(UserTokenFailure::Claims, format!("no {name}")))?;
    match uuid::Uuid::try_parse(&text) {
        Ok(parsed) if parsed.hyphenated().to_string() == text => Ok(text),
        _ => Err(error(UserTokenFailure::Claims, format!("{name} is not a GUID"))),
    }
}

fn date(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, UserTokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(number)) => number
            .as_i64()
            .or_else(|| {
                number
                    .as_f64()
                    .filter(|v| v.is_finite() && v.abs() < 1e15)
                    .map(|v| v.floor() as i64)
            })
            .map(Some)
            .ok_or_else(|| error(UserTokenFailure::Claims, format!("{name} is not a NumericDate"))),
        Some(_) => Err(error(UserTokenFailure::Claims, format!("{name} is not a NumericDate"))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::jwks::JwkSet;
    use crate::testing::{TestKey, jwks_document, sign_jwt, sign_raw};

    const TID: &str = "6b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b";
    const OTHER_TID: &str = "2f0c6c1e-8d1b-4c1e-9f4e-5b1a2c3d4e5f";
    const OID: &str = "0d7c2d0e-1111-4222-8333-444455556666";
    const CLIENT: &str = "11111111-2222-4333-8444-555555555555";
    const NOW: i64 = 1_800_000_000;

    fn policy() -> UserTokenPolicy {
        UserTokenPolicy::new(
            ENTRA_V2_ISSUER_TEMPLATE,
            vec![CLIENT.to_owned(), "api://wif-portal".to_owned()],
        )
    }

    fn id_claims() -> Value {
        json!({
            "iss": format!("https://login.microsoftonline.com/{TID}/v2.0"), "aud": CLIENT, "tid": TID, "oid": OID,
            "preferred_username": "adele@contoso.example", "name": "Adele", "ver": "2.0", "nonce": "n-1",
            "wids": ["9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"], "iat": NOW - 10, "nbf": NOW - 10, "exp": NOW + 3600
        })
    }

    fn check(key: &TestKey, token: &str, expected: Expected<'_>) -> Result<UserClaims, UserTokenError> {
        let set = JwkSet::parse(&jwks_document(&[key])).unwrap();
        let parsed = UnverifiedUserToken::parse(token, &policy())?;
        let found = set.get(parsed.kid()).expect("kid in set");
        parsed.verify(found, &policy(), expected, NOW)
    }

    fn with(mut claims: Value, name: &str, value: Value) -> Value {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value;
        }
        claims
    }

    #[test]
    fn a_genuine_id_token_gives_the_person() {
        let key = TestKey::rsa("k1");
        let user = check(
            &key,
            &sign_jwt(&key, "RS256", &id_claims()),
            Expected::IdToken { nonce: "n-1" },
        )
        .unwrap();
        assert_eq!((user.tid.as_str(), user.oid.as_str()), (TID, OID));
        assert_eq!(user.upn.as_deref(), Some("adele@contoso.example"));
        assert_eq!(user.wids, vec!["9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"]);
        assert!(user.scopes.is_empty());
    }

    #[test]
    fn each_claim_rule_refuses_with_its_reason() {
        let key = TestKey::rsa("k1");
        let foreign_iss = format!("https://login.microsoftonline.com/{OTHER_TID}/v2.0");
        let cases = [
            (with(id_claims(), "iss", json!(foreign_iss)), UserTokenFailure::Issuer),
            (with(id_claims(), "tid", json!(OTHER_TID)), UserTokenFailure::Issuer),
            (with(id_claims(), "tid", json!("{tenantid}")), UserTokenFailure::Claims),
            (
                with(id_claims(), "tid", json!(TID.to_uppercase())),
                UserTokenFailure::Claims,
            ),
            (with(id_claims(), "oid", Value::Null), UserTokenFailure::Claims),
            (
                with(id_claims(), "aud", json!("api://someone-else")),
                UserTokenFailure::Audience,
            ),
            (with(id_claims(), "aud", json!([CLIENT, "x"])), UserTokenFailure::Claims),
            (with(id_claims(), "ver", json!("1.0")), UserTokenFailure::Claims),
            (with(id_claims(), "exp", json!(NOW - 301)), UserTokenFailure::Expired),
            (with(id_claims(), "exp", Value::Null), UserTokenFailure::Claims),
            (
                with(id_claims(), "nbf", json!(NOW + 400)),
                UserTokenFailure::NotYetValid,
            ),
            (with(id_claims(), "iat", json!(NOW - 200_000)), UserTokenFailure::Claims),
            (with(id_claims(), "nonce", json!("n-2")), UserTokenFailure::Nonce),
            (with(id_claims(), "nonce", Value::Null), UserTokenFailure::Nonce),
            (with(id_claims(), "wids", json!("admin")), UserTokenFailure::Claims),
        ];
        for (claims, failure) in cases {
            let token = sign_jwt(&key, "RS256", &claims);
            let err = check(&key, &token, Expected::IdToken { nonce: "n-1" }).unwrap_err();
            assert_eq!(err.failure, failure, "{claims}: {err}");
        }
    }

    #[test]
    fn tampered_or_foreign_signatures_and_other_algorithms_are_refused() {
        let key = TestKey::rsa("k1");
        let token = sign_jwt(&key, "RS256", &id_claims());
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let forged = with(id_claims(), "oid", json!("0d7c2d0e-1111-4222-8333-444455550000"));
        parts[1] = crate::testing::b64(forged.to_string().as_bytes());
        let err = check(&key, &parts.join("."), Expected::IdToken { nonce: "n-1" }).unwrap_err();
        assert_eq!(err.failure, UserTokenFailure::BadSignature);

        let impostor = TestKey::rsa("k1");
        let err = check(
            &key,
            &sign_jwt(&impostor, "RS256", &id_claims()),
            Expected::IdToken { nonce: "n-1" },
        );
        assert_eq!(err.unwrap_err().failure, UserTokenFailure::BadSignature);

        let header = json!({"alg": "PS256", "kid": "k1", "typ": "JWT"}).to_string();
        let ps = sign_raw(&key, "PS256", &header, &id_claims().to_string());
        assert_eq!(
            UnverifiedUserToken::parse(&ps, &policy()).unwrap_err().failure,
            UserTokenFailure::Algorithm
        );
        for garbage in ["", "wif_at_abc", "a.b", "a.b.c.d"] {
            assert_eq!(
                UnverifiedUserToken::parse(garbage, &policy()).unwrap_err().failure,
                UserTokenFailure::Malformed
            );
        }
        let duplicate = format!(r#"{{"oid":"{OID}",{}"#, &id_claims().to_string()[1..]);
        let header = json!({"alg": "RS256", "kid": "k1"}).to_string();
        let err = check(
            &key,
            &sign_raw(&key, "RS256", &header, &duplicate),
            Expected::IdToken { nonce: "n-1" },
        );
        assert_eq!(err.unwrap_err().failure, UserTokenFailure::Claims);
    }

    #[test]
    fn access_tokens_need_no_nonce_and_carry_scopes() {
        let key = TestKey::rsa("k1");
        let claims = with(
            with(
                with(id_claims(), "nonce", Value::Null),
                "aud",
                json!("api://wif-portal"),
            ),
            "scp",
            json!("registrations.read registrations.readwrite"),
        );
        let user = check(&key, &sign_jwt(&key, "RS256", &claims), Expected::AccessToken).unwrap();
        assert_eq!(user.scopes, vec!["registrations.read", "registrations.readwrite"]);
        let id_token = sign_jwt(&key, "RS256", &id_claims());
        let err = check(&key, &id_token, Expected::AccessToken).unwrap_err();
        assert_eq!(err.failure, UserTokenFailure::NotAnAccessToken);
    }
}
