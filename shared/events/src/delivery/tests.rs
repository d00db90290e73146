use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;
use wif_auth::event_settings::EventDataLevel;

use super::*;
use crate::memory::MemoryEventStore;
use crate::ports::{Append, EventStore, FeedKey};
use crate::set::Issuer;
use crate::testing::{PlainSigner, user_created};

/// Answers from a script (then 202); records what was pushed where.
#[derive(Default)]
struct ScriptedEndpoint {
    answers: Mutex<VecDeque<PushOutcome>>,
    received: Mutex<Vec<(String, String)>>,
}

impl ScriptedEndpoint {
    fn answering(answers: Vec<PushOutcome>) -> Arc<Self> {
        Arc::new(Self {
            answers: Mutex::new(answers.into()),
            ..Default::default()
        })
    }

    fn received(&self) -> Vec<(String, String)> {
        self.received.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl SetTransport for ScriptedEndpoint {
    async fn push(&self, url: &str, set: &str) -> PushOutcome {
        let answer = self
            .answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(PushOutcome::Delivered);
        if answer == PushOutcome::Delivered {
            self.received.lock().unwrap().push((url.to_owned(), set.to_owned()));
        }
        answer
    }
}

const NOW: i64 = 1_767_225_600_000;

async fn put(store: &MemoryEventStore, tenant: &str, record: &str, stamp_ms: i64) {
    let event = user_created(tenant, record);
    let feed_key = FeedKey::new(stamp_ms, 0, &event.change_id);
    let append = Append {
        event,
        feed_key,
        replaces: None,
    };
    store.append(&[append]).await.unwrap();
}

fn delivery(store: &Arc<MemoryEventStore>, endpoint: Arc<ScriptedEndpoint>) -> PushDelivery {
    PushDelivery {
        feed: Arc::new(FeedService {
            store: store.clone(),
            signer: Arc::new(PlainSigner),
            issuer: Issuer("https://events.example".into()),
            settle: Duration::from_secs(15),
        }),
        states: store.clone(),
        transport: endpoint,
        schedule: RetrySchedule {
            first: Duration::from_secs(5),
            max: Duration::from_secs(60),
            attempts: 3,
        },
    }
}

fn target(client: &str, tenant: &str) -> PushTarget {
    PushTarget {
        receiver: Receiver {
            client_id: client.into(),
            tenant: tenant.into(),
            level: EventDataLevel::Ids,
        },
        url: format!("https://{client}.example/events"),
    }
}

#[tokio::test]
async fn pending_sets_are_pushed_in_feed_order_and_settled() {
    let store = Arc::new(MemoryEventStore::default());
    for (i, record) in ["u1", "u2", "u3"].iter().enumerate() {
        put(&store, "t1", record, NOW + i as i64).await;
    }
    let endpoint = ScriptedEndpoint::answering(vec![]);
    let push = delivery(&store, endpoint.clone());
    let outcome = push.round(&target("app", "t1"), &|| NOW + 10).await.unwrap();
    assert_eq!((outcome.delivered, outcome.failure), (3, None));
    let sets: Vec<String> = endpoint.received().into_iter().map(|(_, set)| set).collect();
    assert_eq!(sets.len(), 3);
    assert!(
        sets[0].contains("u1") && sets[1].contains("u2") && sets[2].contains("u3"),
        "{sets:?}"
    );
    let again = push.round(&target("app", "t1"), &|| NOW + 20).await.unwrap();
    assert_eq!(again.delivered, 0, "acknowledged SETs are not pushed twice");
    let state = store.push_state("app").await.unwrap().unwrap();
    assert_eq!((state.delivered, state.status()), (3, PushStatus::Active));
}

#[tokio::test]
async fn a_failure_keeps_order_and_backs_off_then_dead_letters() {
    let store = Arc::new(MemoryEventStore::default());
    put(&store, "t1", "u1", NOW).await;
    put(&store, "t1", "u2", NOW + 1).await;
    let endpoint = ScriptedEndpoint::answering(vec![
        PushOutcome::Delivered,
        PushOutcome::Retry("status 503".into()),
        PushOutcome::Retry("timeout".into()),
        PushOutcome::Retry("redirect (302)".into()),
    ]);
    let push = delivery(&store, endpoint.clone());
    let target = target("app", "t1");
    let first = push.round(&target, &|| NOW + 10).await.unwrap();
    assert_eq!((first.delivered, first.failure.as_deref()), (1, Some("status 503")));
    let state = store.push_state("app").await.unwrap().unwrap();
    assert_eq!(state.status(), PushStatus::Retrying);
    assert_eq!(state.next_attempt_ms, NOW + 10 + 5_000, "first backoff");
    assert!(
        push.round(&target, &|| NOW + 4_000).await.unwrap().skipped,
        "not due yet"
    );

    let second = push.round(&target, &|| NOW + 5_010).await.unwrap();
    assert_eq!(second.failure.as_deref(), Some("timeout"));
    assert_eq!(
        store.push_state("app").await.unwrap().unwrap().next_attempt_ms,
        NOW + 5_010 + 10_000,
        "the backoff doubles"
    );
    let third = push.round(&target, &|| NOW + 15_010).await.unwrap();
    assert!(third.dead_lettered, "the third failure in a row exhausts the schedule");
    let state = store.push_state("app").await.unwrap().unwrap();
    assert_eq!(state.status(), PushStatus::DeadLetter);
    assert_eq!(state.last_error.as_deref(), Some("redirect (302)"));
    assert!(
        push.round(&target, &|| NOW + 999_999).await.unwrap().skipped,
        "dead letter: no more attempts"
    );

    let mut state = state;
    state.redeliver();
    store.save_push_state("app", "t1", &state).await.unwrap();
    let redelivered = push.round(&target, &|| NOW + 1_000_000).await.unwrap();
    assert_eq!(
        redelivered.delivered, 1,
        "the event that failed is still there, and delivered after redelivery"
    );
    assert!(endpoint.received()[1].1.contains("u2"));
    assert_eq!(
        store.push_state("app").await.unwrap().unwrap().status(),
        PushStatus::Active
    );
}

#[tokio::test]
async fn a_refused_set_is_settled_and_delivery_goes_on() {
    let store = Arc::new(MemoryEventStore::default());
    put(&store, "t1", "u1", NOW).await;
    put(&store, "t1", "u2", NOW + 1).await;
    let endpoint = ScriptedEndpoint::answering(vec![PushOutcome::Refused {
        err: "invalid_key".into(),
        description: "revoked".into(),
    }]);
    let push = delivery(&store, endpoint.clone());
    let outcome = push.round(&target("app", "t1"), &|| NOW + 10).await.unwrap();
    assert_eq!((outcome.refused, outcome.delivered, outcome.failure), (1, 1, None));
    assert_eq!(push.round(&target("app", "t1"), &|| NOW + 20).await.unwrap().refused, 0);
}

#[tokio::test]
async fn one_tenants_failing_endpoint_does_not_touch_another_tenants_delivery() {
    let store = Arc::new(MemoryEventStore::default());
    put(&store, "t1", "a1", NOW).await;
    put(&store, "t2", "b1", NOW).await;
    let endpoint = ScriptedEndpoint::answering(vec![PushOutcome::Retry("status 500".into())]);
    let push = delivery(&store, endpoint.clone());
    assert!(
        push.round(&target("a", "t1"), &|| NOW + 10)
            .await
            .unwrap()
            .failure
            .is_some()
    );
    let other = push.round(&target("b", "t2"), &|| NOW + 10).await.unwrap();
    assert_eq!(other.delivered, 1);
    assert_eq!(endpoint.received()[0].0, "https://b.example/events");
    assert!(endpoint.received()[0].1.contains("b1"), "only its own tenant's event");
}

#[test]
fn states_report_their_status() {
    let mut state = PushState::default();
    assert_eq!(state.status(), PushStatus::Active);
    assert!(state.due(0));
    state.failed("x".repeat(1000), &RetrySchedule::default(), 10);
    assert_eq!(state.status(), PushStatus::Retrying);
    assert_eq!(state.last_error.as_ref().map(String::len), Some(ERROR_CHARS));
    assert!(!state.due(11));
    assert_eq!(serde_json::to_value(PushStatus::DeadLetter).unwrap(), "dead_letter");
}

#[test]
fn only_enabled_events_read_registrations_with_an_endpoint_are_pushed_to() {
    use wif_auth::event_settings::EventSettings;
    use wif_auth::scope::Scope;
    let mut registration: wif_auth::registration::Registration = serde_json::from_value(json!({
        "client_id": "app", "tenant_id": "t1", "allowed_scopes": ["events.read"], "token_lifetime_seconds": 3600,
        "allowed_algorithms": ["RS256"], "enabled": true, "version": 1, "created_at": 1, "updated_at": 1,
        "events": {"level": "full", "push_url": "https://app.example/events"}
    }))
    .unwrap();
    let target = PushTarget::of(&registration).unwrap();
    assert_eq!(target.url, "https://app.example/events");
    assert_eq!(
        (target.receiver.tenant.as_str(), target.receiver.level),
        ("t1", EventDataLevel::Full)
    );
    registration.enabled = false;
    assert_eq!(PushTarget::of(&registration), None);
    registration.enabled = true;
    registration.allowed_scopes = vec![Scope::Scim];
    assert_eq!(PushTarget::of(&registration), None, "events.read is required");
    registration.allowed_scopes = vec![Scope::EventsRead];
    registration.events = Some(EventSettings::default());
    assert_eq!(PushTarget::of(&registration), None, "no endpoint: poll only");
}

#[tokio::test]
async fn the_backoff_counts_from_the_failed_push_not_from_the_start_of_the_round() {
    let store = Arc::new(MemoryEventStore::default());
    put(&store, "t1", "u1", NOW).await;
    put(&store, "t1", "u2", NOW + 1).await;
    let endpoint = ScriptedEndpoint::answering(vec![PushOutcome::Delivered, PushOutcome::Retry("status 503".into())]);
    let push = delivery(&store, endpoint);
    // Every reading of the clock is 700 ms after the previous one: the round is slow (signing, a slow endpoint).
    let now = std::sync::atomic::AtomicI64::new(NOW + 10);
    let clock = || now.fetch_add(700, std::sync::atomic::Ordering::SeqCst);
    let outcome = push.round(&target("app", "t1"), &clock).await.unwrap();
    assert_eq!(outcome.failure.as_deref(), Some("status 503"));
    let state = store.push_state("app").await.unwrap().unwrap();
    assert_eq!(
        state.next_attempt_ms,
        NOW + 10 + 700 + 5_000,
        "5 s after the failure was seen"
    );
}
