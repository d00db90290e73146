//! No assertion, access token or client secret may appear in any log line, on success or failure paths.

mod common;

use common::*;
use http::{HeaderValue, header};
use wif_auth::bearer::authenticate_bearer;
use wif_auth::credentials::generate_client_secret;
use wif_auth::testing::*;
use wif_common::telemetry::{CapturedLogs, json_subscriber_into};

#[tokio::test]
async fn logs_never_contain_credentials() {
    let logs = CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(json_subscriber_into(logs.clone()));

    let h = Harness::new();
    let mut registration = h.registration.clone();
    registration.secrets_enabled = true;
    let secret = generate_client_secret(&registration, NOW - 1, 3600, None).unwrap();
    registration.secrets.push(secret.stored.clone());
    h.clients.insert(registration);

    let assertion = h.assertion();
    let granted = h.post_assertion(&assertion).await;
    assert_eq!(granted.status(), 200);
    let body: serde_json::Value = serde_json::from_str(granted.body()).unwrap();
    let access_token = body["access_token"].as_str().unwrap().to_owned();

    // Failure paths: tampered, expired, wrong audience, unknown kid, foreign key, malformed, JWKS down.
    let _ = h.post_assertion(&format!("{assertion}A")).await;
    let expired = h.assertion_with(|c| {
        c.insert("exp".into(), (NOW - 3600).into());
    });
    let _ = h.post_assertion(&expired).await;
    let wrong_aud = h.assertion_with(|c| {
        c.insert("aud".into(), "api://other".into());
    });
    let _ = h.post_assertion(&wrong_aud).await;
    let unknown_kid = sign_jwt(&TestKey::rsa("unknown"), "RS256", &h.claims());
    let _ = h.post_assertion(&unknown_kid).await;
    let foreign = sign_jwt(&TestKey::rsa("k1"), "RS256", &h.claims());
    let _ = h.post_assertion(&foreign).await;
    let _ = h.post_assertion("not.a.jwt").await;
    h.fetcher.answer(
        &h.registration.federated_credentials[0].jwks_uri,
        Err(wif_auth::ports::JwksFetchError::Timeout),
    );
    h.clock.advance(120);
    let _ = h
        .post_assertion(&sign_jwt(&TestKey::rsa("k7"), "RS256", &h.claims()))
        .await;

    // Secrets: good (post and basic) and a wrong one.
    let post = format!(
        "grant_type=client_credentials&client_id=c1&client_secret={}",
        secret.value
    );
    assert_eq!(h.post(&post).await.status(), 200);
    let wrong_secret = "wif_cs_thisIsAWrongSecretValueThatMustNotBeLogged0000";
    let _ = h
        .post(&format!(
            "grant_type=client_credentials&client_id=c1&client_secret={wrong_secret}"
        ))
        .await;
    let mut headers = form_headers();
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("c1:{}", secret.value),
    );
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Basic {basic}")).unwrap(),
    );
    let _ = h.post_with("grant_type=client_credentials", headers).await;

    // Bearer checks with the issued token and a made-up one.
    for token in [
        access_token.as_str(),
        "wif_at_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        let _ = authenticate_bearer(&headers, h.tokens.as_ref(), NOW).await;
    }

    let text = logs.contents();
    assert!(text.contains("token granted"), "expected log lines, got: {text}");
    assert!(text.contains("token denied"));
    let signature_of = |jwt: &str| jwt.rsplit('.').next().unwrap_or_default().to_owned();
    for (name, secret_text) in [
        ("assertion", assertion.clone()),
        ("assertion signature", signature_of(&assertion)),
        ("expired assertion", signature_of(&expired)),
        ("foreign assertion", signature_of(&foreign)),
        ("access token", access_token.clone()),
        ("access token body", access_token[7..].to_owned()),
        ("client secret", secret.value.clone()),
        ("client secret body", secret.value[7..].to_owned()),
        ("wrong secret", wrong_secret.to_owned()),
        ("basic credentials", basic.clone()),
    ] {
        assert!(!text.contains(&secret_text), "{name} appears in the logs");
    }
    // The assertion's header and payload segments are not secret by themselves, but whole-JWT dumps would
    // include them next to the signature; make sure neither segment is logged either.
    let payload_segment = assertion.split('.').nth(1).unwrap();
    assert!(!text.contains(payload_segment));
}
