use std::collections::BTreeMap;
use std::sync::Arc;

use lambda_http::http;
use serde_json::json;
use wif_auth::credentials::{AccessToken, sha256_hex};
use wif_auth::event_settings::{EventDataLevel, EventSettings};
use wif_auth::ports::TokenRecord;
use wif_auth::testing::{InMemoryClients, InMemoryTokenStore, sample_registration};
use wif_events::change::{Change, ChangeEvent, DirectoryChange, RecordOrigin, ResourceType};
use wif_events::memory::MemoryEventStore;
use wif_events::ports::{Append, EventStore, FeedKey};
use wif_events::set::Issuer;
use wif_events::testing::user_state;
use wif_jose::{JwsAlgorithm, LocalSigner, verify_compact};

use super::*;
use crate::signer::JwsSetSigner;

const NOW_MS: i64 = 1_767_225_600_000;

struct LocalKeys(Value);

#[async_trait::async_trait]
impl PublicKeys for LocalKeys {
    async fn jwks(&self) -> Result<Value, String> {
        Ok(json!({"keys": [self.0]}))
    }
}

struct Fixture {
    app: FeedApp,
    store: Arc<MemoryEventStore>,
    /// scope set name → token
    tokens: BTreeMap<&'static str, String>,
    jwk: Value,
}

async fn fixture() -> Fixture {
    let store = Arc::new(MemoryEventStore::default());
    let signer = Arc::new(LocalSigner::generate(JwsAlgorithm::ES256, "key-1").unwrap());
    let token_store = Arc::new(InMemoryTokenStore::default());
    let clients = Arc::new(InMemoryClients::default());
    let mut tokens = BTreeMap::new();
    for (name, client, tenant, scopes) in [
        ("events", "app", "contoso", vec![Scope::EventsRead]),
        ("scim", "entra", "contoso", vec![Scope::Scim]),
        ("other", "spy", "fabrikam", vec![Scope::EventsRead]),
    ] {
        let token = AccessToken::generate().unwrap().value().to_owned();
        token_store
            .put_token(&TokenRecord {
                token_hash: sha256_hex(&token),
                client_id: client.into(),
                tenant_id: tenant.into(),
                scopes,
                issued_at: NOW_MS / 1000 - 10,
                expires_at: NOW_MS / 1000 + 3600,
                revoked: false,
            })
            .await
            .unwrap();
        let mut registration = sample_registration(client);
        registration.tenant_id = tenant.into();
        registration.events = Some(EventSettings {
            level: EventDataLevel::Notice,
            push_url: None,
        });
        clients.insert(registration);
        tokens.insert(name, token);
    }
    let jwk = signer.public_jwk();
    let app = FeedApp {
        feed: FeedService {
            store: store.clone(),
            signer: Arc::new(JwsSetSigner(signer)),
            issuer: Issuer("https://events.example".into()),
            settle: Duration::from_secs(15),
        },
        tokens: token_store,
        clients,
        keys: Arc::new(LocalKeys(jwk.clone())),
        clock_ms: || NOW_MS,
        long_poll: Duration::from_millis(0),
        poll_interval: Duration::from_millis(10),
    };
    Fixture {
        app,
        store,
        tokens,
        jwk,
    }
}

fn request(method: &str, path: &str, token: Option<&String>, body: &str) -> Request {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder.body(Body::Text(body.to_owned())).unwrap()
}

fn json_of(response: &lambda_http::Response<Body>) -> Value {
    match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap(),
        _ => Value::Null,
    }
}

async fn add_event(store: &MemoryEventStore, record: &str) -> ChangeEvent {
    let event = ChangeEvent::of(
        &RecordOrigin {
            record_id: record.into(),
            committed_at_ms: NOW_MS,
            sequence: "100".into(),
        },
        &DirectoryChange {
            tenant: "contoso".into(),
            change: Change::Created(
                ResourceType::User,
                user_state(record, 1, json!({"userName": "alice@contoso.com"})),
            ),
        },
    );
    store
        .append(&[Append {
            feed_key: FeedKey::new(NOW_MS + 1, 0, &event.change_id),
            event: event.clone(),
            replaces: None,
        }])
        .await
        .unwrap();
    event
}

#[tokio::test]
async fn a_poll_returns_sets_that_verify_with_the_published_jwks() {
    let f = fixture().await;
    let token = f.tokens.get("events");
    let first = handle(&f.app, request("POST", POLL_PATH, token, "{}")).await;
    assert_eq!(first.status(), 200);
    add_event(&f.store, "rec-1").await;
    let response = handle(
        &f.app,
        request("POST", POLL_PATH, token, r#"{"returnImmediately":true}"#),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = json_of(&response);
    let sets = body["sets"].as_object().unwrap();
    assert_eq!(sets.len(), 1);
    let jwks = json_of(&handle(&f.app, request("GET", JWKS_PATH, None, "")).await);
    assert_eq!(jwks["keys"][0], f.jwk);
    let (jti, set) = sets.iter().next().unwrap();
    let verified = verify_compact(&jwks["keys"][0], set.as_str().unwrap()).unwrap();
    let header = verified.header;
    assert_eq!(
        (header["typ"].as_str(), header["alg"].as_str()),
        (Some("secevent+jwt"), Some("ES256"))
    );
    assert_eq!(verified.payload["jti"], jti.as_str());
    assert_eq!(verified.payload["sub_id"]["userName"], "alice@contoso.com");
    let ack = json!({"ack": [jti], "returnImmediately": true}).to_string();
    let after = json_of(&handle(&f.app, request("POST", POLL_PATH, token, &ack)).await);
    assert_eq!(after["sets"], json!({}), "acknowledged: {after}");
}

#[tokio::test]
async fn tokens_scopes_and_bad_acknowledgements_get_their_answers() {
    let f = fixture().await;
    let event = add_event(&f.store, "rec-1").await;
    let none = handle(&f.app, request("POST", POLL_PATH, None, "{}")).await;
    assert_eq!(none.status(), 401);
    assert!(none.headers().contains_key("www-authenticate"));
    let scim_only = handle(&f.app, request("POST", POLL_PATH, f.tokens.get("scim"), "{}")).await;
    assert_eq!(scim_only.status(), 403);
    assert_eq!(json_of(&scim_only)["err"], "access_denied");
    for body in [
        "[1]".to_owned(),
        json!({"ack": "x"}).to_string(),
        json!({"ack": ["not-a-jti"]}).to_string(),
        json!({"ack": [wif_events::set::jti(&wif_events::change::change_id("unknown"), EventDataLevel::Notice)]})
            .to_string(),
    ] {
        let response = handle(&f.app, request("POST", POLL_PATH, f.tokens.get("events"), &body)).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(json_of(&response)["err"], "invalid_request");
    }
    let foreign = json!({"ack": [wif_events::set::jti(&event.change_id, EventDataLevel::Notice)]}).to_string();
    let response = handle(&f.app, request("POST", POLL_PATH, f.tokens.get("other"), &foreign)).await;
    assert_eq!(
        response.status(),
        400,
        "another tenant's jti is refused like an unknown one"
    );
    assert_eq!(handle(&f.app, request("GET", POLL_PATH, None, "")).await.status(), 405);
    assert_eq!(handle(&f.app, request("GET", "/nowhere", None, "")).await.status(), 404);
}

#[tokio::test]
async fn an_outage_is_a_503_with_retry_after() {
    let f = fixture().await;
    f.store.fail(true);
    let response = handle(&f.app, request("POST", POLL_PATH, f.tokens.get("events"), "{}")).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "2");
}
