use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use super::*;
use crate::change::{Change, ChangeEvent, DirectoryChange, RecordOrigin, ResourceType};
use crate::memory::MemoryEventStore;
use crate::poll::PollRequest;
use crate::ports::{Append, StoredEvent};
use crate::testing::user_state;

/// "Signs" by rendering the claims; counts calls.
#[derive(Default)]
struct CountingSigner {
    calls: AtomicUsize,
    fail_after: Option<usize>,
}

#[async_trait::async_trait]
impl SetSigner for CountingSigner {
    async fn sign(&self, claims: &Value) -> Result<String, SigningError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if self.fail_after.is_some_and(|limit| n >= limit) {
            return Err(SigningError::Unavailable("throttled".into()));
        }
        Ok(format!("h.{claims}.s"))
    }
}

const SETTLE: Duration = Duration::from_secs(15);

fn event(tenant: &str, record: &str) -> ChangeEvent {
    ChangeEvent::of(
        &RecordOrigin {
            record_id: record.into(),
            committed_at_ms: 0,
            sequence: "100".into(),
        },
        &DirectoryChange {
            tenant: tenant.into(),
            change: Change::Created(ResourceType::User, user_state(record, 1, json!({"userName": record}))),
        },
    )
}

async fn put(store: &MemoryEventStore, tenant: &str, record: &str, stamp_ms: i64) -> ChangeEvent {
    let event = event(tenant, record);
    store
        .append(&[Append {
            feed_key: FeedKey::new(stamp_ms, 0, &event.change_id),
            event: event.clone(),
            replaces: None,
        }])
        .await
        .unwrap();
    event
}

fn service(store: &Arc<MemoryEventStore>, signer: Arc<CountingSigner>) -> FeedService {
    FeedService {
        store: store.clone(),
        signer,
        issuer: Issuer("https://events.example".into()),
        settle: SETTLE,
    }
}

fn receiver(client: &str, tenant: &str) -> Receiver {
    Receiver {
        client_id: client.into(),
        tenant: tenant.into(),
        level: EventDataLevel::Notice,
    }
}

fn ack_all(response: &PollResponse) -> Vec<Acknowledgement> {
    let body = json!({"ack": response.sets.keys().collect::<Vec<_>>()});
    PollRequest::parse(body.to_string().as_bytes())
        .unwrap()
        .acknowledgements
}

const T0: i64 = 1_767_225_600_000;

#[tokio::test]
async fn unacknowledged_events_come_back_after_a_crash_and_nothing_is_skipped() {
    let store = Arc::new(MemoryEventStore::default());
    let feed = service(&store, Arc::new(CountingSigner::default()));
    let alice = receiver("app", "t");
    // The first poll establishes the receiver's position.
    assert!(feed.next(&alice, 10, T0).await.unwrap().sets.is_empty());
    put(&store, "t", "r1", T0 + 1_000).await;
    let offered = feed.next(&alice, 10, T0 + 2_000).await.unwrap();
    assert_eq!(offered.sets.len(), 1);
    // The receiver crashes before acknowledging: the same SET is offered again, byte for byte.
    let again = feed.next(&alice, 10, T0 + 3_000).await.unwrap();
    assert_eq!(again.sets, offered.sets);
    // A late entry stamped before one the receiver already saw (another shard, a slower writer).
    let later = put(&store, "t", "r3", T0 + 5_000).await;
    let response = feed.next(&alice, 10, T0 + 6_000).await.unwrap();
    feed.acknowledge(&alice, &ack_all(&response), T0 + 6_000).await.unwrap();
    let late = put(&store, "t", "r2", T0 + 4_000).await;
    let response = feed.next(&alice, 10, T0 + 7_000).await.unwrap();
    assert_eq!(
        response.sets.keys().collect::<Vec<_>>(),
        vec![&jti(&late.change_id, EventDataLevel::Notice)],
        "the late entry is offered even though later ones were acknowledged"
    );
    feed.acknowledge(&alice, &ack_all(&response), T0 + 7_000).await.unwrap();
    // Once settled, the watermark passes all three and forgets their acknowledgements.
    assert!(feed.next(&alice, 10, T0 + 30_000).await.unwrap().sets.is_empty());
    let state = store.receiver("app").await.unwrap().unwrap();
    assert!(state.acked.is_empty(), "{state:?}");
    assert!(state.watermark.0.ends_with(&later.change_id));
}

#[tokio::test]
async fn an_unsettled_acknowledgement_does_not_move_the_watermark() {
    let store = Arc::new(MemoryEventStore::default());
    let feed = service(&store, Arc::new(CountingSigner::default()));
    let app = receiver("app", "t");
    feed.next(&app, 10, T0).await.unwrap();
    put(&store, "t", "r1", T0 + 1_000).await;
    let response = feed.next(&app, 10, T0 + 1_100).await.unwrap();
    feed.acknowledge(&app, &ack_all(&response), T0 + 1_200).await.unwrap();
    feed.next(&app, 10, T0 + 2_000).await.unwrap();
    let state = store.receiver("app").await.unwrap().unwrap();
    assert_eq!(state.watermark, FeedKey::floor(T0 - 15_000));
    assert_eq!(state.acked.len(), 1);
}

#[tokio::test]
async fn tenants_and_receivers_are_separate() {
    let store = Arc::new(MemoryEventStore::default());
    let feed = service(&store, Arc::new(CountingSigner::default()));
    let (a, b, a2) = (receiver("a", "ta"), receiver("b", "tb"), receiver("a2", "ta"));
    for r in [&a, &b, &a2] {
        feed.next(r, 10, T0).await.unwrap();
    }
    put(&store, "ta", "r1", T0 + 1).await;
    assert!(feed.next(&b, 10, T0 + 10).await.unwrap().sets.is_empty());
    let foreign = ack_all(&feed.next(&a, 10, T0 + 10).await.unwrap());
    let err = feed.acknowledge(&b, &foreign, T0 + 20).await.unwrap_err();
    assert!(
        matches!(err, FeedError::Invalid(_)),
        "another tenant's jti is an RFC 8936 error"
    );
    feed.acknowledge(&a, &foreign, T0 + 20).await.unwrap();
    assert_eq!(
        feed.next(&a2, 10, T0 + 30).await.unwrap().sets.len(),
        1,
        "each receiver acknowledges for itself"
    );
}

#[tokio::test]
async fn an_unknown_jti_acknowledges_nothing() {
    let store = Arc::new(MemoryEventStore::default());
    let feed = service(&store, Arc::new(CountingSigner::default()));
    let app = receiver("app", "t");
    feed.next(&app, 10, T0).await.unwrap();
    let known = put(&store, "t", "r1", T0 + 1).await;
    let body = json!({"ack": [jti(&known.change_id, EventDataLevel::Notice),
                              jti(&crate::change::change_id("nope"), EventDataLevel::Notice)]});
    let request = PollRequest::parse(body.to_string().as_bytes()).unwrap();
    assert!(feed.acknowledge(&app, &request.acknowledgements, T0 + 2).await.is_err());
    assert_eq!(
        feed.next(&app, 10, T0 + 3).await.unwrap().sets.len(),
        1,
        "the known one stays unacknowledged"
    );
}

#[tokio::test]
async fn sets_are_signed_once_and_a_throttled_signer_delays_without_losing() {
    let store = Arc::new(MemoryEventStore::default());
    let signer = Arc::new(CountingSigner {
        fail_after: Some(2),
        ..Default::default()
    });
    let feed = service(&store, signer.clone());
    let app = receiver("app", "t");
    feed.next(&app, 10, T0).await.unwrap();
    for (i, record) in ["r1", "r2", "r3"].iter().enumerate() {
        put(&store, "t", record, T0 + 1 + i as i64).await;
    }
    let partial = feed.next(&app, 10, T0 + 10).await.unwrap();
    assert_eq!((partial.sets.len(), partial.more_available), (2, true));
    let again = feed.next(&app, 2, T0 + 20).await.unwrap();
    assert_eq!(again.sets, partial.sets, "cached SETs are served without signing again");
    let err = feed.next(&app, 10, T0 + 30).await;
    assert!(err.is_ok(), "two cached, the third waits: {err:?}");
    let stored: Vec<StoredEvent> = store.events("t", &[event("t", "r1").change_id]).await.unwrap();
    assert_eq!(stored[0].sets.len(), 1);
}

#[tokio::test]
async fn max_events_limits_and_more_available_tells() {
    let store = Arc::new(MemoryEventStore::default());
    let feed = service(&store, Arc::new(CountingSigner::default()));
    let app = receiver("app", "t");
    feed.next(&app, 10, T0).await.unwrap();
    for i in 0..5 {
        put(&store, "t", &format!("r{i}"), T0 + 1 + i).await;
    }
    let one = feed.next(&app, 1, T0 + 10).await.unwrap();
    assert_eq!((one.sets.len(), one.more_available), (1, true));
    let none = feed.next(&app, 0, T0 + 10).await.unwrap();
    assert_eq!((none.sets.len(), none.more_available), (0, true));
}

#[tokio::test]
async fn a_short_poll_returns_at_once_and_a_long_poll_waits_for_an_event() {
    let store = Arc::new(MemoryEventStore::default());
    let feed = Arc::new(service(&store, Arc::new(CountingSigner::default())));
    let app = receiver("app", "t");
    let clock = || T0;
    let short = PollRequest::parse(br#"{"returnImmediately": true}"#).unwrap();
    let empty = feed
        .poll(&app, &short, &clock, Duration::from_secs(5), Duration::from_millis(10))
        .await;
    assert!(empty.unwrap().sets.is_empty());
    let writer = store.clone();
    let producer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        put(&writer, "t", "r1", T0 + 1).await;
    });
    let long = PollRequest::parse(b"{}").unwrap();
    let response = feed
        .poll(&app, &long, &clock, Duration::from_secs(5), Duration::from_millis(10))
        .await
        .unwrap();
    producer.await.unwrap();
    assert_eq!(response.sets.len(), 1);
}

#[test]
fn the_plan_stops_the_watermark_at_the_first_gap() {
    let id = |s: &str| crate::change::change_id(s);
    let entry = |stamp: i64, s: &str| FeedEntry {
        key: FeedKey::new(stamp, 0, &id(s)),
        change_id: id(s),
    };
    let window = Window {
        entries: vec![entry(1, "a"), entry(2, "b"), entry(3, "c"), entry(40, "d")],
        truncated: false,
    };
    let state = ReceiverState {
        tenant: "t".into(),
        watermark: FeedKey::floor(0),
        acked: [entry(1, "a").key, entry(3, "c").key, entry(40, "d").key]
            .into_iter()
            .collect(),
    };
    let plan = plan(&state, &window, 10, &FeedKey::floor(30));
    assert_eq!(plan.advance_to, Some(entry(1, "a").key));
    assert_eq!(plan.forget, vec![entry(1, "a").key]);
    assert_eq!(plan.offer, vec![entry(2, "b")]);
    assert!(!plan.more_available);
}
