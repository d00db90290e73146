//! How many change events one `events` invocation turns out per second, and what a batch costs in DynamoDB calls:
//! the real handler over moto (through the real SDK, with the call counter), batches of 1, 10 and 100 stream
//! records, and the same batches over the in-memory store (handler CPU only). Prints a table; run with
//! `cargo bench -p events --bench stream_batch`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::dynamodb::Event;
use events::{EventsApp, handle};
use serde_json::json;
use wif_events::ingest::Ingest;
use wif_events::memory::MemoryEventStore;
use wif_events::pipeline::Pipeline;
use wif_events::set::Issuer;
use wif_store::CallCounter;
use wif_store::events::EventRepository;

fn batch(size: usize, round: usize) -> Event {
    let records: Vec<_> = (0..size)
        .map(|i| {
            let id = format!("u{round}-{i}");
            let image = json!({
                "pk": {"S": format!("T#contoso#U#{id}")}, "sk": {"S": "USER"}, "type": {"S": "User"},
                "id": {"S": id}, "version": {"N": "2"}, "created": {"S": "2026-01-01T00:00:00Z"},
                "last_modified": {"S": "2026-01-01T00:00:00Z"}, "user_name": {"S": format!("{id}@contoso.com")},
                "doc": {"S": json!({"userName": format!("{id}@contoso.com"), "active": true,
                                    "name": {"givenName": "A", "familyName": "B"},
                                    "emails": [{"type": "work", "value": format!("{id}@contoso.com"), "primary": true}]})
                        .to_string()},
                "last_op": {"S": "create"}
            });
            json!({"eventID": format!("rec-{round}-{i}"), "eventName": "INSERT", "eventSource": "aws:dynamodb",
                   "awsRegion": "us-east-1",
                   "dynamodb": {"ApproximateCreationDateTime": 1_767_225_600, "NewImage": image,
                                "Keys": {}, "SequenceNumber": format!("{}", 100 + i), "SizeBytes": 500,
                                "StreamViewType": "NEW_AND_OLD_IMAGES"}})
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("a stream event")
}

fn app(store: Arc<dyn wif_events::ports::EventStore>) -> EventsApp {
    EventsApp {
        pipeline: Pipeline {
            ingest: Ingest {
                store,
                settle: Duration::from_secs(15),
            },
            bus: None,
            issuer: Issuer("https://events.example".into()),
        },
        clock_ms: wif_common::clock::unix_millis,
    }
}

async fn measure(app: &EventsApp, size: usize, rounds: usize) -> (f64, Duration) {
    let started = Instant::now();
    for round in 0..rounds {
        let answer = handle(app, batch(size, round)).await;
        assert!(answer.batch_item_failures.is_empty());
    }
    let elapsed = started.elapsed();
    ((size * rounds) as f64 / elapsed.as_secs_f64(), elapsed / rounds as u32)
}

#[tokio::main]
async fn main() {
    let counter = CallCounter::new();
    let config = wif_testkit::sdk_config(wif_testkit::shared_moto().endpoint()).await;
    let client = counter.client(&config);
    let names = wif_store::TableNames::with_prefix(&wif_testkit::unique_prefix());
    wif_testkit::tables::create_tables(&client, &names)
        .await
        .expect("tables");
    let moto = app(Arc::new(EventRepository::new(
        client,
        &names.events,
        Duration::from_secs(7 * 86_400),
    )));
    let memory = app(Arc::new(MemoryEventStore::default()));
    println!("events per stream batch (user creates of ~400 bytes, one invocation at a time)");
    println!(
        "{:>6} | {:>22} | {:>18} | {:>26}",
        "batch", "DynamoDB calls / batch", "moto: events/s", "in-memory store: events/s"
    );
    for (size, rounds) in [(1, 50), (10, 20), (100, 5)] {
        counter.reset();
        let (per_second, per_batch) = measure(&moto, size, rounds).await;
        let calls = counter.total() as f64 / rounds as f64;
        let (cpu_per_second, _) = measure(&memory, size, rounds * 4).await;
        println!(
            "{size:>6} | {calls:>22.1} | {per_second:>9.0} ({:>4.0} ms) | {cpu_per_second:>26.0}",
            per_batch.as_secs_f64() * 1000.0
        );
    }
    println!("(moto answers each DynamoDB call in ~5 ms on this machine; in AWS a BatchWriteItem takes ~10-20 ms)");
}
