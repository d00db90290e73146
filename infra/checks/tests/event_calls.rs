//! The events functions send exactly the DynamoDB actions their permissions.rs declares: each function's own
//! wiring (`from_config`), driven over moto through the real SDK with a recording client (KMS and EventBridge are
//! moto's too).

mod common;

use std::time::Duration;

use common::{Dynamo, assert_sent_matches_declared};
use lambda_http::{Body, Request};
use serde_json::{Value, json};
use wif_auth::credentials::{AccessToken, sha256_hex};
use wif_auth::ports::{TokenRecord, TokenStore};
use wif_auth::scope::Scope;
use wif_store::TableKind;
use wif_store::clients::ClientRepository;
use wif_store::tokens::TokenRepository;

async fn sdk() -> aws_config::SdkConfig {
    wif_testkit::sdk_config(wif_testkit::shared_moto().endpoint()).await
}

fn stream_event(id: &str) -> aws_lambda_events::dynamodb::Event {
    let image = json!({
        "pk": {"S": "T#contoso#U#u1"}, "sk": {"S": "USER"}, "type": {"S": "User"}, "id": {"S": "u1"},
        "version": {"N": "1"}, "created": {"S": "2026-01-01T00:00:00Z"},
        "last_modified": {"S": "2026-01-01T00:00:00Z"}, "user_name": {"S": "alice@contoso.com"},
        "doc": {"S": "{\"userName\":\"alice@contoso.com\"}"}, "last_op": {"S": "create"}
    });
    serde_json::from_value(json!({"Records": [{
        "eventID": id, "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "dynamodb": {"ApproximateCreationDateTime": 1_767_225_600, "Keys": {"pk": image["pk"], "sk": image["sk"]},
                     "NewImage": image, "SequenceNumber": "100", "SizeBytes": 10, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    }]}))
    .unwrap()
}

#[tokio::test]
async fn events_function_sends_exactly_what_it_declares() {
    let dynamo = Dynamo::start().await;
    let env = dynamo.env(&[("WIF_EVENTS_ISSUER", "https://events.example")]);
    let config = events::config::EventsConfig::from_env(&env).unwrap_or_else(|err| panic!("{err}"));
    let eventbridge = aws_sdk_eventbridge::Client::new(&sdk().await);
    let app = events::EventsApp::from_config(&config, &dynamo.recorded, &eventbridge).unwrap();
    for _ in 0..2 {
        let answer = events::handle(&app, stream_event("record-1")).await;
        assert!(answer.batch_item_failures.is_empty());
    }
    assert_sent_matches_declared(&dynamo, "EventsFunction", "EventsRole");
}

/// A new SET signing key in moto's KMS, like the template's EventsSigningKey.
async fn signing_key(kms: &aws_sdk_kms::Client) -> String {
    let key = kms
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::EccNistP256)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap();
    key.key_metadata().unwrap().key_id().to_owned()
}

fn poll(token: &str, body: &Value) -> Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri("/events")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .unwrap()
}

fn json_of(response: &lambda_http::Response<Body>) -> Value {
    match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap_or_default(),
        _ => Value::Null,
    }
}

#[tokio::test]
async fn events_feed_function_sends_exactly_what_it_declares() {
    let dynamo = Dynamo::start().await;
    let config = sdk().await;
    let kms = aws_sdk_kms::Client::new(&config);
    let key_id = signing_key(&kms).await;
    // Seed, unrecorded: an events.read token, its registration, and one event in the tenant's feed.
    let token = AccessToken::generate().unwrap().value().to_owned();
    let now = wif_common::clock::unix_millis() / 1000;
    TokenRepository::new(
        dynamo.unrecorded.clone(),
        dynamo.names.get(TableKind::Tokens),
        std::sync::Arc::new(wif_common::SystemClock),
    )
    .put_token(&TokenRecord {
        token_hash: sha256_hex(&token),
        client_id: "app".into(),
        tenant_id: "contoso".into(),
        scopes: vec![Scope::EventsRead],
        issued_at: now,
        expires_at: now + 3600,
        revoked: false,
    })
    .await
    .unwrap();
    let mut registration = wif_auth::testing::sample_registration("app");
    registration.tenant_id = "contoso".into();
    ClientRepository::new(dynamo.unrecorded.clone(), dynamo.names.get(TableKind::Clients))
        .insert(&registration)
        .await
        .unwrap();
    let env = dynamo.env(&[
        ("WIF_EVENTS_ISSUER", "https://events.example"),
        ("WIF_EVENTS_SIGNING_KEY", &key_id),
        ("WIF_EVENTS_LONG_POLL_SECONDS", "0"),
    ]);
    let feed_config = events_feed::config::FeedConfig::from_env(&env).unwrap_or_else(|err| panic!("{err}"));
    let app = events_feed::FeedApp::from_config(&feed_config, &dynamo.recorded, &kms).unwrap();
    // The first poll creates the receiver's state; the event is appended after it, as the events function would.
    assert_eq!(
        events_feed::handle(&app, poll(&token, &json!({"returnImmediately": true})))
            .await
            .status(),
        200
    );
    let events_env = dynamo.env(&[("WIF_EVENTS_ISSUER", "https://events.example")]);
    let events_config = events::config::EventsConfig::from_env(&events_env).unwrap();
    let eventbridge = aws_sdk_eventbridge::Client::new(&config);
    let ingest = events::EventsApp::from_config(&events_config, &dynamo.unrecorded, &eventbridge).unwrap();
    events::handle(&ingest, stream_event("record-2")).await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    let offered = json_of(&events_feed::handle(&app, poll(&token, &json!({"returnImmediately": true}))).await);
    let jtis: Vec<&String> = offered["sets"].as_object().expect("sets").keys().collect();
    assert_eq!(jtis.len(), 1, "{offered}");
    let acked = events_feed::handle(&app, poll(&token, &json!({"ack": jtis, "returnImmediately": true}))).await;
    assert_eq!(acked.status(), 200, "{}", json_of(&acked));
    assert_sent_matches_declared(&dynamo, "EventsFeedFunction", "EventsFeedRole");
}

/// A push endpoint on loopback that accepts every SET (202).
async fn accepting_endpoint() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = vec![0u8; 16 * 1024];
            let _ = socket.read(&mut buffer).await;
            let _ = socket
                .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .await;
        }
    });
    url
}

#[tokio::test]
async fn events_push_function_sends_exactly_what_it_declares() {
    let dynamo = Dynamo::start().await;
    let config = sdk().await;
    let kms = aws_sdk_kms::Client::new(&config);
    let key_id = signing_key(&kms).await;
    let mut registration = wif_auth::testing::sample_registration("pushed");
    registration.tenant_id = "contoso".into();
    registration.allowed_scopes = vec![Scope::EventsRead];
    registration.events = Some(wif_auth::event_settings::EventSettings {
        level: wif_auth::event_settings::EventDataLevel::Ids,
        push_url: Some(accepting_endpoint().await),
    });
    ClientRepository::new(dynamo.unrecorded.clone(), dynamo.names.get(TableKind::Clients))
        .insert(&registration)
        .await
        .unwrap();
    let env = dynamo.env(&[
        ("WIF_EVENTS_ISSUER", "https://events.example"),
        ("WIF_EVENTS_SIGNING_KEY", &key_id),
        ("WIF_LOCAL_DEVELOPMENT", "true"),
    ]);
    let push_config = events_push::config::PushConfig::from_env(&env).unwrap_or_else(|err| panic!("{err}"));
    let app = events_push::PushApp::from_config(&push_config, &dynamo.recorded, &kms).unwrap();
    // The first sweep starts the receiver's feed; the event is appended after it, as the events function would.
    assert_eq!(events_push::handle(&app).await.unwrap().targets, 1);
    let events_env = dynamo.env(&[("WIF_EVENTS_ISSUER", "https://events.example")]);
    let events_config = events::config::EventsConfig::from_env(&events_env).unwrap();
    let eventbridge = aws_sdk_eventbridge::Client::new(&config);
    let ingest = events::EventsApp::from_config(&events_config, &dynamo.unrecorded, &eventbridge).unwrap();
    events::handle(&ingest, stream_event("record-3")).await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    let summary = events_push::handle(&app).await.unwrap();
    assert_eq!(summary.delivered, 1, "{summary:?}");
    assert_sent_matches_declared(&dynamo, "EventsPushFunction", "EventsPushRole");
}
