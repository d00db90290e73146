//! Real Entra-signed tokens (expired; validated with a fixed clock inside their window) from
//! tests/fixtures/entra-real (a copy of the design folder's fixtures, so a clone needs nothing beside it): they
//! must validate when a registration pins their exact claims, and any one-byte change must be rejected.

mod common;

use std::sync::Arc;

use common::*;
use http::Method;
use wif_auth::assertion::{AssertionPolicy, UnverifiedAssertion};
use wif_auth::jwks::JwkSet;
use wif_auth::jwks_cache::JwksCacheSettings;
use wif_auth::registration::{Registration, credential_id};
use wif_auth::service::{RequestContext, TokenPorts, TokenService, TokenSettings};
use wif_auth::testing::*;
use wif_common::FixedClock;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/entra-real");

struct Fixture {
    token: String,
    jwks: String,
    issuer: &'static str,
    audience: &'static str,
    subject: &'static str,
    tid: &'static str,
    iat: i64,
    exp: i64,
}

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}"))
        .unwrap_or_else(|err| panic!("fixture {name}: {err}"))
        .trim()
        .to_owned()
}

fn fixtures() -> Vec<Fixture> {
    vec![
        Fixture {
            token: read("token_2.jwt"),
            jwks: read("jwks_2.json"),
            issuer: "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
            audience: "https://vault.azure.net",
            subject: "3975aeed-7d08-453b-b6f4-445f32698091",
            tid: "72f988bf-86f1-41af-91ab-2d7cd011db47",
            iat: 1_548_697_513,
            exp: 1_548_701_413,
        },
        Fixture {
            token: read("token_3.jwt"),
            jwks: read("jwks_3.json"),
            issuer: "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
            audience: "https://storage.azure.com/",
            subject: "7ffb2574-9f6e-4520-8292-614fdefd9fe0",
            tid: "72f988bf-86f1-41af-91ab-2d7cd011db47",
            iat: 1_586_821_451,
            exp: 1_586_908_151,
        },
        Fixture {
            token: read("token_4.jwt"),
            jwks: read("jwks_4.json"),
            issuer: "https://login.microsoftonline.com/966ac572-f5b7-4bbe-aa88-c76419c0f851/v2.0",
            audience: "f407babd-8d0f-4afc-a6e7-46f28612670b",
            subject: "fbd13a0e-0a74-477d-953a-9f4b520a0e8e",
            tid: "966ac572-f5b7-4bbe-aa88-c76419c0f851",
            iat: 1_725_265_453,
            exp: 1_725_269_353,
        },
    ]
}

fn registration_for(fixture: &Fixture, client_id: &str) -> Registration {
    let mut registration = sample_registration(client_id);
    let credential = &mut registration.federated_credentials[0];
    credential.credential_id = credential_id(fixture.issuer, fixture.subject);
    credential.issuer = fixture.issuer.to_owned();
    credential.audiences = vec![fixture.audience.to_owned()];
    credential.subject = fixture.subject.to_owned();
    credential.expected_tid = Some(fixture.tid.to_owned());
    registration
}

#[tokio::test]
async fn real_entra_tokens_validate_through_the_token_endpoint() {
    for (index, fixture) in fixtures().iter().enumerate() {
        let clock = Arc::new(FixedClock::at(fixture.iat + 60));
        let clients = Arc::new(InMemoryClients::default());
        let fetcher = Arc::new(StaticJwksFetcher::default());
        let client_id = format!("entra-{index}");
        let registration = registration_for(fixture, &client_id);
        fetcher.serve(&registration.federated_credentials[0].jwks_uri, &fixture.jwks);
        clients.insert(registration);
        let service = TokenService::new(
            TokenPorts {
                clients,
                tokens: Arc::new(InMemoryTokenStore::default()),
                key_store: Arc::new(InMemoryKeyStore::default()),
                fetcher,
                rates: Arc::new(InMemoryRateCounter::default()),
                audit: Arc::new(RecordingAudit::default()),
                clock: clock.clone(),
            },
            TokenSettings::default(),
            JwksCacheSettings::default(),
        );
        let body = assertion_form(Some(&client_id), &fixture.token, Some("scim"));
        let context = RequestContext::default();
        let response = service
            .token_response(&Method::POST, &form_headers(), body.as_bytes(), &context)
            .await;
        assert_eq!(response.status(), 200, "fixture {index}: {}", response.body());
        // Lookup by iss + sub (no client_id) finds the same registration.
        let body = assertion_form(None, &fixture.token, None);
        let response = service
            .token_response(&Method::POST, &form_headers(), body.as_bytes(), &context)
            .await;
        assert_eq!(
            response.status(),
            200,
            "fixture {index} without client_id: {}",
            response.body()
        );
        // After exp (plus skew) the same token is refused.
        clock.set(fixture.exp + 61);
        let body = assertion_form(Some(&client_id), &fixture.token, None);
        let response = service
            .token_response(&Method::POST, &form_headers(), body.as_bytes(), &context)
            .await;
        assert_invalid_client(&response, "assertion has expired");
    }
}

#[test]
fn token_3_lifetime_needs_the_25_hour_default() {
    let fixture = &fixtures()[1];
    assert_eq!(fixture.exp - fixture.iat, 86_700);
    let keys = JwkSet::parse(&fixture.jwks).unwrap();
    let registration = registration_for(fixture, "c");
    let assertion = UnverifiedAssertion::parse(&fixture.token, &AssertionPolicy::default()).unwrap();
    let key = keys.get_shared(assertion.kid()).unwrap();
    assert!(
        assertion
            .verify(
                &registration,
                &registration.federated_credentials[0],
                &key,
                &AssertionPolicy::default(),
                fixture.iat + 10
            )
            .is_ok()
    );
    let strict = AssertionPolicy {
        max_lifetime_seconds: 86_400,
        ..AssertionPolicy::default()
    };
    let err = assertion
        .verify(
            &registration,
            &registration.federated_credentials[0],
            &key,
            &strict,
            fixture.iat + 10,
        )
        .unwrap_err();
    assert_eq!(err.failure, wif_auth::assertion::AssertionFailure::LifetimeTooLong);
}

#[test]
fn pins_reject_real_tokens_for_the_wrong_registration() {
    let all = fixtures();
    let fixture = &all[2];
    let keys = JwkSet::parse(&fixture.jwks).unwrap();
    let policy = AssertionPolicy::default();
    let assertion = UnverifiedAssertion::parse(&fixture.token, &policy).unwrap();
    let key = keys.get_shared(assertion.kid()).unwrap();
    let now = fixture.iat + 60;
    let mut wrong_tid = registration_for(fixture, "c");
    wrong_tid.federated_credentials[0].expected_tid = Some(all[0].tid.to_owned());
    let err = assertion
        .verify(&wrong_tid, &wrong_tid.federated_credentials[0], &key, &policy, now)
        .unwrap_err();
    assert_eq!(err.public_description, "assertion tid does not match the registration");
    let mut with_slash = registration_for(fixture, "c");
    with_slash.federated_credentials[0].issuer = format!("{}/", fixture.issuer);
    let err = assertion
        .verify(&with_slash, &with_slash.federated_credentials[0], &key, &policy, now)
        .unwrap_err();
    assert_eq!(err.public_description, "assertion iss does not match the registration");
    let mut api_audience = registration_for(fixture, "c");
    api_audience.federated_credentials[0].audiences = vec![format!("api://{}", fixture.audience)];
    let err = assertion
        .verify(
            &api_audience,
            &api_audience.federated_credentials[0],
            &key,
            &policy,
            now,
        )
        .unwrap_err();
    assert_eq!(err.public_description, "assertion aud does not match the registration");
    // token_2 verifies only with its own key, not with token_4's JWKS.
    let other = UnverifiedAssertion::parse(&all[0].token, &policy).unwrap();
    assert!(keys.get(other.kid()).is_none());
}

/// Every single-character change, in every segment and on the separators, is rejected.
#[test]
fn any_one_byte_change_is_rejected() {
    let policy = AssertionPolicy::default();
    for fixture in fixtures() {
        let keys = JwkSet::parse(&fixture.jwks).unwrap();
        let registration = registration_for(&fixture, "c");
        let now = fixture.iat + 60;
        let original = UnverifiedAssertion::parse(&fixture.token, &policy).unwrap();
        let key = keys.get_shared(original.kid()).unwrap();
        assert!(
            original
                .verify(
                    &registration,
                    &registration.federated_credentials[0],
                    &key,
                    &policy,
                    now
                )
                .is_ok()
        );
        let bytes = fixture.token.as_bytes();
        let mut per_segment = [0usize; 3];
        let mut segment = 0;
        for position in 0..bytes.len() {
            if bytes[position] == b'.' {
                segment += 1;
            }
            let replacement = match bytes[position] {
                b'A' => b'B',
                b'.' => b'A',
                _ => b'A',
            };
            let mut mutated = bytes.to_vec();
            mutated[position] = replacement;
            let mutated = String::from_utf8(mutated).unwrap();
            let accepted = UnverifiedAssertion::parse(&mutated, &policy)
                .ok()
                .and_then(|assertion| {
                    // A changed kid would select another key; use whatever key the mutated header names.
                    let key = keys.get_shared(assertion.kid())?;
                    assertion
                        .verify(
                            &registration,
                            &registration.federated_credentials[0],
                            &key,
                            &policy,
                            now,
                        )
                        .ok()
                })
                .is_some();
            assert!(!accepted, "change at byte {position} was accepted");
            per_segment[segment.min(2)] += 1;
        }
        assert!(per_segment.iter().all(|count| *count > 0));
    }
}
