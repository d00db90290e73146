//! The token grant end to end over in-memory ports: the happy path, and every attack of the acceptance list with
//! the exact OAuth error it must produce.

mod common;

use aws_lc_rs::hmac;
use common::*;
use http::{HeaderValue, Method, header};
use wif_auth::assertion::{AssertionPolicy, UnverifiedAssertion};
use wif_auth::credentials::{generate_client_secret, sha256_hex};
use wif_auth::scope::Scope;
use wif_auth::service::{CLIENT_AUTHENTICATION_FAILED, RequestContext, TokenSettings};
use wif_auth::testing::*;

#[tokio::test]
async fn entra_style_request_gets_a_token() {
    let h = Harness::new();
    let response = h.post_assertion(&h.assertion()).await;
    assert_eq!(response.status(), 200, "{}", response.body());
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
    let object = body.as_object().unwrap();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, vec!["access_token", "expires_in", "scope", "token_type"]);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "scim");
    let token = body["access_token"].as_str().unwrap();
    assert!(token.starts_with("wif_at_"));
    let records = h.tokens.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].token_hash, sha256_hex(token));
    assert_eq!(records[0].expires_at, NOW + 3600);
    assert_eq!(records[0].tenant_id, "tenant-c1");
    assert_eq!(records[0].scopes, vec![Scope::Scim]);
    let event = h.audit.last().unwrap();
    assert_eq!(
        (event.action.as_str(), event.outcome.as_str()),
        ("token.granted", "success")
    );
    assert_eq!(event.client_id.as_deref(), Some("c1"));
    assert_eq!(event.details["kid"], "k1");
    assert_eq!(event.details["tid"], "966ac572-f5b7-4bbe-aa88-c76419c0f851");
    assert_eq!(event.source_ip.as_deref(), Some("198.51.100.7"));
    assert_eq!(event.request_id.as_deref(), Some("req-1"));
}

#[tokio::test]
async fn absent_scope_grants_every_allowed_scope_and_lifetime_follows_the_registration() {
    let h = Harness::new();
    let mut registration = h.registration.clone();
    registration.token_lifetime_seconds = 7200;
    h.clients.insert(registration);
    let response = h.post(&assertion_form(Some("c1"), &h.assertion(), None)).await;
    let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
    assert_eq!(body["scope"], "scim scim.read scim.readwrite");
    assert_eq!(body["expires_in"], 7200);
    assert_eq!(h.tokens.records()[0].expires_at, NOW + 7200);
}

#[tokio::test]
async fn registration_found_by_its_trust_without_client_id() {
    let h = Harness::new();
    let response = h.post(&assertion_form(None, &h.assertion(), Some("scim.read"))).await;
    assert_eq!(response.status(), 200, "{}", response.body());
    // The audience is part of the trust: an audience nobody registered finds nothing.
    let other_audience = h.assertion_with(|claims| {
        claims.insert("aud".into(), "api://unregistered".into());
    });
    let response = h.post(&assertion_form(None, &other_audience, None)).await;
    h.assert_refused(
        &response,
        "send client_id, or an assertion whose iss, sub and aud identify",
    );
    let reason = h.audit.last().unwrap().reason.unwrap();
    assert!(reason.contains("aud \"api://unregistered\""), "{reason}");
}

#[tokio::test]
async fn unstorable_iss_or_sub_is_never_looked_up() {
    let h = Harness::new();
    // With the store failing, a lookup would surface as 503: a 401 proves none was attempted.
    h.clients.fail(true);
    let cases: [(&str, serde_json::Value); 3] =
        [("iss", "".into()), ("sub", "".into()), ("sub", "x".repeat(1025).into())];
    for (claim, value) in cases {
        let assertion = h.assertion_with(|claims| {
            claims.insert(claim.to_owned(), value.clone());
        });
        h.assert_refused(&h.post(&assertion_form(None, &assertion, None)).await, "send client_id");
    }
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let h = Harness::new();
    let header = b64(br#"{"alg":"none","kid":"k1"}"#);
    let payload = b64(h.claims().to_string().as_bytes());
    h.assert_refused(
        &h.post_assertion(&format!("{header}.{payload}.")).await,
        "not a well-formed JWT",
    );
    h.assert_refused(
        &h.post_assertion(&format!("{header}.{payload}.{}", b64(b"sig"))).await,
        "alg \"none\" is not supported",
    );
}

#[tokio::test]
async fn hs256_keyed_with_the_rsa_public_key_is_rejected() {
    let h = Harness::new();
    let header = b64(br#"{"alg":"HS256","kid":"k1","typ":"JWT"}"#);
    let payload = b64(h.claims().to_string().as_bytes());
    let signing_input = format!("{header}.{payload}");
    for secret in [h.key.public_key_der(), h.key.public_jwk().to_string().into_bytes()] {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &secret), signing_input.as_bytes());
        let forged = format!("{signing_input}.{}", b64(tag.as_ref()));
        h.assert_refused(&h.post_assertion(&forged).await, "alg \"HS256\" is not supported");
    }
    assert!(h.tokens.records().is_empty());
}

#[tokio::test]
async fn a_foreign_key_under_a_real_kid_is_rejected() {
    let h = Harness::new();
    let attacker = TestKey::rsa("k1");
    let forged = sign_jwt(&attacker, "RS256", &h.claims());
    h.assert_refused(&h.post_assertion(&forged).await, "assertion signature is invalid");
}

#[tokio::test]
async fn embedded_keys_and_key_urls_are_never_used_or_fetched() {
    let h = Harness::new();
    // Warm the cache with one good request.
    assert_eq!(h.post_assertion(&h.assertion()).await.status(), 200);
    let fetches = h.fetcher.count();
    let attacker = TestKey::rsa("evil");
    let claims = h.claims().to_string();
    for (name, value) in [
        ("jwk", attacker.public_jwk()),
        ("jku", serde_json::json!("https://attacker.example/jwks")),
        ("x5u", serde_json::json!("https://attacker.example/cert.pem")),
        ("x5c", serde_json::json!([b64(&attacker.public_key_der())])),
    ] {
        // Under the registration's real kid: the attacker's signature fails against the real key.
        let header = serde_json::json!({"alg": "RS256", "kid": "k1", name: value}).to_string();
        let forged = sign_raw(&attacker, "RS256", &header, &claims);
        h.assert_refused(&h.post_assertion(&forged).await, "assertion signature is invalid");
        assert_eq!(h.fetcher.count(), fetches, "{name} caused a fetch");
    }
    // Under the attacker's own kid, once the cooldown allows a refetch: only the registration's JWKS URL is
    // consulted (one refetch at most).
    h.clock.advance(60);
    let header = serde_json::json!({"alg": "RS256", "kid": "evil", "jku": "https://attacker.example/jwks",
        "x5u": "https://attacker.example/cert", "jwk": attacker.public_jwk()})
    .to_string();
    let forged = sign_raw(&attacker, "RS256", &header, &claims);
    h.assert_refused(
        &h.post_assertion(&forged).await,
        "not a signing key of this client's JWKS",
    );
    assert!(
        h.fetcher
            .fetched_urls()
            .iter()
            .all(|url| *url == h.registration.federated_credentials[0].jwks_uri)
    );
    let event = h.audit.last().unwrap();
    assert_eq!(
        event.details["ignored_header_key_hints"],
        serde_json::json!(["jku", "x5u", "jwk"])
    );
}

#[tokio::test]
async fn time_claims_are_enforced() {
    let h = Harness::new();
    let cases: [(&str, i64, &str); 3] = [
        ("exp", NOW - 61, "assertion has expired"),
        ("nbf", NOW + 61, "not valid yet"),
        ("iat", NOW + 61, "iat is in the future"),
    ];
    for (claim, value, expected) in cases {
        let assertion = h.assertion_with(|claims| {
            claims.insert(claim.into(), value.into());
        });
        h.assert_refused(&h.post_assertion(&assertion).await, expected);
    }
    // Inside the skew everything still passes.
    let assertion = h.assertion_with(|claims| {
        claims.insert("exp".into(), (NOW - 59).into());
        claims.insert("iat".into(), (NOW - 600).into());
        claims.insert("nbf".into(), (NOW - 600).into());
    });
    assert_eq!(h.post_assertion(&assertion).await.status(), 200);
    // Lifetime beyond the policy maximum.
    let assertion = h.assertion_with(|claims| {
        claims.insert("iat".into(), NOW.into());
        claims.insert("exp".into(), (NOW + 90_001).into());
    });
    h.assert_refused(&h.post_assertion(&assertion).await, "lifetime exceeds 90000 seconds");
    let assertion = h.assertion_with(|claims| {
        claims.remove("iat");
        claims.insert("nbf".into(), NOW.into());
        claims.insert("exp".into(), (NOW + 90_001).into());
    });
    h.assert_refused(&h.post_assertion(&assertion).await, "lifetime exceeds");
    let assertion = h.assertion_with(|claims| {
        claims.remove("iat");
        claims.remove("nbf");
        claims.insert("exp".into(), (NOW + 90_001).into());
    });
    h.assert_refused(&h.post_assertion(&assertion).await, "lifetime exceeds");
    let assertion = h.assertion_with(|claims| {
        claims.insert("exp".into(), "tomorrow".into());
    });
    h.assert_refused(
        &h.post_assertion(&assertion).await,
        "assertion exp must be a NumericDate",
    );
}

#[tokio::test]
async fn required_claims_must_be_present() {
    let h = Harness::new();
    for claim in ["exp", "aud", "iss", "sub"] {
        let assertion = h.assertion_with(|claims| {
            claims.remove(claim);
        });
        h.assert_refused(
            &h.post_assertion(&assertion).await,
            &format!("assertion has no {claim} claim"),
        );
    }
    // tid is required when the registration pins it.
    let assertion = h.assertion_with(|claims| {
        claims.remove("tid");
    });
    h.assert_refused(&h.post_assertion(&assertion).await, "assertion has no tid claim");
}

#[tokio::test]
async fn pinned_claims_must_match_exactly() {
    let h = Harness::new();
    for claim in ["aud", "iss", "sub", "tid"] {
        let assertion = h.assertion_with(|claims| {
            let value = claims[claim].as_str().unwrap().to_owned();
            claims.insert(claim.into(), format!("{value}x").into());
        });
        h.assert_refused(
            &h.post_assertion(&assertion).await,
            &format!("assertion {claim} does not match the registration"),
        );
        // The audit record keeps the value actually received (verified), and the full reason.
        let event = h.audit.last().unwrap();
        let received = h.claims()[claim].as_str().unwrap().to_owned() + "x";
        assert_eq!(event.details[claim], received.as_str(), "{claim}");
        let reason = event.reason.unwrap();
        assert!(
            reason.contains("does not equal the registered") || reason.contains("is none of the audiences"),
            "{reason}"
        );
    }
    // Case matters: GUIDs and URLs are compared as strings.
    let assertion = h.assertion_with(|claims| {
        claims.insert(
            "sub".into(),
            h.registration.federated_credentials[0].subject.to_uppercase().into(),
        );
    });
    h.assert_refused(&h.post_assertion(&assertion).await, "assertion sub does not match");
}

#[tokio::test]
async fn audience_arrays_must_hold_exactly_the_registered_audience() {
    let h = Harness::new();
    let single = h.assertion_with(|claims| {
        claims.insert(
            "aud".into(),
            serde_json::json!([h.registration.federated_credentials[0].audiences[0]]),
        );
    });
    assert_eq!(h.post_assertion(&single).await.status(), 200);
    let several = h.assertion_with(|claims| {
        claims.insert(
            "aud".into(),
            serde_json::json!([h.registration.federated_credentials[0].audiences[0], "api://other"]),
        );
    });
    h.assert_refused(&h.post_assertion(&several).await, "exactly one audience");
}

#[tokio::test]
async fn issuer_without_its_trailing_slash_is_a_mismatch() {
    let h = Harness::new();
    let mut registration = h.registration.clone();
    registration.federated_credentials[0].issuer =
        "https://sts.windows.net/966ac572-f5b7-4bbe-aa88-c76419c0f851/".into();
    h.clients.insert(registration.clone());
    let good = h.assertion_with(|claims| {
        claims.insert(
            "iss".into(),
            registration.federated_credentials[0].issuer.clone().into(),
        );
    });
    assert_eq!(h.post_assertion(&good).await.status(), 200);
    let trimmed = h.assertion_with(|claims| {
        claims.insert(
            "iss".into(),
            registration.federated_credentials[0]
                .issuer
                .trim_end_matches('/')
                .into(),
        );
    });
    h.assert_refused(
        &h.post_assertion(&trimmed).await,
        "assertion iss does not match the registration",
    );
}

#[tokio::test]
async fn another_tenants_key_is_not_accepted() {
    let h = Harness::new();
    // c2 is another customer; its JWKS has a key under a kid of its own and one reusing c1's kid.
    let other_kid = TestKey::rsa("k2");
    let other_same_kid = TestKey::rsa("k1");
    let c2 = sample_registration("c2");
    h.fetcher
        .serve(&c2.federated_credentials[0].jwks_uri, &jwks_document(&[&other_kid]));
    h.clients.insert(c2.clone());
    let c2_assertion = sign_jwt(&other_kid, "RS256", &entra_like_claims(&c2, NOW));
    // Valid for c2 ...
    assert_eq!(
        h.post(&assertion_form(Some("c2"), &c2_assertion, None)).await.status(),
        200
    );
    // ... but not for c1, even though the claims are identical (same Entra tenant, same identity).
    let for_c1 = sign_jwt(&other_kid, "RS256", &h.claims());
    h.assert_refused(
        &h.post_assertion(&for_c1).await,
        "not a signing key of this client's JWKS",
    );
    let colliding = sign_jwt(&other_same_kid, "RS256", &h.claims());
    h.assert_refused(&h.post_assertion(&colliding).await, "assertion signature is invalid");
}

#[tokio::test]
async fn crit_header_is_rejected() {
    let h = Harness::new();
    for crit in [r#"["exp"]"#, "[]", r#"["b64"]"#] {
        let header = format!(r#"{{"alg":"RS256","kid":"k1","crit":{crit},"b64":true}}"#);
        let assertion = sign_raw(&h.key, "RS256", &header, &h.claims().to_string());
        h.assert_refused(&h.post_assertion(&assertion).await, "assertion header has crit");
    }
}

#[tokio::test]
async fn duplicate_members_are_rejected() {
    let h = Harness::new();
    let claims = h.claims().to_string();
    // A second aud, appended after the real one: a last-wins parser would see "api://attacker".
    let duplicated = format!("{},\"aud\":\"api://attacker\"}}", &claims[..claims.len() - 1]);
    let assertion = sign_raw(&h.key, "RS256", r#"{"alg":"RS256","kid":"k1"}"#, &duplicated);
    h.assert_refused(&h.post_assertion(&assertion).await, "claims have a duplicate member");
    // The same real value twice is still ambiguous JSON.
    let same = format!("{},\"exp\":{}}}", &claims[..claims.len() - 1], NOW + 3600);
    let assertion = sign_raw(&h.key, "RS256", r#"{"alg":"RS256","kid":"k1"}"#, &same);
    h.assert_refused(&h.post_assertion(&assertion).await, "claims have a duplicate member");
    // Nested duplicates too.
    let nested = format!("{},\"xms\":{{\"a\":1,\"a\":2}}}}", &claims[..claims.len() - 1]);
    let assertion = sign_raw(&h.key, "RS256", r#"{"alg":"RS256","kid":"k1"}"#, &nested);
    h.assert_refused(&h.post_assertion(&assertion).await, "claims have a duplicate member");
    for header in [
        r#"{"alg":"RS256","kid":"k1","alg":"none"}"#,
        r#"{"alg":"RS256","kid":"k1","kid":"k1"}"#,
    ] {
        let assertion = sign_raw(&h.key, "RS256", header, &claims);
        h.assert_refused(&h.post_assertion(&assertion).await, "header has a duplicate member");
    }
}

#[tokio::test]
async fn malformed_tokens_are_rejected() {
    let h = Harness::new();
    let good = h.assertion();
    let mut parts = good.split('.');
    let (header, payload, signature) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    let padded_signature = format!("{signature}=");
    let cases = [
        "garbage".to_owned(),
        format!("{header}.{payload}"),
        format!("{header}.{payload}.{signature}.{signature}"),
        format!("{header}.{payload}.{padded_signature}"),
        format!("{header}.{payload}.{}", signature.replace(['-', '_'], "+")),
        format!("{header}$.{payload}.{signature}"),
        format!(".{payload}.{signature}"),
        format!("{}.{payload}.{signature}", b64(b"[1,2]")),
        format!("{}.{payload}.{signature}", b64(b"not json")),
        format!("{}.{payload}.{signature}", b64(br#"{"kid":"k1"}"#)),
        format!("{}.{payload}.{signature}", b64(br#"{"alg":"RS256"}"#)),
        format!("{}.{payload}.{signature}", b64(br#"{"alg":256,"kid":"k1"}"#)),
        "...".to_owned(),
    ];
    for case in cases {
        let response = h.post_assertion(&case).await;
        let (status, error, description) = error_of(&response);
        assert_eq!(
            (status, error.as_str()),
            (401, "invalid_client"),
            "{case}: {description}"
        );
        assert!(
            !description.contains("aud"),
            "no claim details before the signature: {description}"
        );
    }
    assert!(h.tokens.records().is_empty());
}

#[tokio::test]
async fn signature_over_a_non_object_payload_is_rejected_after_verification() {
    let h = Harness::new();
    let assertion = sign_raw(&h.key, "RS256", r#"{"alg":"RS256","kid":"k1"}"#, "[1]");
    h.assert_refused(&h.post_assertion(&assertion).await, "claims are not a JSON object");
}

#[tokio::test]
async fn a_megabyte_assertion_is_rejected_before_parsing() {
    let huge = "a".repeat(1 << 20);
    // Through the endpoint the body cap answers first.
    let h = Harness::new();
    let (status, error, description) = error_of(&h.post_assertion(&huge).await);
    assert_eq!((status, error.as_str()), (400, "invalid_request"));
    assert!(description.contains("exceeds"), "{description}");
    // With a body cap that lets it through, the assertion cap still refuses it by size alone.
    let h = Harness::with_settings(TokenSettings {
        max_body_bytes: 4 << 20,
        ..TokenSettings::default()
    });
    let huge_jwt = format!("{}.{}.{}", "e30", "a".repeat(1 << 20), "c2ln");
    h.assert_refused(&h.post_assertion(&huge_jwt).await, "larger than 16384 bytes");
    let err = UnverifiedAssertion::parse(&huge_jwt, &AssertionPolicy::default()).unwrap_err();
    assert_eq!(err.failure, wif_auth::assertion::AssertionFailure::TooLarge);
}

#[tokio::test]
async fn wrong_assertion_type_and_double_authentication() {
    let h = Harness::new();
    let assertion = h.assertion();
    let body = assertion_form(Some("c1"), &assertion, None).replace("jwt-bearer", "saml2-bearer");
    let (status, error, _) = error_of(&h.post(&body).await);
    assert_eq!((status, error.as_str()), (400, "invalid_request"));
    let body = format!(
        "{}&client_secret=wif_cs_x",
        assertion_form(Some("c1"), &assertion, None)
    );
    let (status, error, description) = error_of(&h.post(&body).await);
    assert_eq!((status, error.as_str()), (400, "invalid_request"));
    assert!(description.contains("exactly one client authentication method"));
    let mut headers = form_headers();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("Basic YzE6d2lmX2NzX3g="),
    );
    let (status, error, _) = error_of(
        &h.post_with(&assertion_form(Some("c1"), &assertion, None), headers)
            .await,
    );
    assert_eq!((status, error.as_str()), (400, "invalid_request"));
}

/// Before a client has authenticated, every failure reads the same: whether a client_id exists, is disabled, or
/// has secrets or WIF enabled is nobody's business but the audit trail's.
#[tokio::test]
async fn unauthenticated_callers_learn_nothing_about_the_client() {
    let h = Harness::new();
    let stranger = TestKey::rsa("k1");
    let forged = sign_jwt(&stranger, "RS256", &h.claims());
    let mut answers = vec![
        (
            "unknown client",
            h.post(&assertion_form(Some("nope"), &h.assertion(), None)).await,
        ),
        ("signature is invalid", h.post_assertion(&forged).await),
        ("not a well-formed JWT", h.post_assertion("x.y.z").await),
        (
            "no client authentication",
            h.post("grant_type=client_credentials&client_id=c1").await,
        ),
    ];
    // An unknown kid is refused once a JWKS fetched after its arrival lacks it (a cooldown later).
    h.clock.advance(60);
    answers.push((
        "is not a signing key",
        h.post_assertion(&sign_jwt(&TestKey::rsa("k9"), "RS256", &h.claims()))
            .await,
    ));
    let mut disabled = h.registration.clone();
    disabled.enabled = false;
    h.clients.insert(disabled);
    answers.push(("client is disabled", h.post_assertion(&h.assertion()).await));
    let mut no_wif = h.registration.clone();
    no_wif.wif_enabled = false;
    h.clients.insert(no_wif);
    answers.push((
        "client_assertion is not enabled",
        h.post_assertion(&h.assertion()).await,
    ));
    answers.push((
        "client secrets are not enabled",
        h.post("grant_type=client_credentials&client_id=c1&client_secret=wif_cs_x")
            .await,
    ));
    let reasons: Vec<String> = h.audit.events().into_iter().filter_map(|event| event.reason).collect();
    assert_eq!(reasons.len(), answers.len());
    for ((cause, response), reason) in answers.iter().zip(&reasons) {
        let (status, error, description) = error_of(response);
        assert_eq!(
            (status, error.as_str(), description.as_str()),
            (401, "invalid_client", CLIENT_AUTHENTICATION_FAILED),
            "{cause}"
        );
        assert!(reason.contains(cause), "the audit reason {reason:?} lacks {cause:?}");
    }
}

/// The JOSE header and the unverified claims are the attacker's to choose: up to 16 KB of `alg`, a `kid` with
/// control characters. Only a short printable rendering reaches the audit record and the logs.
#[tokio::test]
async fn attacker_chosen_header_and_claims_are_cut_short_in_audit_and_logs() {
    let logs = wif_common::telemetry::CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(wif_common::telemetry::json_subscriber_into(logs.clone()));
    let h = Harness::new();
    let alg = format!("RS256{}", "\u{7}X".repeat(1_200));
    let kid = format!("k1\n{{\"level\":\"ERROR\"}}{}", "K".repeat(200));
    let header = serde_json::json!({"alg": alg, "kid": kid}).to_string();
    let response = h
        .post_assertion(&sign_raw(&h.key, "RS256", &header, &h.claims().to_string()))
        .await;
    assert_eq!(error_of(&response).0, 401);
    let mut claims = h.claims();
    claims["iss"] = format!("https://evil.example/\u{1b}[2J{}", "i".repeat(400)).into();
    let unknown = sign_raw(
        &TestKey::rsa("k2"),
        "RS256",
        r#"{"alg":"RS256","kid":"k2"}"#,
        &claims.to_string(),
    );
    let response = h.post(&assertion_form(None, &unknown, None)).await;
    assert_eq!(error_of(&response).0, 401);

    let events = h.audit.events();
    let refused_alg = &events[0];
    assert!(refused_alg.details.contains_key("alg"), "{refused_alg:?}");
    let kept_alg = refused_alg.details["alg"].as_str().unwrap();
    let kept_kid = refused_alg.details["kid"].as_str().unwrap();
    assert!(
        kept_alg.chars().count() <= 17 && kept_alg.starts_with("RS256X"),
        "{kept_alg}"
    );
    assert!(kept_kid.chars().count() <= 65 && !kept_kid.contains('\n'), "{kept_kid}");
    for event in &events {
        let text = serde_json::to_string(&event.details).unwrap() + event.reason.as_deref().unwrap_or_default();
        assert!(text.len() < 1_200, "{text}");
        assert!(!text.chars().any(|c| c.is_control()), "{text}");
    }
    assert!(
        events[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("https://evil.example/[2Jiii")
    );
    let log = logs.contents();
    assert!(!log.contains(&"X".repeat(100)) && !log.contains(&"K".repeat(100)) && !log.contains(&"i".repeat(200)));
}

#[tokio::test]
async fn scopes_must_be_known_and_allowed() {
    let h = Harness::new();
    let (status, error, description) =
        error_of(&h.post(&assertion_form(Some("c1"), &h.assertion(), Some("admin"))).await);
    assert_eq!((status, error.as_str()), (400, "invalid_scope"));
    assert_eq!(description, "unknown scope \"admin\"");
    let mut read_only = h.registration.clone();
    read_only.allowed_scopes = vec![Scope::ScimRead];
    h.clients.insert(read_only);
    let (status, error, description) = error_of(
        &h.post(&assertion_form(Some("c1"), &h.assertion(), Some("scim.read%20scim")))
            .await,
    );
    assert_eq!((status, error.as_str()), (400, "invalid_scope"));
    assert_eq!(description, "scope scim is not allowed for this client");
    let response = h
        .post(&assertion_form(Some("c1"), &h.assertion(), Some("scim.read")))
        .await;
    let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
    assert_eq!(body["scope"], "scim.read");
}

#[tokio::test]
async fn json_body_and_get_are_refused() {
    let h = Harness::new();
    let mut headers = form_headers();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let json = serde_json::json!({"grant_type": "client_credentials", "client_id": "c1"}).to_string();
    let (status, error, _) = error_of(&h.post_with(&json, headers).await);
    assert_eq!((status, error.as_str()), (400, "invalid_request"));
    let response = h
        .service
        .token_response(&Method::GET, &form_headers(), b"", &RequestContext::default())
        .await;
    let (status, error, _) = error_of(&response);
    assert_eq!((status, error.as_str()), (405, "invalid_request"));
    assert_eq!(response.headers()["allow"], "POST");
}

#[tokio::test]
async fn algorithm_allow_list_and_key_type() {
    let h = Harness::new();
    let rs384 = sign_jwt(&h.key, "RS384", &h.claims());
    h.assert_refused(
        &h.post_assertion(&rs384).await,
        "alg RS384 is not allowed for this client",
    );
    let mut registration = h.registration.clone();
    registration.allowed_algorithms = vec!["RS256".into(), "PS256".into(), "ES256".into()];
    h.clients.insert(registration);
    assert_eq!(
        h.post_assertion(&sign_jwt(&h.key, "PS256", &h.claims())).await.status(),
        200
    );
    // ES256 naming the RSA key: the key type does not fit.
    let header = r#"{"alg":"ES256","kid":"k1"}"#;
    let wrong_type = format!(
        "{}.{}.{}",
        b64(header.as_bytes()),
        b64(h.claims().to_string().as_bytes()),
        b64(&[1u8; 64])
    );
    h.assert_refused(&h.post_assertion(&wrong_type).await, "does not fit signing key k1");
}

#[tokio::test]
async fn ec_keys_work_when_allowed() {
    let h = Harness::new();
    let ec = TestKey::ec256("ec1");
    let mut registration = sample_registration("c3");
    registration.allowed_algorithms = vec!["ES256".into()];
    h.fetcher
        .serve(&registration.federated_credentials[0].jwks_uri, &jwks_document(&[&ec]));
    h.clients.insert(registration.clone());
    let assertion = sign_jwt(&ec, "ES256", &entra_like_claims(&registration, NOW));
    assert_eq!(
        h.post(&assertion_form(Some("c3"), &assertion, None)).await.status(),
        200
    );
}

#[tokio::test]
async fn client_secrets_basic_and_post() {
    let h = Harness::new();
    let mut registration = h.registration.clone();
    registration.secrets_enabled = true;
    let secret = generate_client_secret(&registration, NOW - 10, 86_400, None).unwrap();
    registration.secrets.push(secret.stored.clone());
    h.clients.insert(registration);
    let post = format!(
        "grant_type=client_credentials&client_id=c1&client_secret={}",
        secret.value
    );
    assert_eq!(h.post(&post).await.status(), 200);
    // The grant names the secret that authenticated it (never its value).
    let granted = h.audit.last().unwrap();
    assert_eq!(granted.details["secret_id"], secret.stored.secret_id.as_str());
    assert!(!serde_json::to_string(&granted).unwrap().contains(&secret.value));
    let mut headers = form_headers();
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("c1:{}", secret.value),
    );
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Basic {basic}")).unwrap(),
    );
    assert_eq!(
        h.post_with("grant_type=client_credentials", headers).await.status(),
        200
    );
    let mut headers = form_headers();
    let wrong = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "c1:wif_cs_wrong");
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Basic {wrong}")).unwrap(),
    );
    let response = h.post_with("grant_type=client_credentials", headers).await;
    h.assert_refused(&response, "client authentication failed");
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic realm=")
    );
    // Expired secret.
    h.clock.advance(86_400);
    h.assert_refused(&h.post(&post).await, "client authentication failed");
    // Secrets disabled for a WIF-only client.
    let wif_only = format!(
        "grant_type=client_credentials&client_id=c1&client_secret={}",
        secret.value
    );
    let mut registration = h.registration.clone();
    registration.secrets = vec![secret.stored];
    h.clients.insert(registration);
    h.assert_refused(&h.post(&wif_only).await, "client secrets are not enabled");
}

#[tokio::test]
async fn rate_limits_per_client_and_per_source() {
    let h = Harness::with_settings(TokenSettings {
        rate_limit_client_per_minute: 2,
        rate_limit_source_per_minute: 0,
        ..TokenSettings::default()
    });
    let other = TestKey::rsa("k9");
    let c2 = sample_registration("c2");
    h.fetcher
        .serve(&c2.federated_credentials[0].jwks_uri, &jwks_document(&[&other]));
    h.clients.insert(c2.clone());
    let assertion = h.assertion();
    assert_eq!(h.post_assertion(&assertion).await.status(), 200);
    assert_eq!(h.post_assertion(&assertion).await.status(), 200);
    let limited = h.post_assertion(&assertion).await;
    let (status, _, _) = error_of(&limited);
    assert_eq!(status, 429);
    let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    // Another client is unaffected.
    let c2_assertion = sign_jwt(&other, "RS256", &entra_like_claims(&c2, NOW));
    assert_eq!(
        h.post(&assertion_form(Some("c2"), &c2_assertion, None)).await.status(),
        200
    );
    // Forged requests do not use up c1's budget (only authenticated requests count) ...
    h.clock.advance(60);
    let forged = sign_jwt(&TestKey::rsa("k1"), "RS256", &h.claims());
    for _ in 0..5 {
        assert_eq!(h.post_assertion(&forged).await.status(), 401);
    }
    // ... and the next window starts fresh.
    assert_eq!(h.post_assertion(&assertion).await.status(), 200);

    let h = Harness::with_settings(TokenSettings {
        rate_limit_client_per_minute: 0,
        rate_limit_source_per_minute: 3,
        ..TokenSettings::default()
    });
    for _ in 0..3 {
        assert_eq!(h.post("grant_type=client_credentials").await.status(), 401);
    }
    assert_eq!(h.post_assertion(&h.assertion()).await.status(), 429);
}

#[tokio::test]
async fn storage_outages_are_503_never_500() {
    let h = Harness::new();
    h.tokens.fail(true);
    let (status, error, _) = error_of(&h.post_assertion(&h.assertion()).await);
    assert_eq!((status, error.as_str()), (503, "temporarily_unavailable"));
    h.tokens.fail(false);
    h.clients.fail(true);
    let (status, error, _) = error_of(&h.post_assertion(&h.assertion()).await);
    assert_eq!((status, error.as_str()), (503, "temporarily_unavailable"));
    h.clients.fail(false);
    // A broken rate counter fails open; a broken audit sink is logged only.
    h.rates.fail(true);
    assert_eq!(h.post_assertion(&h.assertion()).await.status(), 200);
}

#[tokio::test]
async fn unreachable_jwks_is_503_when_nothing_is_cached() {
    let h = Harness::new();
    h.fetcher.answer(
        &h.registration.federated_credentials[0].jwks_uri,
        Err(wif_auth::ports::JwksFetchError::Timeout),
    );
    let response = h.post_assertion(&h.assertion()).await;
    let (status, error, _) = error_of(&response);
    assert_eq!((status, error.as_str()), (503, "temporarily_unavailable"));
    assert!(response.headers().contains_key("retry-after"));
    assert!(h.audit.last().unwrap().reason.unwrap().contains("timed out"));
}

#[tokio::test]
async fn every_outcome_is_audited_without_credentials() {
    let h = Harness::new();
    let assertion = h.assertion();
    let granted = h.post_assertion(&assertion).await;
    let token: serde_json::Value = serde_json::from_str(granted.body()).unwrap();
    let _ = h.post_assertion(&format!("{assertion}x")).await;
    let _ = h
        .post("grant_type=client_credentials&client_id=c1&client_secret=wif_cs_guess")
        .await;
    let events = h.audit.events();
    assert_eq!(events.len(), 3);
    assert_eq!(events[1].action, "token.denied");
    assert_eq!(events[1].details["error"], "invalid_client");
    let all = serde_json::to_string(&events).unwrap();
    assert!(!all.contains(&assertion[..40]));
    assert!(!all.contains(token["access_token"].as_str().unwrap()));
    assert!(!all.contains("wif_cs_guess"));
}

#[test]
fn debug_output_of_an_assertion_shows_no_credential() {
    let key = TestKey::rsa("k1");
    let jwt = sign_jwt(&key, "RS256", &entra_like_claims(&sample_registration("c1"), NOW));
    let parsed = UnverifiedAssertion::parse(&jwt, &AssertionPolicy::default()).unwrap();
    let debug = format!("{parsed:?}");
    assert!(debug.contains("k1"));
    for hidden in ["payload", "signature", "signing_input"] {
        assert!(!debug.contains(hidden), "{debug}");
    }
    for segment in jwt.split('.').skip(1) {
        assert!(!debug.contains(segment));
    }
}
