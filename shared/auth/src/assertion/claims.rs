//! The claims of an assertion whose signature has verified: parsed into a typed struct (duplicate members
//! refused) and compared with the credential that verified it.

use serde_json::Value;

use super::{AssertionError, AssertionFailure, AssertionPolicy, Claim};
use crate::registration::FederatedCredential;
use crate::strict_json;

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

/// Claims we read.
const CLAIM_MEMBERS: [&str; 8] = ["iss", "sub", "aud", "exp", "nbf", "iat", "tid", "jti"];

pub(super) fn parse_claims(payload: &[u8]) -> Result<AssertionClaims, AssertionError> {
    let [iss, sub, aud, exp, nbf, iat, tid, jti] =
        strict_json::parse_members(payload, &CLAIM_MEMBERS).map_err(|err| {
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
    // Checked in this order (iss, sub, aud, exp, nbf, iat, tid) whatever the order in the document.
    Ok(AssertionClaims {
        iss: required_string(iss, Claim::Iss)?,
        sub: required_string(sub, Claim::Sub)?,
        aud: audience(aud)?,
        exp: numeric_date(exp.as_ref(), Claim::Exp)?.ok_or_else(|| missing(Claim::Exp))?,
        nbf: numeric_date(nbf.as_ref(), Claim::Nbf)?,
        iat: numeric_date(iat.as_ref(), Claim::Iat)?,
        tid: optional_string(tid, Claim::Tid)?,
        jti: match jti {
            Some(Value::String(jti)) => Some(jti),
            _ => None,
        },
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

fn required_string(value: Option<Value>, claim: Claim) -> Result<String, AssertionError> {
    optional_string(value, claim)?.ok_or_else(|| missing(claim))
}

fn optional_string(value: Option<Value>, claim: Claim) -> Result<Option<String>, AssertionError> {
    match value {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(wrong_type(claim, "a string")),
    }
}

fn audience(value: Option<Value>) -> Result<String, AssertionError> {
    match value {
        None => Err(missing(Claim::Aud)),
        Some(Value::String(aud)) => Ok(aud),
        Some(Value::Array(mut items)) => match items.as_mut_slice() {
            [Value::String(aud)] => Ok(std::mem::take(aud)),
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
fn numeric_date(value: Option<&Value>, claim: Claim) -> Result<Option<i64>, AssertionError> {
    match value {
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

pub(super) fn check_claims(
    claims: &AssertionClaims,
    credential: &FederatedCredential,
    policy: &AssertionPolicy,
    now: i64,
) -> Result<(), AssertionError> {
    if claims.iss != credential.issuer {
        return Err(mismatch(Claim::Iss, &claims.iss, &credential.issuer));
    }
    if claims.sub != credential.subject {
        return Err(mismatch(Claim::Sub, &claims.sub, &credential.subject));
    }
    if !credential.audiences.contains(&claims.aud) {
        return Err(AssertionError::new(
            AssertionFailure::ClaimMismatch(Claim::Aud),
            "assertion aud does not match the registration",
            format!(
                "assertion aud {:?} is none of the audiences {:?} of credential {}",
                claims.aud, credential.audiences, credential.credential_id
            ),
        ));
    }
    if let Some(expected_tid) = &credential.expected_tid {
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
