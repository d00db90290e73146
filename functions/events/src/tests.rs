use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use wif_events::ingest::Ingest;
use wif_events::memory::MemoryEventStore;
use wif_events::set::Issuer;

use super::*;

fn app(store: &Arc<MemoryEventStore>) -> EventsApp {
    EventsApp {
        pipeline: Pipeline {
            ingest: Ingest {
                store: store.clone(),
                settle: Duration::from_secs(15),
            },
            bus: None,
            issuer: Issuer("https://events.example".into()),
        },
        clock_ms: || 1_767_225_600_000,
    }
}

fn user_image(version: u64, active: bool, last_op: &str) -> Value {
    json!({
        "pk": {"S": "T#contoso#U#u1"}, "sk": {"S": "USER"}, "type": {"S": "User"}, "id": {"S": "u1"},
        "version": {"N": version.to_string()}, "created": {"S": "2026-01-01T00:00:00Z"},
        "last_modified": {"S": "2026-01-01T00:00:00Z"}, "user_name": {"S": "alice@contoso.com"},
        "doc": {"S": json!({"userName": "alice@contoso.com", "active": active}).to_string()},
        "last_op": {"S": last_op}
    })
}

/// A DynamoDB stream event exactly as Lambda delivers it.
fn lambda_event(records: Vec<Value>) -> Event {
    serde_json::from_value(json!({ "Records": records })).expect("a DynamoDB stream event")
}

fn record(id: &str, name: &str, old: Option<Value>, new: Option<Value>) -> Value {
    let mut change = json!({
        "ApproximateCreationDateTime": 1_767_225_599,
        "Keys": {"pk": {"S": "T#contoso#U#u1"}, "sk": {"S": "USER"}},
        "SequenceNumber": "1", "SizeBytes": 100, "StreamViewType": "NEW_AND_OLD_IMAGES"
    });
    if let Some(old) = old {
        change["OldImage"] = old;
    }
    if let Some(new) = new {
        change["NewImage"] = new;
    }
    json!({"eventID": id, "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
           "awsRegion": "eu-west-1", "dynamodb": change,
           "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/Directory/stream/2026"})
}

#[tokio::test]
async fn a_create_and_a_deactivating_patch_become_two_events() {
    let store = Arc::new(MemoryEventStore::default());
    let event = lambda_event(vec![
        record("e1", "INSERT", None, Some(user_image(1, true, "create"))),
        record(
            "e2",
            "MODIFY",
            Some(user_image(1, true, "create")),
            Some(user_image(2, false, "patch")),
        ),
    ]);
    let response = handle(&app(&store), event).await;
    assert!(response.batch_item_failures.is_empty());
    let feed = store.feed_of("contoso");
    assert_eq!(feed.len(), 2);
    let ids: Vec<String> = feed.iter().map(|e| e.change_id.clone()).collect();
    let stored = wif_events::ports::EventStore::events(store.as_ref(), "contoso", &ids)
        .await
        .unwrap();
    assert_eq!(
        stored[1].event.activation,
        Some(wif_events::change::Activation::Deactivate)
    );
    assert_eq!(
        stored[1].event.toe_ms, 1_767_225_599_000,
        "streams time records in whole seconds"
    );
    assert_eq!(stored[1].event.txn, "e2");
}

#[tokio::test]
async fn an_undecodable_record_is_reported_as_the_batch_item_failure() {
    let store = Arc::new(MemoryEventStore::default());
    let mut broken = user_image(1, true, "create");
    broken["type"] = json!({"S": "SomethingNew"});
    let event = lambda_event(vec![
        record("e1", "INSERT", None, Some(user_image(1, true, "create"))),
        record("e2", "INSERT", None, Some(broken)),
        record("e3", "REMOVE", Some(user_image(1, true, "create")), None),
    ]);
    let response = handle(&app(&store), event).await;
    let failures: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failures, vec![Some("e2".to_owned())]);
    assert_eq!(store.feed_of("contoso").len(), 1);
    let answer = serde_json::to_value(&response).unwrap();
    assert_eq!(answer["batchItemFailures"][0]["itemIdentifier"], "e2");
}
