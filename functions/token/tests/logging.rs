//! One span per request carrying the Lambda request id, and no credential in any log line. In its own test
//! binary: tracing's callsite-interest cache is process-global, so a thread-local capture subscriber is only
//! reliable when no other test runs concurrently in the same process.

use std::sync::Arc;

use lambda_http::{Body, Request};
use token::{TokenApp, handle};
use wif_auth::jwks_cache::JwksCacheSettings;
use wif_auth::service::{TokenPorts, TokenService, TokenSettings};
use wif_auth::testing::*;
use wif_common::FixedClock;
use wif_common::telemetry::{CapturedLogs, json_subscriber_into};

const NOW: i64 = 1_750_000_000;

fn token_request(assertion: &str) -> Request {
    let body = format!(
        "grant_type=client_credentials&client_id=c1&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}&scope=scim"
    );
    lambda_http::http::Request::builder()
        .method("POST")
        .uri("https://auth.example.com/oauth2/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::Text(body))
        .unwrap_or_else(|err| panic!("request: {err}"))
}

#[tokio::test]
async fn one_span_per_request_and_no_credentials_in_logs() {
    let logs = CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(json_subscriber_into(logs.clone()));
    let key = TestKey::rsa("k1");
    let registration = sample_registration("c1");
    let clients = Arc::new(InMemoryClients::default());
    clients.insert(registration.clone());
    let fetcher = Arc::new(StaticJwksFetcher::default());
    fetcher.serve(&registration.federated_credentials[0].jwks_uri, &jwks_document(&[&key]));
    let app = TokenApp {
        front: wif_edge::Front::FunctionUrl,
        service: TokenService::new(
            TokenPorts {
                clients,
                tokens: Arc::new(InMemoryTokenStore::default()),
                key_store: Arc::new(InMemoryKeyStore::default()),
                fetcher,
                rates: Arc::new(InMemoryRateCounter::default()),
                audit: Arc::new(RecordingAudit::default()),
                clock: Arc::new(FixedClock::at(NOW)),
            },
            TokenSettings::default(),
            JwksCacheSettings::default(),
        ),
        public_token_url: None,
    };
    let assertion = sign_jwt(&key, "RS256", &entra_like_claims(&registration, NOW));
    let response = handle(&app, token_request(&assertion)).await;
    assert_eq!(response.status(), 200);
    let Body::Text(body) = response.body() else {
        panic!("no body")
    };
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let token = json["access_token"].as_str().unwrap_or_default().to_owned();
    assert!(token.starts_with("wif_at_"));
    let tampered = handle(&app, token_request(&format!("{assertion}x"))).await;
    assert_eq!(tampered.status(), 401);

    let text = logs.contents();
    let handled: Vec<&str> = text.lines().filter(|line| line.contains("request handled")).collect();
    assert_eq!(handled.len(), 2, "{text}");
    for line in &handled {
        assert!(
            line.contains("\"request_id\":\"-\"") && line.contains("\"function\":\"token\""),
            "{line}"
        );
    }
    assert!(
        text.lines()
            .any(|line| line.contains("token granted") && line.contains("\"request_id\""))
    );
    assert!(!text.contains(&token));
    assert!(!text.contains(&token[7..]));
    assert!(!text.contains(assertion.rsplit('.').next().unwrap_or_default()));
}
