use std::sync::Mutex;

use serde_json::json;
use wif_auth::url_policy::PushUrlPolicy;
use wif_events::feed::FeedService;
use wif_events::memory::MemoryEventStore;
use wif_events::ports::{Append, EventStore, FeedKey};
use wif_events::push::RetrySchedule;
use wif_events::set::Issuer;
use wif_events::testing::{PlainSigner, user_created};
use wif_jwks_http::FetchSettings;

use super::*;

/// `down.example` answers 503 after a pause; every other endpoint accepts.
#[derive(Default)]
struct Endpoints {
    accepted: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl SetTransport for Endpoints {
    async fn push(&self, url: &str, _set: &str) -> PushOutcome {
        if url.contains("down.example") {
            tokio::time::sleep(Duration::from_millis(200)).await;
            return classify(503, b"");
        }
        self.accepted.lock().unwrap().push(url.to_owned());
        PushOutcome::Delivered
    }
}

struct Listed(Vec<Registration>);

#[async_trait::async_trait]
impl PushRegistrations for Listed {
    async fn with_push_endpoints(&self) -> Result<Vec<Registration>, String> {
        Ok(self.0.clone())
    }
}

fn registration(client: &str, tenant: &str, url: &str) -> Registration {
    serde_json::from_value(json!({
        "client_id": client, "tenant_id": tenant, "allowed_scopes": ["events.read"], "token_lifetime_seconds": 3600,
        "allowed_algorithms": ["RS256"], "enabled": true, "version": 1, "created_at": 1, "updated_at": 1,
        "events": {"level": "ids", "push_url": url}
    }))
    .unwrap()
}

async fn put(store: &MemoryEventStore, tenant: &str, record: &str) {
    let event = user_created(tenant, record);
    let feed_key = FeedKey::new(wif_common::clock::unix_millis(), 0, &event.change_id);
    let append = Append {
        event,
        feed_key,
        replaces: None,
    };
    store.append(&[append]).await.unwrap();
}

fn app(store: &Arc<MemoryEventStore>, endpoints: Arc<Endpoints>, registrations: Vec<Registration>) -> PushApp {
    PushApp {
        delivery: PushDelivery {
            feed: Arc::new(FeedService {
                store: store.clone(),
                signer: Arc::new(PlainSigner),
                issuer: Issuer("https://events.example".into()),
                settle: Duration::from_secs(15),
            }),
            states: store.clone(),
            transport: endpoints,
            schedule: RetrySchedule {
                first: Duration::from_secs(60),
                max: Duration::from_secs(60),
                attempts: 2,
            },
        },
        registrations: Arc::new(Listed(registrations)),
        concurrency: 4,
        sweep_for: Duration::ZERO,
        interval: Duration::from_millis(100),
        clock_ms: wif_common::clock::unix_millis,
    }
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_later_while_other_tenants_are_delivered() {
    let store = Arc::new(MemoryEventStore::default());
    put(&store, "t1", "a1").await;
    put(&store, "t2", "b1").await;
    let endpoints = Arc::new(Endpoints::default());
    let registrations = vec![
        registration("down", "t1", "https://down.example/events"),
        registration("up", "t2", "https://up.example/events"),
        registration("quiet", "t3", "https://quiet.example/events"),
    ];
    let app = app(&store, endpoints.clone(), registrations);
    let summary = handle(&app).await.unwrap();
    assert_eq!(
        summary,
        Summary {
            sweeps: 1,
            targets: 3,
            delivered: 1,
            failed_rounds: 1,
            ..Default::default()
        }
    );
    assert_eq!(*endpoints.accepted.lock().unwrap(), vec!["https://up.example/events"]);
    let again = handle(&app).await.unwrap();
    assert_eq!(
        (again.delivered, again.failed_rounds),
        (0, 0),
        "the failed endpoint waits for its backoff"
    );
}

#[tokio::test]
async fn an_invocation_keeps_sweeping_for_its_configured_time() {
    let store = Arc::new(MemoryEventStore::default());
    let mut app = app(&store, Arc::new(Endpoints::default()), vec![]);
    app.sweep_for = Duration::from_millis(350);
    let summary = handle(&app).await.unwrap();
    assert!((3..=4).contains(&summary.sweeps), "{summary:?}");
}

#[tokio::test]
async fn transport_failures_are_retried_like_server_errors() {
    let poster = HttpSetPoster::new(PushUrlPolicy::new(false), FetchSettings::default());
    let outcome = HttpTransport(poster).push("http://127.0.0.1:9/events", "a.b.c").await;
    assert!(matches!(outcome, PushOutcome::Retry(reason) if reason.contains("refused")));
}
