//! RFC 7523 client assertions, validated in the order that keeps an attacker's input away from every decision
//! that matters until the signature has been checked:
//!
//! 1. [`UnverifiedAssertion::parse`]: size cap (before any parsing), exactly three segments, canonical base64url,
//!    a JOSE header with duplicate members rejected, `crit` rejected, `kid` required. `jku`, `x5u`, `jwk` and `x5c`
//!    are noted for the audit trail and otherwise ignored: keys only ever come from the registration's own JWKS.
//! 2. [`UnverifiedAssertion::algorithm_for`]: `alg` must be one we implement (never `none` or `HS*`) and on the
//!    registration's allow-list; the key's type must fit it.
//! 3. [`UnverifiedAssertion::verify`]: signature first, with the key the caller looked up by `kid` in the
//!    registration's JWKS; only then the claims are parsed (duplicates rejected) and pinned by exact string
//!    compare: `iss`, `sub`, `aud`, `tid` (when the registration pins it), then `exp` (required), `nbf`, `iat`
//!    and the lifetime bound, each with the configured clock skew.
//!
//! Decisions:
//! - `kid` is required even when the JWKS has a single key: Entra always sends one, and "try the only key" makes
//!   the key choice depend on the JWKS's size at fetch time.
//! - `aud` may be a string or an array of exactly one string. A multi-audience assertion was minted to be accepted
//!   by several parties, which is the token-forwarding risk RFC 7523 §3 warns about.
//! - Lifetime is `exp - iat`, else `exp - nbf`, else `exp - now`; all must stay within the policy maximum (Entra
//!   managed-identity tokens live about 24 hours, hence the 25-hour default).
//! - No `jti` replay cache: Entra reuses one assertion for many token requests within its lifetime.
//!
//! Error descriptions shown to the client before the signature is verified say only what is wrong with the JWT's
//! shape or key; claim values are never compared (or described) before that point.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::jwks::{JwsAlgorithm, KeyUseError, VerifyingKey};
use crate::registration::Registration;
use crate::strict_json;

pub const ASSERTION_TYPE_JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Limits applied to every assertion (configured from `WIF_MAX_ASSERTION_BYTES`, `WIF_CLOCK_SKEW_SECONDS`,
/// `WIF_MAX_ASSERTION_LIFETIME_SECONDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssertionPolicy {
    pub max_bytes: usize,
    pub clock_skew_seconds: i64,
    pub max_lifetime_seconds: i64,
}

impl Default for AssertionPolicy {
    fn default() -> Self {
        Self {
            max_bytes: 16_384,
            clock_skew_seconds: 60,
            max_lifetime_seconds: 90_000,
        }
    }
}

/// The claim an error is about, for tests and audit details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    Iss,
    Sub,
    Aud,
    Tid,
    Exp,
    Nbf,
    Iat,
}

impl Claim {
    pub fn as_str(self) -> &'static str {
        match self {
            Claim::Iss => "iss",
            Claim::Sub => "sub",
            Claim::Aud => "aud",
            Claim::Tid => "tid",
            Claim::Exp => "exp",
            Claim::Nbf => "nbf",
            Claim::Iat => "iat",
        }
    }
}

/// What went wrong, precisely enough for tests to assert and for the audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssertionFailure {
    TooLarge,
    Malformed,
    DuplicateHeaderMember,
    CritHeader,
    MissingKid,
    UnsupportedAlgorithm,
    AlgorithmNotAllowed,
    KeyTypeMismatch,
    BadSignature,
    DuplicateClaimMember,
    MalformedClaims,
    MissingClaim(Claim),
    ClaimType(Claim),
    ClaimMismatch(Claim),
    Expired,
    NotYetValid,
    IssuedInFuture,
    LifetimeTooLong,
}

/// A rejected assertion: a full internal reason (audit, logs) and a shorter public description (the OAuth
/// `error_description`). Always an `invalid_client` answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct AssertionError {
    pub failure: AssertionFailure,
    pub public_description: String,
    pub reason: String,
}

impl AssertionError {
    fn new(failure: AssertionFailure, public_description: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            failure,
            public_description: public_description.into(),
            reason: reason.into(),
        }
    }

    fn malformed(reason: impl Into<String>) -> Self {
        Self::new(
            AssertionFailure::Malformed,
            "client_assertion is not a well-formed JWT",
            reason,
        )
    }
}

/// The JOSE header as we read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoseHeader {
    pub alg: String,
    pub kid: String,
    pub typ: Option<String>,
    /// Key-locating header parameters the assertion carried (`jku`, `x5u`, `jwk`, `x5c`), which we never use.
    pub ignored_key_hints: Vec<&'static str>,
}

const IGNORED_KEY_HINTS: [&str; 4] = ["jku", "x5u", "jwk", "x5c"];
const MAX_KID_LEN: usize = 256;

/// A syntactically valid, not yet trusted assertion. `Debug` shows the header only: the assertion is a bearer
/// credential for its whole lifetime and must never reach a log.
pub struct UnverifiedAssertion<'a> {
    signing_input: &'a str,
    payload: Vec<u8>,
    signature: Vec<u8>,
    header: JoseHeader,
}

impl std::fmt::Debug for UnverifiedAssertion<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnverifiedAssertion")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

/// A verified assertion's claims that matter to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub nbf: Option<i64>,
    pub iat: Option<i64>,
    pub tid: Option<String>,
    pub jti: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub claims: AssertionClaims,
    pub kid: String,
    pub alg: JwsAlgorithm,
}

impl<'a> UnverifiedAssertion<'a> {
    /// Checks the JWT's shape and header. Nothing here depends on a registration or key.
    pub fn parse(text: &'a str, policy: &AssertionPolicy) -> Result<Self, AssertionError> {
        if text.len() > policy.max_bytes {
            return Err(AssertionError::new(
                AssertionFailure::TooLarge,
                format!("client_assertion is larger than {} bytes", policy.max_bytes),
                format!(
                    "assertion of {} bytes exceeds the {}-byte cap",
                    text.len(),
                    policy.max_bytes
                ),
            ));
        }
        let mut segments = text.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (segments.next(), segments.next(), segments.next(), segments.next())
        else {
            return Err(AssertionError::malformed(format!(
                "assertion has {} segments, not 3",
                text.split('.').count()
            )));
        };
        let header_bytes = decode_segment(header_b64, "header")?;
        let payload = decode_segment(payload_b64, "payload")?;
        let signature = decode_segment(signature_b64, "signature")?;
        if signature.is_empty() {
            return Err(AssertionError::malformed("assertion signature is empty"));
        }
        let header = parse_header(&header_bytes)?;
        let signing_input = &text[..header_b64.len() + 1 + payload_b64.len()];
        Ok(Self {
            signing_input,
            payload,
            signature,
            header,
        })
    }

    pub fn header(&self) -> &JoseHeader {
        &self.header
    }

    pub fn kid(&self) -> &str {
        &self.header.kid
    }

    /// The signed text, the decoded payload and the signature, for validators of other JWT profiles in this crate
    /// (Entra user tokens) that share this parsing but not its claim rules.
    pub(crate) fn parts(&self) -> (&str, &[u8], &[u8]) {
        (self.signing_input, &self.payload, &self.signature)
    }

    /// The unverified `iss` and `sub`, used only to find candidate registrations when a request has no
    /// `client_id`. The verified claims are pinned again after the signature check.
    pub fn unverified_issuer_subject(&self) -> Option<(String, String)> {
        let claims = strict_json::parse_object_keeping(&self.payload, &["iss", "sub"]).ok()?;
        let iss = claims.get("iss")?.as_str()?.to_owned();
        let sub = claims.get("sub")?.as_str()?.to_owned();
        // Values no registration can hold are not looked up at all: empty or oversized strings are not valid
        // index keys, and the store would answer with an error instead of "no such client".
        let storable = |value: &str, max: usize| !value.is_empty() && value.len() <= max;
        (storable(&iss, crate::registration::MAX_ISSUER_LEN) && storable(&sub, crate::registration::MAX_SUBJECT_LEN))
            .then_some((iss, sub))
    }

    /// The header's `alg`, if we implement it and the registration allows it.
    pub fn algorithm_for(&self, registration: &Registration) -> Result<JwsAlgorithm, AssertionError> {
        let alg_text = &self.header.alg;
        let Some(alg) = JwsAlgorithm::parse(alg_text) else {
            return Err(AssertionError::new(
                AssertionFailure::UnsupportedAlgorithm,
                format!("assertion alg {} is not supported", printable(alg_text)),
                format!("assertion alg {alg_text:?} is not a supported asymmetric algorithm"),
            ));
        };
        if !registration
            .allowed_algorithms
            .iter()
            .any(|allowed| allowed == alg.as_str())
        {
            return Err(AssertionError::new(
                AssertionFailure::AlgorithmNotAllowed,
                format!("assertion alg {alg} is not allowed for this client"),
                format!(
                    "assertion alg {alg} is not in the registration's allow-list {:?}",
                    registration.allowed_algorithms
                ),
            ));
        }
        Ok(alg)
    }

    /// Verifies the signature with `key` (looked up by `kid` in the registration's JWKS), then the claims against
    /// the registration and `now`.
    pub fn verify(
        &self,
        registration: &Registration,
        key: &VerifyingKey,
        policy: &AssertionPolicy,
        now: i64,
    ) -> Result<VerifiedAssertion, AssertionError> {
        let alg = self.algorithm_for(registration)?;
        if key.kid() != self.header.kid {
            // The caller's lookup is by kid; a mismatch is a programming error, and failing closed is the answer.
            return Err(AssertionError::new(
                AssertionFailure::BadSignature,
                "assertion signature is invalid",
                format!("key {} offered for assertion kid {}", key.kid(), self.header.kid),
            ));
        }
        key.verify(alg, self.signing_input.as_bytes(), &self.signature)
            .map_err(|err| match err {
                KeyUseError::WrongKeyType | KeyUseError::AlgorithmPinned => AssertionError::new(
                    AssertionFailure::KeyTypeMismatch,
                    format!("assertion alg {alg} does not fit signing key {}", self.header.kid),
                    format!("key {} cannot verify {alg}: {err}", self.header.kid),
                ),
                KeyUseError::Unusable | KeyUseError::BadSignature => AssertionError::new(
                    AssertionFailure::BadSignature,
                    "assertion signature is invalid",
                    format!("{alg} signature does not verify with key {}: {err}", self.header.kid),
                ),
            })?;
        let claims = parse_claims(&self.payload)?;
        check_claims(&claims, registration, policy, now)?;
        Ok(VerifiedAssertion {
            claims,
            kid: self.header.kid.clone(),
            alg,
        })
    }
}

/// Strict base64url: URL-safe alphabet, no padding, canonical trailing bits (so no two encodings of one JWT).
fn decode_segment(segment: &str, name: &str) -> Result<Vec<u8>, AssertionError> {
    if segment.is_empty() {
        return Err(AssertionError::malformed(format!("assertion {name} segment is empty")));
    }
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|err| AssertionError::malformed(format!("assertion {name} is not canonical base64url: {err}")))
}

/// Header members we read; anything else is checked for duplicates and otherwise ignored.
const HEADER_MEMBERS: [&str; 8] = ["alg", "kid", "typ", "crit", "jku", "x5u", "jwk", "x5c"];
/// Claims we read.
const CLAIM_MEMBERS: [&str; 8] = ["iss", "sub", "aud", "exp", "nbf", "iat", "tid", "jti"];

fn parse_header(bytes: &[u8]) -> Result<JoseHeader, AssertionError> {
    let map = strict_json::parse_object_keeping(bytes, &HEADER_MEMBERS).map_err(|err| {
        if err.contains("duplicate member") {
            AssertionError::new(
                AssertionFailure::DuplicateHeaderMember,
                "assertion header has a duplicate member",
                format!("assertion header: {err}"),
            )
        } else {
            AssertionError::malformed(format!("assertion header is not a JSON object: {err}"))
        }
    })?;
    if map.contains_key("crit") {
        return Err(AssertionError::new(
            AssertionFailure::CritHeader,
            "assertion header has crit; no critical extensions are supported",
            "assertion header carries crit",
        ));
    }
    let alg = match map.get("alg") {
        Some(Value::String(alg)) => alg.clone(),
        Some(_) => return Err(AssertionError::malformed("assertion header alg is not a string")),
        None => return Err(AssertionError::malformed("assertion header has no alg")),
    };
    let kid = match map.get("kid") {
        Some(Value::String(kid)) if !kid.is_empty() && kid.len() <= MAX_KID_LEN => kid.clone(),
        Some(_) => return Err(AssertionError::malformed("assertion header kid is not a usable string")),
        None => {
            return Err(AssertionError::new(
                AssertionFailure::MissingKid,
                "assertion header has no kid",
                "assertion header has no kid",
            ));
        }
    };
    let typ = map.get("typ").and_then(Value::as_str).map(str::to_owned);
    let ignored_key_hints = IGNORED_KEY_HINTS
        .into_iter()
        .filter(|name| map.contains_key(*name))
        .collect();
    Ok(JoseHeader {
        alg,
        kid,
        typ,
        ignored_key_hints,
    })
}

fn parse_claims(payload: &[u8]) -> Result<AssertionClaims, AssertionError> {
    let map = strict_json::parse_object_keeping(payload, &CLAIM_MEMBERS).map_err(|err| {
        if err.contains("duplicate member") {
            AssertionError::new(
                AssertionFailure::DuplicateClaimMember,
                "assertion claims have a duplicate member",
                format!("assertion claims: {err}"),
            )
        } else {
            AssertionError::new(
                AssertionFailure::MalformedClaims,
                "assertion claims are not a JSON object",
                format!("assertion claims: {err}"),
            )
        }
    })?;
    Ok(AssertionClaims {
        iss: required_string(&map, Claim::Iss)?,
        sub: required_string(&map, Claim::Sub)?,
        aud: audience(&map)?,
        exp: numeric_date(&map, Claim::Exp)?.ok_or_else(|| missing(Claim::Exp))?,
        nbf: numeric_date(&map, Claim::Nbf)?,
        iat: numeric_date(&map, Claim::Iat)?,
        tid: optional_string(&map, Claim::Tid)?,
        jti: map.get("jti").and_then(Value::as_str).map(str::to_owned),
    })
}

fn missing(claim: Claim) -> AssertionError {
    AssertionError::new(
        AssertionFailure::MissingClaim(claim),
        format!("assertion has no {} claim", claim.as_str()),
        format!("assertion has no {} claim", claim.as_str()),
    )
}

fn wrong_type(claim: Claim, expected: &str) -> AssertionError {
    AssertionError::new(
        AssertionFailure::ClaimType(claim),
        format!("assertion {} must be {expected}", claim.as_str()),
        format!("assertion {} is not {expected}", claim.as_str()),
    )
}

fn required_string(map: &Map<String, Value>, claim: Claim) -> Result<String, AssertionError> {
    optional_string(map, claim)?.ok_or_else(|| missing(claim))
}

fn optional_string(map: &Map<String, Value>, claim: Claim) -> Result<Option<String>, AssertionError> {
    match map.get(claim.as_str()) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(wrong_type(claim, "a string")),
    }
}

fn audience(map: &Map<String, Value>) -> Result<String, AssertionError> {
    match map.get("aud") {
        None => Err(missing(Claim::Aud)),
        Some(Value::String(aud)) => Ok(aud.clone()),
        Some(Value::Array(items)) => match items.as_slice() {
            [Value::String(aud)] => Ok(aud.clone()),
            _ => Err(AssertionError::new(
                AssertionFailure::ClaimType(Claim::Aud),
                "assertion aud must name exactly one audience",
                format!("assertion aud is an array of {} values", items.len()),
            )),
        },
        Some(_) => Err(wrong_type(Claim::Aud, "a string")),
    }
}

/// RFC 7519 NumericDate: a JSON number of seconds, possibly fractional (truncated towards the past).
fn numeric_date(map: &Map<String, Value>, claim: Claim) -> Result<Option<i64>, AssertionError> {
    match map.get(claim.as_str()) {
        None => Ok(None),
        Some(Value::Number(number)) => {
            if let Some(value) = number.as_i64() {
                Ok(Some(value))
            } else if let Some(value) = number.as_f64().filter(|v| v.is_finite() && v.abs() < 1e15) {
                Ok(Some(value.floor() as i64))
            } else {
                Err(wrong_type(claim, "a NumericDate"))
            }
        }
        Some(_) => Err(wrong_type(claim, "a NumericDate")),
    }
}

fn mismatch(claim: Claim, got: &str, want: &str) -> AssertionError {
    AssertionError::new(
        AssertionFailure::ClaimMismatch(claim),
        format!("assertion {} does not match the registration", claim.as_str()),
        format!(
            "assertion {} {got:?} does not equal the registered {want:?}",
            claim.as_str()
        ),
    )
}

fn check_claims(
    claims: &AssertionClaims,
    registration: &Registration,
    policy: &AssertionPolicy,
    now: i64,
) -> Result<(), AssertionError> {
    if claims.iss != registration.issuer {
        return Err(mismatch(Claim::Iss, &claims.iss, &registration.issuer));
    }
    if claims.sub != registration.subject {
        return Err(mismatch(Claim::Sub, &claims.sub, &registration.subject));
    }
    if claims.aud != registration.audience {
        return Err(mismatch(Claim::Aud, &claims.aud, &registration.audience));
    }
    if let Some(expected_tid) = &registration.expected_tid {
        match &claims.tid {
            None => return Err(missing(Claim::Tid)),
            Some(tid) if tid != expected_tid => return Err(mismatch(Claim::Tid, tid, expected_tid)),
            Some(_) => {}
        }
    }
    let skew = policy.clock_skew_seconds;
    if claims.exp <= now.saturating_sub(skew) {
        return Err(AssertionError::new(
            AssertionFailure::Expired,
            "assertion has expired",
            format!("assertion exp {} is not after now {now} minus skew {skew}", claims.exp),
        ));
    }
    if let Some(nbf) = claims.nbf
        && nbf > now.saturating_add(skew)
    {
        return Err(AssertionError::new(
            AssertionFailure::NotYetValid,
            "assertion is not valid yet (nbf)",
            format!("assertion nbf {nbf} is after now {now} plus skew {skew}"),
        ));
    }
    if let Some(iat) = claims.iat
        && iat > now.saturating_add(skew)
    {
        return Err(AssertionError::new(
            AssertionFailure::IssuedInFuture,
            "assertion iat is in the future",
            format!("assertion iat {iat} is after now {now} plus skew {skew}"),
        ));
    }
    let start = claims.iat.or(claims.nbf).unwrap_or(now);
    let lifetime = claims.exp.saturating_sub(start);
    if lifetime > policy.max_lifetime_seconds {
        return Err(AssertionError::new(
            AssertionFailure::LifetimeTooLong,
            format!("assertion lifetime exceeds {} seconds", policy.max_lifetime_seconds),
            format!(
                "assertion lifetime {lifetime} s exceeds the {} s maximum",
                policy.max_lifetime_seconds
            ),
        ));
    }
    Ok(())
}

/// A header value quoted for an error description, cut short and stripped of anything unprintable.
fn printable(text: &str) -> String {
    let cleaned: String = text.chars().filter(|c| c.is_ascii_graphic()).take(32).collect();
    format!("{cleaned:?}")
}
