//! RFC 7523 client assertions: `UnverifiedAssertion::parse`, `unverified_ids`, `algorithm_for`, the key lookup by
//! `kid` in a fixed JWKS, `verify` (signature, then every claim pinned) at a fixed clock.
//!
//! Input: either the compact JWT text, or `S` + header JSON + `\n` + claims JSON, which the target signs with the
//! fixture's P-256 key so that the claim checks behind the signature are reached too.
//!
//! Checked beyond "no panic": a rejection before the signature never reports a claim (`after_signature`), every
//! reason and description is short printable text, and an accepted assertion really matches the credential and the
//! clock.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wif_auth::assertion::{AssertionError, AssertionPolicy, UnverifiedAssertion};
use wif_auth::testing::b64;
use wif_auth::untrusted::MAX_REASON_CHARS;
use wif_fuzz::{NOW, is_printable, keys, split_once};

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((b'S', rest)) => {
            let (header, claims) = split_once(rest, b'\n');
            let signing_input = format!("{}.{}", b64(header), b64(claims.unwrap_or_default()));
            let signature = keys().ec.sign("ES256", signing_input.as_bytes());
            check(&format!("{signing_input}.{}", b64(&signature)));
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(data) {
                check(text);
            }
        }
    }
});

fn check(text: &str) {
    // Exercise both the default policy and a tight one (the size cap and lifetime bound are configurable).
    check_with(text, &AssertionPolicy::default());
    let tight = AssertionPolicy {
        max_bytes: 512,
        clock_skew_seconds: 0,
        max_lifetime_seconds: 600,
    };
    check_with(text, &tight);
}

fn check_with(text: &str, policy: &AssertionPolicy) {
    let fixture = keys();
    let registration = &fixture.registration;
    let unverified = match UnverifiedAssertion::parse(text, policy) {
        Ok(unverified) => unverified,
        Err(err) => return before_signature(&err),
    };
    assert!(text.len() <= policy.max_bytes);
    let kid = unverified.kid();
    assert!(!kid.is_empty() && kid.len() <= 256, "kid {kid:?}");
    let ids = unverified.unverified_ids();
    for value in [&ids.iss, &ids.sub, &ids.aud].into_iter().flatten() {
        assert!(!value.is_empty());
    }
    if let Err(err) = unverified.algorithm_for(registration) {
        return before_signature(&err);
    }
    let credential = &registration.federated_credentials[0];
    let Some(key) = fixture.jwks.get(kid) else { return };
    match unverified.verify(registration, credential, key, policy, NOW) {
        Ok(verified) => {
            let claims = &verified.claims;
            assert_eq!(claims.iss, credential.issuer);
            assert_eq!(claims.sub, credential.subject);
            assert!(credential.audiences.contains(&claims.aud));
            assert_eq!(claims.tid, credential.expected_tid);
            assert!(claims.exp > NOW - policy.clock_skew_seconds);
            assert!(claims.nbf.is_none_or(|nbf| nbf <= NOW + policy.clock_skew_seconds));
            assert!(claims.iat.is_none_or(|iat| iat <= NOW + policy.clock_skew_seconds));
            assert_eq!(verified.kid, kid);
        }
        Err(err) => well_formed(&err),
    }
}

/// A rejection before the signature check: never about a claim value.
fn before_signature(err: &AssertionError) {
    assert!(!err.after_signature(), "{:?} before the signature", err.failure);
    well_formed(err);
}

fn well_formed(err: &AssertionError) {
    assert!(is_printable(&err.public_description, MAX_REASON_CHARS), "{err:?}");
    assert!(is_printable(&err.reason, MAX_REASON_CHARS), "{err:?}");
}
