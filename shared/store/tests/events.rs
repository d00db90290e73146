//! The Events table through the real SDK on moto: ingestion, polling, acknowledgement, re-offering, tenants.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use wif_events::EventDataLevel;
use wif_events::change::{Change, ChangeEvent, DirectoryChange, RecordOrigin, ResourceType};
use wif_events::feed::{FeedService, Receiver, SetSigner, SigningError};
use wif_events::ingest::Ingest;
use wif_events::poll::PollRequest;
use wif_events::ports::{EventStore, FeedKey};
use wif_events::set::{Issuer, jti};
use wif_events::testing::user_state;
use wif_store::TableNames;
use wif_store::events::EventRepository;
use wif_testkit::tables::create_tables;

struct PlainSigner;

#[async_trait::async_trait]
impl SetSigner for PlainSigner {
    async fn sign(&self, claims: &Value) -> Result<String, SigningError> {
        Ok(format!("h.{claims}.s"))
    }
}

async fn repository() -> Arc<EventRepository> {
    let client = wif_testkit::dynamodb_client().await;
    let names = TableNames::with_prefix(&wif_testkit::unique_prefix());
    create_tables(&client, &names).await.expect("create tables");
    Arc::new(EventRepository::new(
        client,
        &names.events,
        Duration::from_secs(7 * 86_400),
    ))
}

fn created(tenant: &str, record: &str) -> ChangeEvent {
    ChangeEvent::of(
        &RecordOrigin {
            record_id: record.into(),
            committed_at_ms: 1,
            sequence: "100".into(),
        },
        &DirectoryChange {
            tenant: tenant.into(),
            change: Change::Created(ResourceType::User, user_state(record, 1, json!({"userName": record}))),
        },
    )
}

fn receiver(client: &str, tenant: &str) -> Receiver {
    Receiver {
        client_id: client.into(),
        tenant: tenant.into(),
        level: EventDataLevel::Notice,
    }
}

const T0: i64 = 1_767_225_600_000;
const SETTLE: Duration = Duration::from_secs(15);

#[tokio::test]
async fn events_flow_from_ingestion_to_acknowledgement_on_dynamodb() {
    let repo = repository().await;
    let feed = FeedService {
        store: repo.clone(),
        signer: Arc::new(PlainSigner),
        issuer: Issuer("https://events.example".into()),
        settle: SETTLE,
    };
    let ingest = Ingest {
        store: repo.clone(),
        settle: SETTLE,
    };
    let (app, other) = (receiver("app", "contoso"), receiver("spy", "fabrikam"));
    feed.next(&app, 10, T0).await.unwrap();
    feed.next(&other, 10, T0).await.unwrap();

    let batch: Vec<ChangeEvent> = (0..30).map(|i| created("contoso", &format!("rec-{i}"))).collect();
    let clock = || T0 + 1_000;
    ingest.append(&batch, &clock).await.unwrap();
    ingest.append(&batch, &clock).await.unwrap();
    let window = repo.window("contoso", &FeedKey::floor(0), 100).await.unwrap();
    assert_eq!(window.entries.len(), 30, "a redelivered batch adds no entry");
    let order: Vec<&str> = window.entries.iter().map(|e| e.change_id.as_str()).collect();
    let expected: Vec<&str> = batch.iter().map(|e| e.change_id.as_str()).collect();
    assert_eq!(order, expected, "the feed keeps the batch order");

    assert!(
        feed.next(&other, 10, T0 + 2_000).await.unwrap().sets.is_empty(),
        "tenants are apart"
    );
    let first = feed.next(&app, 20, T0 + 2_000).await.unwrap();
    assert_eq!((first.sets.len(), first.more_available), (20, true));
    let again = feed.next(&app, 20, T0 + 2_500).await.unwrap();
    assert_eq!(
        again.sets, first.sets,
        "unacknowledged SETs are offered again, the same bytes"
    );

    let ack = json!({"ack": first.sets.keys().collect::<Vec<_>>()});
    let request = PollRequest::parse(ack.to_string().as_bytes()).unwrap();
    assert!(
        feed.acknowledge(&other, &request.acknowledgements, T0 + 3_000)
            .await
            .is_err(),
        "foreign jti"
    );
    feed.acknowledge(&app, &request.acknowledgements, T0 + 3_000)
        .await
        .unwrap();
    let rest = feed.next(&app, 20, T0 + 3_000).await.unwrap();
    assert_eq!((rest.sets.len(), rest.more_available), (10, false));
    assert!(
        rest.sets
            .contains_key(&jti(&batch[29].change_id, EventDataLevel::Notice))
    );

    let ack = json!({"ack": rest.sets.keys().collect::<Vec<_>>()});
    let request = PollRequest::parse(ack.to_string().as_bytes()).unwrap();
    feed.acknowledge(&app, &request.acknowledgements, T0 + 4_000)
        .await
        .unwrap();
    assert!(feed.next(&app, 20, T0 + 60_000).await.unwrap().sets.is_empty());
    let state = repo.receiver("app").await.unwrap().unwrap();
    assert!(state.acked.is_empty(), "settled acknowledgements are forgotten");
    assert_eq!(state.watermark, window.entries[29].key);
}

#[tokio::test]
async fn push_states_are_kept_per_registration() {
    use wif_events::delivery::{PushState, PushStateStore, PushStatus};
    let repo = repository().await;
    assert_eq!(repo.push_state("app").await.unwrap(), None);
    let mut state = PushState {
        failures: 12,
        last_error: Some("status 503".into()),
        dead_lettered_at_ms: Some(T0),
        ..Default::default()
    };
    repo.save_push_state("app", "t1", &state).await.unwrap();
    let stored = repo.push_state("app").await.unwrap().unwrap();
    assert_eq!((stored.status(), &stored), (PushStatus::DeadLetter, &state));
    state.redeliver();
    repo.save_push_state("app", "t1", &state).await.unwrap();
    assert_eq!(
        repo.push_state("app").await.unwrap().unwrap().status(),
        PushStatus::Active
    );
    assert_eq!(
        repo.receiver("app").await.unwrap(),
        None,
        "the receiver state is another item"
    );
}
