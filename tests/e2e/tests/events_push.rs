//! RFC 8935 push delivery end to end through the local stack: SCIM writes → stream → events function → feed →
//! events-push (scheduled) → a loopback HTTP receiver in this test. Loopback push URLs are accepted only because
//! the local stack runs with `WIF_LOCAL_DEVELOPMENT=true` (refused inside AWS Lambda).
//!
//! The local stack's schedule: first retry after 1 s, doubling up to 4 s, dead letter after the 4th failed round
//! (`WIF_EVENTS_PUSH_*` in infra/local/start.sh).

mod events_support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e_tests::{Customer, LocalStack};
use entra_sim::TokenVersion;
use events_support::{admin, jwks, patch_active, scim, verify};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const WAIT: Duration = Duration::from_secs(60);

/// One push the receiver got.
#[derive(Debug, Clone)]
struct Received {
    at: Instant,
    content_type: String,
    set: String,
    answered: u16,
}

/// A SET Recipient on 127.0.0.1: answers each push with the next scripted status (202 once the script is empty).
struct PushReceiver {
    url: String,
    script: Arc<Mutex<VecDeque<u16>>>,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PushReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_request(socket: &mut TcpStream) -> Option<(String, String)> {
    let mut data = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let n = socket.read(&mut buffer).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buffer[..n]);
        let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
        let header = |name: &str| {
            head.lines()
                .find_map(|line| line.strip_prefix(&format!("{name}:")).map(|v| v.trim().to_owned()))
                .unwrap_or_default()
        };
        let length: usize = header("content-length").parse().unwrap_or(0);
        if data.len() >= end + 4 + length {
            let body = String::from_utf8_lossy(&data[end + 4..end + 4 + length]).into_owned();
            return Some((header("content-type"), body));
        }
    }
}

impl PushReceiver {
    async fn start(script: &[u16]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<u16>>()));
        let received = Arc::new(Mutex::new(Vec::new()));
        let task = {
            let (script, received) = (script.clone(), received.clone());
            tokio::spawn(async move {
                while let Ok((mut socket, _)) = listener.accept().await {
                    let Some((content_type, set)) = read_request(&mut socket).await else {
                        continue;
                    };
                    let status = script.lock().unwrap().pop_front().unwrap_or(202);
                    received.lock().unwrap().push(Received {
                        at: Instant::now(),
                        content_type,
                        set,
                        answered: status,
                    });
                    let reason = if status == 202 {
                        "Accepted"
                    } else {
                        "Service Unavailable"
                    };
                    let answer =
                        format!("HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    let _ = socket.write_all(answer.as_bytes()).await;
                    let _ = socket.shutdown().await;
                }
            })
        };
        Self {
            url,
            script,
            received,
            task,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn answer_with(&self, statuses: &[u16]) {
        *self.script.lock().unwrap() = statuses.iter().copied().collect();
    }

    /// Waits until `done` holds for what was received.
    async fn wait_for(&self, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + WAIT;
        loop {
            let received = self.received();
            if done(&received) || Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn user(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "active": true})
}

/// Registers the ISV's application for the customer's tenant with a push endpoint; returns its client id.
async fn register_push(stack: &LocalStack, tenant: &str, url: &str) -> String {
    let body = json!({"tenant_id": tenant, "wif_enabled": false, "secrets_enabled": true,
                      "scopes": ["events.read"], "events": {"level": "notice", "push_url": url},
                      "display_name": "ISV application (push e2e)"});
    let (status, registration) = admin(stack, Method::POST, "", Some(body)).await;
    assert_eq!(status, 201, "{registration}");
    assert_eq!(registration["events"]["push_url"], url);
    registration["client_id"].as_str().unwrap().to_owned()
}

async fn push_status(stack: &LocalStack, client_id: &str) -> Value {
    let (status, body) = admin(stack, Method::GET, &format!("/{client_id}/push"), None).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The deactivation of a new user, written by Entra; returns the user's id.
async fn create_and_disable(stack: &LocalStack, customer: &Customer, name: &str) -> String {
    let token = customer.access_token(stack).await;
    let (status, created) = scim(stack, &token, Method::POST, "/Users", Some(user(name))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, _) = scim(
        stack,
        &token,
        Method::PATCH,
        &format!("/Users/{id}"),
        Some(patch_active(false)),
    )
    .await;
    assert_eq!(status, 200);
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_pushed_signed_in_order_and_retried_with_backoff_after_a_5xx() {
    let Some(stack) = LocalStack::get() else { return };
    let customer = Customer::register(&stack, TokenVersion::V2).await;
    let receiver = PushReceiver::start(&[503, 503]).await;
    let client_id = register_push(&stack, &customer.tenant_id, &receiver.url).await;
    let id = create_and_disable(&stack, &customer, "pushed@contoso.com").await;

    let received = receiver
        .wait_for(|r| r.iter().filter(|p| p.answered == 202).count() >= 2)
        .await;
    let accepted: Vec<&Received> = received.iter().filter(|p| p.answered == 202).collect();
    assert_eq!(accepted.len(), 2, "{received:?}");
    let keys = jwks(&format!("{}/events-feed/events/jwks.json", stack.lambda_base)).await;
    let claims: Vec<Value> = accepted.iter().map(|p| verify(&keys, &p.set)).collect();
    let uri = format!("/Users/{id}");
    assert!(
        claims
            .iter()
            .all(|c| c["sub_id"]["uri"] == uri.as_str() && c["tenant"] == customer.tenant_id.as_str())
    );
    assert!(
        claims[0]["events"]
            .get("urn:ietf:params:scim:event:prov:create:notice")
            .is_some()
    );
    assert!(
        claims[1]["events"]
            .get("urn:ietf:params:scim:event:prov:deactivate")
            .is_some()
    );
    assert!(received.iter().all(|p| p.content_type == "application/secevent+jwt"));

    // 503, then 503 again after ≥ 1 s, then 202 after ≥ 2 s more: the create waited, nothing overtook it.
    let (first, second, third) = (&received[0], &received[1], &received[2]);
    assert_eq!((first.answered, second.answered, third.answered), (503, 503, 202));
    assert_eq!(first.set, second.set, "the same SET is retried");
    assert_eq!(second.set, third.set);
    // The backoff counts from the failed push (which the receiver saw arrive before its answer), and a retry waits
    // for the next sweep (every 500 ms locally); 100 ms of slack for the two processes' clocks.
    let (gap1, gap2) = (second.at - first.at, third.at - second.at);
    assert!(gap1 >= Duration::from_millis(900), "first backoff {gap1:?}");
    assert!(gap2 >= Duration::from_millis(1_900), "second backoff {gap2:?}");
    assert!(gap2 > gap1, "the backoff grows: {gap1:?} then {gap2:?}");
    println!("push retries: {gap1:?} then {gap2:?} (schedule 1 s, 2 s)");

    // The round records its outcome after its last push.
    let deadline = Instant::now() + WAIT;
    let mut status = push_status(&stack, &client_id).await;
    while status["delivered"] != 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = push_status(&stack, &client_id).await;
    }
    assert_eq!(
        (status["status"].as_str(), status["delivered"].as_u64()),
        (Some("active"), Some(2)),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_that_keeps_failing_is_dead_lettered_visible_in_the_admin_api_and_redelivered() {
    let Some(stack) = LocalStack::get() else { return };
    let customer = Customer::register(&stack, TokenVersion::V2).await;
    let receiver = PushReceiver::start(&[503; 100]).await;
    let client_id = register_push(&stack, &customer.tenant_id, &receiver.url).await;
    let other = Customer::register(&stack, TokenVersion::V2).await;
    let healthy = PushReceiver::start(&[]).await;
    register_push(&stack, &other.tenant_id, &healthy.url).await;
    create_and_disable(&stack, &customer, "dead@contoso.com").await;

    let deadline = Instant::now() + WAIT;
    let mut status = push_status(&stack, &client_id).await;
    while status["status"] != "dead_letter" && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        status = push_status(&stack, &client_id).await;
    }
    assert_eq!(status["status"], "dead_letter", "{status}");
    assert_eq!(status["failures"], 4);
    assert_eq!(status["last_error"], "status 503");
    assert!(status["dead_lettered_at"].as_i64().is_some(), "{status}");
    let attempts = receiver.received().len();
    assert_eq!(attempts, 4, "one push per round, four rounds");

    // Another tenant's endpoint is served all along.
    create_and_disable(&stack, &other, "fine@fabrikam.com").await;
    let served = healthy.wait_for(|r| r.len() >= 2).await;
    assert_eq!(served.len(), 2);

    // A dead letter stays put...
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), attempts, "no attempt while dead-lettered");
    // ...until redelivery is asked for; the events waited in the feed.
    receiver.answer_with(&[]);
    let (code, redelivered) = admin(&stack, Method::POST, &format!("/{client_id}/push/redeliver"), None).await;
    assert_eq!(code, 200, "{redelivered}");
    assert_eq!(redelivered["status"], "active");
    let received = receiver
        .wait_for(|r| r.iter().filter(|p| p.answered == 202).count() >= 2)
        .await;
    assert_eq!(received.iter().filter(|p| p.answered == 202).count(), 2, "{received:?}");
    let status = push_status(&stack, &client_id).await;
    assert_eq!(
        (status["status"].as_str(), status["failures"].as_u64()),
        (Some("active"), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_urls_are_checked_like_jwks_urls() {
    let Some(stack) = LocalStack::get() else { return };
    let customer = Customer::register(&stack, TokenVersion::V2).await;
    for url in [
        "http://10.0.0.5/events",
        "https://169.254.169.254/latest",
        "ftp://app.example/events",
    ] {
        let body = json!({"tenant_id": customer.tenant_id, "wif_enabled": false, "secrets_enabled": true,
                          "scopes": ["events.read"], "events": {"push_url": url}});
        let (status, answer) = admin(&stack, Method::POST, "", Some(body)).await;
        assert_eq!(status, 400, "{url}: {answer}");
        assert!(
            answer["error_description"]
                .as_str()
                .unwrap_or_default()
                .contains("events.push_url"),
            "{answer}"
        );
    }
    let (status, answer) = admin(&stack, Method::GET, "/no-such-client/push", None).await;
    assert_eq!(status, 404, "{answer}");
}
