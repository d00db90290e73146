//! The log-based alarms count what the functions really log: each metric filter in the template, applied to the
//! JSON lines the real code emits, matches exactly one line per event (one per token denial, one per JWKS URL
//! that failed to refresh) and nothing on the success path.

use std::sync::Arc;

use infra_checks::TEMPLATE_YAML;
use infra_checks::template::Template;
use serde_json::Value;
use wif_auth::jwks_cache::JwksCacheSettings;
use wif_auth::ports::JwksFetchError;
use wif_auth::service::{TokenPorts, TokenService, TokenSettings};
use wif_auth::testing::{
    InMemoryClients, InMemoryKeyStore, InMemoryRateCounter, InMemoryTokenStore, StaticJwksFetcher, TestKey,
    entra_like_claims, jwks_document, sample_registration, sign_jwt,
};
use wif_common::FixedClock;
use wif_common::telemetry::{CapturedLogs, json_subscriber_into};

const NOW: i64 = 1_750_000_000;

/// The filter pattern of a metric filter resource.
fn pattern(logical_id: &str) -> String {
    let template = Template::parse(TEMPLATE_YAML).unwrap();
    template.resource(logical_id).unwrap()["Properties"]["FilterPattern"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// CloudWatch JSON filter patterns of the two shapes the template uses: `{ $.field = "text" }` and
/// `{ $.field IS TRUE }`. Anything else fails the test rather than being guessed at.
fn matches(pattern: &str, line: &Value) -> bool {
    let inner = pattern
        .trim()
        .strip_prefix('{')
        .and_then(|p| p.strip_suffix('}'))
        .map(str::trim)
        .unwrap_or_else(|| panic!("not a JSON filter pattern: {pattern}"));
    let selector = inner
        .strip_prefix("$.")
        .unwrap_or_else(|| panic!("unsupported pattern {pattern}"));
    if let Some(field) = selector.strip_suffix(" IS TRUE") {
        return line.get(field.trim()) == Some(&Value::Bool(true));
    }
    let (field, value) = selector
        .split_once('=')
        .unwrap_or_else(|| panic!("unsupported pattern {pattern}"));
    let value = value.trim().trim_matches('"');
    line.get(field.trim()).and_then(Value::as_str) == Some(value)
}

fn matching_lines(logs: &CapturedLogs, pattern: &str) -> usize {
    logs.contents()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| matches(pattern, line))
        .count()
}

#[test]
fn the_pattern_reader_understands_both_shapes() {
    let line = serde_json::json!({"action": "token.denied", "jwks_refresh_failed": true, "other": false});
    assert!(matches(r#"{ $.action = "token.denied" }"#, &line));
    assert!(!matches(r#"{ $.action = "token.granted" }"#, &line));
    assert!(matches("{ $.jwks_refresh_failed IS TRUE }", &line));
    assert!(!matches("{ $.other IS TRUE }", &line));
}

#[tokio::test]
async fn token_denial_filter_counts_each_denial_once() {
    let key = TestKey::rsa("k1");
    let registration = sample_registration("c1");
    let clients = Arc::new(InMemoryClients::default());
    clients.insert(registration.clone());
    let fetcher = Arc::new(StaticJwksFetcher::default());
    fetcher.serve(&registration.federated_credentials[0].jwks_uri, &jwks_document(&[&key]));
    let app = token::TokenApp {
        front: wif_edge::Front::FunctionUrl,
        service: TokenService::new(
            TokenPorts {
                clients,
                tokens: Arc::new(InMemoryTokenStore::default()),
                key_store: Arc::new(InMemoryKeyStore::default()),
                fetcher,
                rates: Arc::new(InMemoryRateCounter::default()),
                audit: Arc::new(wif_common::audit::LogOnlyAudit),
                clock: Arc::new(FixedClock::at(NOW)),
            },
            TokenSettings::default(),
            JwksCacheSettings::default(),
        ),
        public_token_url: None,
    };
    let request = |client_id: &str| {
        let assertion = sign_jwt(&key, "RS256", &entra_like_claims(&registration, NOW));
        let body = format!(
            "grant_type=client_credentials&client_id={client_id}&client_assertion_type=\
             urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}&scope=scim"
        );
        lambda_http::http::Request::builder()
            .method("POST")
            .uri("/oauth2/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(lambda_http::Body::Text(body))
            .unwrap()
    };
    let filter = pattern("TokenDenialMetricFilter");

    let logs = CapturedLogs::default();
    let guard = tracing::subscriber::set_default(json_subscriber_into(logs.clone()));
    assert_eq!(token::handle(&app, request("c1")).await.status(), 200);
    drop(guard);
    assert_eq!(
        matching_lines(&logs, &filter),
        0,
        "a grant is not a denial:\n{}",
        logs.contents()
    );

    let logs = CapturedLogs::default();
    let guard = tracing::subscriber::set_default(json_subscriber_into(logs.clone()));
    assert_eq!(token::handle(&app, request("unknown-client")).await.status(), 401);
    assert_eq!(token::handle(&app, request("another-unknown")).await.status(), 401);
    drop(guard);
    assert_eq!(matching_lines(&logs, &filter), 2, "{filter} over:\n{}", logs.contents());
}

#[tokio::test]
async fn jwks_refresh_failure_filter_counts_each_failed_url_once() {
    let good = "https://login.microsoftonline.com/good/discovery/keys";
    let down = "https://login.microsoftonline.com/down/discovery/keys";
    let broken = "https://login.microsoftonline.com/broken/discovery/keys";
    let fetcher = Arc::new(StaticJwksFetcher::default());
    fetcher.serve(good, &jwks_document(&[&TestKey::rsa("k1")]));
    fetcher.answer(down, Err(JwksFetchError::Status(503)));
    fetcher.serve(broken, "not a JWKS");
    let refresher = jwks_refresh::Refresher {
        store: Arc::new(InMemoryKeyStore::default()),
        fetcher,
        clock: Arc::new(FixedClock::at(NOW)),
    };
    let logs = CapturedLogs::default();
    let guard = tracing::subscriber::set_default(json_subscriber_into(logs.clone()));
    let report = refresher
        .refresh_all(vec![good.into(), down.into(), broken.into()])
        .await;
    drop(guard);
    assert_eq!((report.updated, report.failed), (1, 2));
    let filter = pattern("JwksRefreshFailureMetricFilter");
    assert_eq!(matching_lines(&logs, &filter), 2, "{filter} over:\n{}", logs.contents());
}
