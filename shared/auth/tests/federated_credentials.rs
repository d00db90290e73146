//! Several federated credentials and audiences per registration, as Entra really behaves: the credential is chosen
//! by the assertion's `iss` + `sub`, the signature is verified only with that credential's keys, and only then is
//! every claim pinned to that credential. Also the exact form Microsoft's validation harness posts.

mod common;

use common::*;
use wif_auth::registration::{FederatedCredential, Registration, credential_id};
use wif_auth::testing::*;

const TID: &str = SAMPLE_TID;
const SUB_A: &str = "aaaaaaaa-0a74-477d-953a-9f4b520a0e8e";
const SUB_B: &str = "bbbbbbbb-0a74-477d-953a-9f4b520a0e8e";
const APP: &str = "f407babd-8d0f-4afc-a6e7-46f28612670b";

fn v1_issuer() -> String {
    format!("https://sts.windows.net/{TID}/")
}

fn v2_issuer() -> String {
    format!("https://login.microsoftonline.com/{TID}/v2.0")
}

fn credential(issuer: &str, subject: &str, jwks_uri: &str, audiences: &[&str]) -> FederatedCredential {
    FederatedCredential {
        credential_id: credential_id(issuer, subject),
        issuer: issuer.to_owned(),
        jwks_uri: jwks_uri.to_owned(),
        subject: subject.to_owned(),
        audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
        expected_tid: Some(TID.to_owned()),
        created_at: 0,
        updated_at: 0,
    }
}

/// `c1` with credential A (v2 issuer, subject A, keys `ka` at URL A, three audiences) and credential B (v1 issuer,
/// subject B, keys `kb` at URL B, one audience).
struct TwoCredentials {
    h: Harness,
    a: FederatedCredential,
    b: FederatedCredential,
    ka: TestKey,
    kb: TestKey,
}

impl TwoCredentials {
    fn new() -> Self {
        let h = Harness::new();
        let (ka, kb) = (TestKey::rsa("ka"), TestKey::rsa("kb"));
        let a = credential(
            &v2_issuer(),
            SUB_A,
            "https://login.microsoftonline.com/a/discovery/v2.0/keys",
            &[&format!("api://{APP}"), APP, &format!("api://{APP}/scim.example.com")],
        );
        let b = credential(
            &v1_issuer(),
            SUB_B,
            "https://login.microsoftonline.com/b/discovery/keys",
            &["api://b-app"],
        );
        h.fetcher.serve(&a.jwks_uri, &jwks_document(&[&ka]));
        h.fetcher.serve(&b.jwks_uri, &jwks_document(&[&kb]));
        let mut registration = h.registration.clone();
        registration.federated_credentials = vec![a.clone(), b.clone()];
        h.clients.insert(registration);
        Self { h, a, b, ka, kb }
    }

    /// Claims of `credential` with `aud` = its audience `index`.
    fn claims(credential: &FederatedCredential, index: usize) -> serde_json::Value {
        let mut claims = credential_claims(credential, NOW);
        claims["aud"] = credential.audiences[index].clone().into();
        claims
    }

    async fn post(&self, client_id: Option<&str>, assertion: &str) -> http::Response<String> {
        self.h.post(&assertion_form(client_id, assertion, None)).await
    }
}

#[tokio::test]
async fn each_credential_and_each_of_its_audiences_gets_a_token_and_the_audit_names_them() {
    let t = TwoCredentials::new();
    for (index, audience) in t.a.audiences.iter().enumerate() {
        let assertion = sign_jwt(&t.ka, "RS256", &TwoCredentials::claims(&t.a, index));
        for client_id in [Some("c1"), None] {
            let response = t.post(client_id, &assertion).await;
            assert_eq!(response.status(), 200, "{audience} {client_id:?}: {}", response.body());
            let event = t.h.audit.last().unwrap();
            assert_eq!(event.action, "token.granted");
            assert_eq!(event.details["credential_id"], t.a.credential_id.as_str());
            assert_eq!(event.details["matched_audience"], audience.as_str());
        }
    }
    let assertion = sign_jwt(&t.kb, "RS256", &TwoCredentials::claims(&t.b, 0));
    for client_id in [Some("c1"), None] {
        assert_eq!(t.post(client_id, &assertion).await.status(), 200);
        let event = t.h.audit.last().unwrap();
        assert_eq!(event.details["credential_id"], t.b.credential_id.as_str());
        assert_eq!(event.details["iss"], v1_issuer().as_str());
    }
}

#[tokio::test]
async fn an_assertion_of_credential_a_signed_with_credential_bs_key_is_refused() {
    let t = TwoCredentials::new();
    // iss + sub choose A; the signature only verifies with B's keys: A's JWKS has no such kid.
    let a_claims_b_key = sign_jwt(&t.kb, "RS256", &TwoCredentials::claims(&t.a, 0));
    for client_id in [Some("c1"), None] {
        t.h.assert_refused(
            &t.post(client_id, &a_claims_b_key).await,
            "assertion kid kb is not a signing key of this client's JWKS",
        );
        let event = t.h.audit.last().unwrap();
        assert_eq!(event.details["credential_id"], t.a.credential_id.as_str());
        assert!(
            event.details.get("iss").is_none(),
            "nothing verified: {:?}",
            event.details
        );
        assert_eq!(event.details["unverified_sub"], SUB_A);
    }
    // The same with B's key under A's kid: A's key does not verify it.
    let impostor = TestKey::rsa("ka");
    let forged = sign_jwt(&impostor, "RS256", &TwoCredentials::claims(&t.a, 0));
    t.h.assert_refused(&t.post(Some("c1"), &forged).await, "assertion signature is invalid");
    // And the reverse: B's claims with A's key.
    let b_claims_a_key = sign_jwt(&t.ka, "RS256", &TwoCredentials::claims(&t.b, 0));
    t.h.assert_refused(&t.post(Some("c1"), &b_claims_a_key).await, "not a signing key");
}

#[tokio::test]
async fn audiences_belong_to_their_credential() {
    let t = TwoCredentials::new();
    // A's subject and issuer with B's audience: A is chosen, and B's audience is not one of A's.
    let mut claims = TwoCredentials::claims(&t.a, 0);
    claims["aud"] = "api://b-app".into();
    let response = t.post(Some("c1"), &sign_jwt(&t.ka, "RS256", &claims)).await;
    t.h.assert_refused(&response, "assertion aud does not match the registration");
    let event = t.h.audit.last().unwrap();
    assert_eq!(event.details["aud"], "api://b-app");
    assert!(event.reason.unwrap().contains("is none of the audiences"));
    // Without client_id the trust (A's iss, A's sub, B's aud) belongs to nobody.
    t.h.assert_refused(
        &t.post(None, &sign_jwt(&t.ka, "RS256", &claims)).await,
        "send client_id",
    );
}

#[tokio::test]
async fn a_near_miss_is_verified_with_the_likeliest_credential_and_the_audit_shows_what_entra_sent() {
    let t = TwoCredentials::new();
    // The customer registered A's identity with the v2 issuer, but this token is a v1 token of A.
    let mut claims = TwoCredentials::claims(&t.a, 0);
    claims["iss"] = v1_issuer().into();
    let response = t.post(Some("c1"), &sign_jwt(&t.ka, "RS256", &claims)).await;
    t.h.assert_refused(&response, "assertion iss does not match the registration");
    let event = t.h.audit.last().unwrap();
    assert_eq!(
        event.details["credential_id"],
        t.a.credential_id.as_str(),
        "same subject: A"
    );
    assert_eq!(event.details["iss"], v1_issuer().as_str(), "verified value as received");
    // An unknown subject with B's issuer: B is the likeliest; B's keys do not verify A's key.
    let mut claims = TwoCredentials::claims(&t.b, 0);
    claims["sub"] = "cccccccc-0000-0000-0000-000000000000".into();
    let response = t.post(Some("c1"), &sign_jwt(&t.kb, "RS256", &claims)).await;
    t.h.assert_refused(&response, "assertion sub does not match the registration");
    assert_eq!(
        t.h.audit.last().unwrap().details["credential_id"],
        t.b.credential_id.as_str()
    );
}

#[tokio::test]
async fn tid_is_pinned_per_credential() {
    let t = TwoCredentials::new();
    let mut registration: Registration = t.h.registration.clone();
    let mut unpinned = t.b.clone();
    unpinned.expected_tid = None;
    registration.federated_credentials = vec![t.a.clone(), unpinned];
    t.h.clients.insert(registration);
    let mut claims = TwoCredentials::claims(&t.b, 0);
    claims.as_object_mut().unwrap().remove("tid");
    assert_eq!(
        t.post(Some("c1"), &sign_jwt(&t.kb, "RS256", &claims)).await.status(),
        200
    );
    let mut claims = TwoCredentials::claims(&t.a, 0);
    claims.as_object_mut().unwrap().remove("tid");
    t.h.assert_refused(
        &t.post(Some("c1"), &sign_jwt(&t.ka, "RS256", &claims)).await,
        "assertion has no tid claim",
    );
}

#[tokio::test]
async fn rotation_to_a_new_credential_needs_no_downtime() {
    let h = Harness::new();
    let old = h.registration.federated_credentials[0].clone();
    let new_key = TestKey::rsa("k-new");
    let new = credential(
        &v2_issuer(),
        SUB_B,
        "https://login.microsoftonline.com/new/discovery/v2.0/keys",
        &["api://wif-scim"],
    );
    h.fetcher.serve(&new.jwks_uri, &jwks_document(&[&new_key]));
    let old_assertion = h.assertion();
    let new_assertion = sign_jwt(&new_key, "RS256", &credential_claims(&new, NOW));
    h.assert_refused(
        &h.post_assertion(&new_assertion).await,
        "not a signing key of this client's JWKS",
    );
    // Step 1: add the new credential; both identities work.
    let mut both = h.registration.clone();
    both.federated_credentials.push(new.clone());
    h.clients.insert(both.clone());
    assert_eq!(h.post_assertion(&old_assertion).await.status(), 200);
    assert_eq!(h.post_assertion(&new_assertion).await.status(), 200);
    // Step 2: the audit trail shows Entra using the new one.
    assert_eq!(
        h.audit.last().unwrap().details["credential_id"],
        new.credential_id.as_str()
    );
    // Step 3: remove the old one; only the new identity works.
    let mut only_new = both;
    only_new
        .federated_credentials
        .retain(|c| c.credential_id != old.credential_id);
    h.clients.insert(only_new);
    assert_eq!(h.post_assertion(&new_assertion).await.status(), 200);
    // The old identity's kid is new to the new credential's JWKS: 503 until a fetch after its first sighting
    // (the refetch cooldown), then 401.
    assert_eq!(h.post_assertion(&old_assertion).await.status(), 503);
    h.clock.set(NOW + 61);
    h.assert_refused(
        &h.post_assertion(&old_assertion).await,
        "not a signing key of this client's JWKS",
    );
}

/// Microsoft's validation harness (`Federated_Identity_Test` of SCIMTests_Workflow.json) obtains a v2 token for
/// `api://<app id>/.default` (so `aud` is the bare app id) and posts exactly this form: no `scope`, plus its own
/// `baseAddress` parameter. It passes on a 2xx with an `access_token`.
#[tokio::test]
async fn the_exact_form_of_microsofts_validation_harness_is_accepted() {
    let h = Harness::new();
    let mut registration = h.registration.clone();
    let credential = &mut registration.federated_credentials[0];
    credential.audiences = vec![APP.to_owned()];
    h.clients.insert(registration.clone());
    let mut claims = credential_claims(&registration.federated_credentials[0], NOW);
    claims["azp"] = APP.into();
    let assertion = sign_jwt(&h.key, "RS256", &claims);
    let encode = |text: &str| form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_assertion={}&client_assertion_type={}&baseAddress={}",
        encode("c1"),
        encode(&assertion),
        encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        encode("https://scim.example.com/scim/v2"),
    );
    let response = h.post(&form).await;
    assert_eq!(response.status(), 200, "{}", response.body());
    let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
    assert!(!body["access_token"].as_str().unwrap().is_empty());
    let lifetime = body["expires_in"].as_u64().unwrap();
    assert!((3600..=21_600).contains(&lifetime), "60-360 minutes: {lifetime}");
    assert_eq!(
        body["scope"], "scim scim.read scim.readwrite",
        "no scope: every allowed scope"
    );
    // SuccessFactors sends `resource`; also ignored.
    let with_resource = format!("{form}&resource={}", encode("https://sf.example.com"));
    assert_eq!(h.post(&with_resource).await.status(), 200);
}
