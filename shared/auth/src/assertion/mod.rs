//! RFC 7523 client assertions, validated in the order that keeps an attacker's input away from every decision
//! that matters until the signature has been checked:
//!
//! 1. [`UnverifiedAssertion::parse`]: size cap (before any parsing), exactly three segments, canonical base64url,
//!    a JOSE header with duplicate members rejected, `crit` rejected, `kid` required. `jku`, `x5u`, `jwk` and `x5c`
//!    are noted for the audit trail and otherwise ignored: keys only ever come from the registration's own JWKS.
//! 2. [`UnverifiedAssertion::algorithm_for`]: `alg` must be one we implement (never `none` or `HS*`) and on the
//!    registration's allow-list; the key's type must fit it.
//! 3. [`UnverifiedAssertion::verify_signature`]: signature first, with the key the caller looked up by `kid` in
//!    the JWKS of the credential the assertion's `iss` + `sub` chose; only then the claims are parsed (duplicates
//!    rejected). [`VerifiedAssertion::pin`] then compares them with that credential by exact string compare: `iss`,
//!    `sub`, `aud` (one of the credential's audiences), `tid` (when the credential pins it), then `exp`
//!    (required), `nbf`, `iat` and the lifetime bound, each with the configured clock skew.
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
use serde_json::Value;

use crate::jwks::{JwsAlgorithm, KeyUseError, VerifyingKey};
use crate::registration::{
    FederatedCredential, MAX_AUDIENCE_LEN, MAX_ISSUER_LEN, MAX_SUBJECT_LEN, Registration, Trust,
};
use crate::strict_json;
use crate::untrusted::{MAX_ALG_CHARS, MAX_REASON_CHARS, printable};

mod claims;

pub use claims::AssertionClaims;
use claims::{check_claims, parse_claims};

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
    /// Reasons and descriptions may quote the unverified header or claims: both are kept printable and short.
    fn new(failure: AssertionFailure, public_description: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            failure,
            public_description: printable(&public_description.into(), MAX_REASON_CHARS),
            reason: printable(&reason.into(), MAX_REASON_CHARS),
        }
    }

    /// Whether the assertion's signature had verified when it was refused: then the caller is the registered
    /// issuer, and may be told which claim is wrong. Before that, the caller is anyone.
    pub fn after_signature(&self) -> bool {
        matches!(
            self.failure,
            AssertionFailure::DuplicateClaimMember
                | AssertionFailure::MalformedClaims
                | AssertionFailure::MissingClaim(_)
                | AssertionFailure::ClaimType(_)
                | AssertionFailure::ClaimMismatch(_)
                | AssertionFailure::Expired
                | AssertionFailure::NotYetValid
                | AssertionFailure::IssuedInFuture
                | AssertionFailure::LifetimeTooLong
        )
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

    /// The unverified `iss`, `sub` and `aud` (a string or a one-element array), used only to choose the
    /// credential (and, without `client_id`, the registration) whose JWKS then verifies the signature. Each is
    /// `None` when absent, not a string, or of a size no registration can hold. Everything is pinned again after
    /// the signature check.
    pub fn unverified_ids(&self) -> UnverifiedIds {
        let Ok(claims) = strict_json::parse_object_keeping(&self.payload, &["iss", "sub", "aud"]) else {
            return UnverifiedIds::default();
        };
        let text = |value: Option<&Value>, max: usize| {
            value
                .and_then(Value::as_str)
                .filter(|text| !text.is_empty() && text.len() <= max)
                .map(str::to_owned)
        };
        let aud = match claims.get("aud") {
            Some(Value::Array(items)) if items.len() == 1 => items.first(),
            other => other,
        };
        UnverifiedIds {
            iss: text(claims.get("iss"), MAX_ISSUER_LEN),
            sub: text(claims.get("sub"), MAX_SUBJECT_LEN),
            aud: text(aud, MAX_AUDIENCE_LEN),
        }
    }

    /// The header's `alg`, if we implement it and the registration allows it.
    pub fn algorithm_for(&self, registration: &Registration) -> Result<JwsAlgorithm, AssertionError> {
        let alg_text = &self.header.alg;
        let Some(alg) = JwsAlgorithm::parse(alg_text) else {
            return Err(AssertionError::new(
                AssertionFailure::UnsupportedAlgorithm,
                format!("assertion alg {} is not supported", quoted_alg(alg_text)),
                format!(
                    "assertion alg {} is not a supported asymmetric algorithm",
                    quoted_alg(alg_text)
                ),
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

    /// Verifies the signature with `key` (looked up by `kid` in the chosen credential's JWKS) and parses the
    /// claims; nothing is compared yet.
    pub fn verify_signature(
        &self,
        registration: &Registration,
        key: &VerifyingKey,
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
        Ok(VerifiedAssertion {
            claims: parse_claims(&self.payload)?,
            kid: self.header.kid.clone(),
            alg,
        })
    }

    /// [`UnverifiedAssertion::verify_signature`], then [`VerifiedAssertion::pin`] to `credential`.
    pub fn verify(
        &self,
        registration: &Registration,
        credential: &FederatedCredential,
        key: &VerifyingKey,
        policy: &AssertionPolicy,
        now: i64,
    ) -> Result<VerifiedAssertion, AssertionError> {
        let verified = self.verify_signature(registration, key)?;
        verified.pin(credential, policy, now)?;
        Ok(verified)
    }
}

/// The assertion's identifying claims before its signature is checked (see [`UnverifiedAssertion::unverified_ids`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnverifiedIds {
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub aud: Option<String>,
}

impl UnverifiedIds {
    /// The trust these name, when all three are present.
    pub fn trust(&self) -> Option<Trust> {
        Some(Trust {
            issuer: self.iss.clone()?,
            subject: self.sub.clone()?,
            audience: self.aud.clone()?,
        })
    }
}

impl VerifiedAssertion {
    /// Compares the claims with `credential` and `now`: the assertion is accepted only if this passes.
    pub fn pin(
        &self,
        credential: &FederatedCredential,
        policy: &AssertionPolicy,
        now: i64,
    ) -> Result<(), AssertionError> {
        check_claims(&self.claims, credential, policy, now)
    }
}

/// Validation's steps one at a time, exactly as [`UnverifiedAssertion::parse`] and
/// [`UnverifiedAssertion::verify_signature`] run them, for the breakdown in benches/assertion_validation.rs.
#[cfg(feature = "test-support")]
pub mod stages {
    use super::{AssertionClaims, AssertionError, JoseHeader};

    /// The three segments, split and strictly base64url-decoded.
    pub fn decode(text: &str) -> Result<[Vec<u8>; 3], AssertionError> {
        let mut segments = text.split('.');
        let mut next = |name| super::decode_segment(segments.next().unwrap_or_default(), name);
        Ok([next("header")?, next("payload")?, next("signature")?])
    }

    /// The JOSE header's parse and checks.
    pub fn header(bytes: &[u8]) -> Result<JoseHeader, AssertionError> {
        super::parse_header(bytes)
    }

    /// The claims' parse (duplicates refused) into the typed claims.
    pub fn claims(payload: &[u8]) -> Result<AssertionClaims, AssertionError> {
        super::parse_claims(payload)
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

fn parse_header(bytes: &[u8]) -> Result<JoseHeader, AssertionError> {
    let [alg, kid, typ, crit, jku, x5u, jwk, x5c] =
        strict_json::parse_members(bytes, &HEADER_MEMBERS).map_err(|err| {
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
    if crit.is_some() {
        return Err(AssertionError::new(
            AssertionFailure::CritHeader,
            "assertion header has crit; no critical extensions are supported",
            "assertion header carries crit",
        ));
    }
    let alg = match alg {
        Some(Value::String(alg)) => alg,
        Some(_) => return Err(AssertionError::malformed("assertion header alg is not a string")),
        None => return Err(AssertionError::malformed("assertion header has no alg")),
    };
    let kid = match kid {
        Some(Value::String(kid)) if !kid.is_empty() && kid.len() <= MAX_KID_LEN => kid,
        Some(_) => return Err(AssertionError::malformed("assertion header kid is not a usable string")),
        None => {
            return Err(AssertionError::new(
                AssertionFailure::MissingKid,
                "assertion header has no kid",
                "assertion header has no kid",
            ));
        }
    };
    let typ = match typ {
        Some(Value::String(typ)) => Some(typ),
        _ => None,
    };
    let ignored_key_hints = IGNORED_KEY_HINTS
        .into_iter()
        .zip([&jku, &x5u, &jwk, &x5c])
        .filter_map(|(name, value)| value.is_some().then_some(name))
        .collect();
    Ok(JoseHeader {
        alg,
        kid,
        typ,
        ignored_key_hints,
    })
}

/// An unverified `alg` quoted for a description or reason, cut short and stripped of anything unprintable.
fn quoted_alg(text: &str) -> String {
    format!("{:?}", printable(text, MAX_ALG_CHARS))
}
