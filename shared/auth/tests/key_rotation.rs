//! Signing-key rotation at the token endpoint, with the JWKS fetches counted: Entra may publish a key and sign
//! with it at once, so a kid that no set fetched after its first appearance could have contained gets 503 with
//! `Retry-After` (never 401, which Entra counts as a credential failure), while a flood of random kids still costs
//! at most one fetch per URL per cooldown.

mod common;

use common::*;
use wif_auth::service::TokenSettings;
use wif_auth::testing::*;

/// One forged assertion for c1 under `kid` (the signature never gets checked: the kid is not in the JWKS).
fn under_kid(h: &Harness, forger: &TestKey, kid: &str) -> String {
    let header = serde_json::json!({"alg": "RS256", "kid": kid, "typ": "JWT"}).to_string();
    sign_raw(forger, "RS256", &header, &h.claims().to_string())
}

#[tokio::test]
async fn a_key_used_right_after_an_unrelated_jwks_fetch_gets_503_then_a_token() {
    let h = Harness::new();
    assert_eq!(h.post_assertion(&h.assertion()).await.status(), 200);
    assert_eq!(h.fetcher.count(), 1);
    // A minute later someone sends an unknown kid: it uses up this cooldown's fetch, and is refused.
    h.clock.advance(60);
    let stranger = TestKey::rsa("stranger");
    h.assert_refused(
        &h.post_assertion(&under_kid(&h, &stranger, "unrelated")).await,
        "assertion kid unrelated is not a signing key of this client's JWKS",
    );
    assert_eq!(h.fetcher.count(), 2);

    // Two seconds later Entra publishes a new key and signs with it at once.
    let rotated = TestKey::rsa("k2");
    h.fetcher.serve(
        &h.registration.federated_credentials[0].jwks_uri,
        &jwks_document(&[&h.key, &rotated]),
    );
    h.clock.advance(2);
    let assertion = sign_jwt(&rotated, "RS256", &h.claims());
    for (advance, retry_after) in [(0, "58"), (30, "28"), (27, "1")] {
        h.clock.advance(advance);
        let response = h.post_assertion(&assertion).await;
        let (status, error, description) = error_of(&response);
        assert_eq!(
            (status, error.as_str()),
            (503, "temporarily_unavailable"),
            "{description}"
        );
        assert_eq!(response.headers()["retry-after"], retry_after);
        assert!(description.contains("kid k2"), "{description}");
        let audit = h.audit.last().unwrap();
        assert!(audit.reason.unwrap().contains("before the kid was first seen"));
    }
    assert_eq!(h.fetcher.count(), 2, "no fetch inside the cooldown");

    // Once the cooldown allows, the next request fetches the set and gets its token.
    h.clock.advance(1);
    let response = h.post_assertion(&assertion).await;
    assert_eq!(response.status(), 200, "{}", response.body());
    assert_eq!(h.fetcher.count(), 3);
    // The old key keeps working without another fetch.
    assert_eq!(h.post_assertion(&h.assertion()).await.status(), 200);
    assert_eq!(h.fetcher.count(), 3);
    println!(
        "rotation: the new kid got 3 x 503 inside the cooldown, then a token with 1 JWKS fetch ({} in all)",
        h.fetcher.count()
    );
}

#[tokio::test]
async fn a_kid_absent_from_a_set_fetched_after_it_appeared_is_401_and_negatively_cached() {
    let h = Harness::new();
    assert_eq!(h.post_assertion(&h.assertion()).await.status(), 200);
    let stranger = TestKey::rsa("stranger");
    let bogus = under_kid(&h, &stranger, "bogus");
    // Seen in the same second as the warm-up fetch: that set cannot vouch for it yet.
    let (status, _, _) = error_of(&h.post_assertion(&bogus).await);
    assert_eq!(status, 503);
    h.clock.advance(60);
    h.assert_refused(&h.post_assertion(&bogus).await, "is not a signing key");
    assert_eq!(h.fetcher.count(), 2);
    for _ in 0..5 {
        h.clock.advance(5);
        h.assert_refused(&h.post_assertion(&bogus).await, "is not a signing key");
    }
    assert_eq!(h.fetcher.count(), 2, "negatively cached until the cooldown ends");
}

#[tokio::test]
async fn a_flood_of_random_kids_costs_one_jwks_fetch_per_cooldown() {
    let h = Harness::with_settings(TokenSettings {
        rate_limit_client_per_minute: 0,
        rate_limit_source_per_minute: 0,
        ..TokenSettings::default()
    });
    assert_eq!(h.post_assertion(&h.assertion()).await.status(), 200);
    let forger = TestKey::rsa("forger");
    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
    // Five minutes of a new random kid every second.
    for i in 0..300 {
        let kid = format!("flood-{i}-{}", uuid::Uuid::new_v4().simple());
        let status = h.post_assertion(&under_kid(&h, &forger, &kid)).await.status().as_u16();
        *statuses.entry(status).or_default() += 1;
        h.clock.advance(1);
    }
    let fetches = h.fetcher.count() - 1;
    // Allowed at +60, +120, +180 and +240 s: one per cooldown, each answering the kid that caused it.
    assert_eq!(fetches, 4, "{statuses:?}");
    assert_eq!(statuses, [(401, 4), (503, 296)].into_iter().collect());
    // The real key was never disturbed.
    assert_eq!(h.post_assertion(&h.assertion()).await.status(), 200);
    assert_eq!(h.fetcher.count() - 1, 4);
    println!(
        "flood: 300 random kids over 300 s at the token endpoint cost {fetches} JWKS fetches; statuses {statuses:?}"
    );
}
