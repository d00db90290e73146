//! The fetcher against real HTTP servers on 127.0.0.1, started and stopped by each test.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use wif_auth::jwks_cache::{JwksCache, JwksCacheSettings, KeyLookupError};
use wif_auth::ports::{JwksFetchError, JwksFetchOutcome, JwksFetcher};
use wif_auth::testing::{InMemoryKeyStore, TestKey, jwks_document};
use wif_auth::url_policy::JwksUrlPolicy;
use wif_common::FixedClock;
use wif_jwks_http::{FetchSettings, HttpJwksFetcher};

/// What the test server does with each request.
#[derive(Clone)]
enum Reply {
    /// Write these bytes and close.
    Bytes(Vec<u8>),
    /// Wait, then write.
    After(Duration, Vec<u8>),
    /// Headers without a length, then body chunks forever (until the client goes away).
    Endless,
}

struct Server {
    base: String,
    hits: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
    /// Body bytes the server managed to write for `Endless`.
    written: Arc<AtomicUsize>,
    replies: Arc<Mutex<Vec<Reply>>>,
    task: JoinHandle<()>,
}

impl Server {
    /// Serves `replies` in order; the last one repeats.
    async fn start(replies: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let written = Arc::new(AtomicUsize::new(0));
        let replies = Arc::new(Mutex::new(replies));
        let task = {
            let (hits, requests, written, replies) = (hits.clone(), requests.clone(), written.clone(), replies.clone());
            tokio::spawn(async move {
                loop {
                    let Ok((mut socket, _)) = listener.accept().await else {
                        return;
                    };
                    let index = hits.fetch_add(1, Ordering::SeqCst);
                    let reply = {
                        let replies = replies.lock().unwrap();
                        replies[index.min(replies.len() - 1)].clone()
                    };
                    let (requests, written) = (requests.clone(), written.clone());
                    tokio::spawn(async move {
                        let mut buffer = vec![0u8; 8192];
                        let mut request = Vec::new();
                        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                            match socket.read(&mut buffer).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => request.extend_from_slice(&buffer[..n]),
                            }
                        }
                        requests
                            .lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(&request).into_owned());
                        match reply {
                            Reply::Bytes(bytes) => {
                                let _ = socket.write_all(&bytes).await;
                            }
                            Reply::After(delay, bytes) => {
                                tokio::time::sleep(delay).await;
                                let _ = socket.write_all(&bytes).await;
                            }
                            Reply::Endless => {
                                let head =
                                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n";
                                if socket.write_all(head).await.is_err() {
                                    return;
                                }
                                let chunk = vec![b' '; 16 * 1024];
                                // Bounded so the test stops by itself even if the client never hangs up.
                                for _ in 0..4096 {
                                    if socket.write_all(&chunk).await.is_err() {
                                        return;
                                    }
                                    written.fetch_add(chunk.len(), Ordering::SeqCst);
                                }
                            }
                        }
                        let _ = socket.shutdown().await;
                    });
                }
            })
        };
        Server {
            base,
            hits,
            requests,
            written,
            replies,
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn set_replies(&self, replies: Vec<Reply>) {
        *self.replies.lock().unwrap() = replies;
        self.hits.store(0, Ordering::SeqCst);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn response(status: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut text = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    text.into_bytes()
}

fn local_fetcher(settings: FetchSettings) -> HttpJwksFetcher {
    HttpJwksFetcher::new(JwksUrlPolicy::new(true, &[]), settings)
}

fn default_local() -> HttpJwksFetcher {
    local_fetcher(FetchSettings::from_timeout(Duration::from_millis(2000), 64 * 1024))
}

#[tokio::test]
async fn fetches_with_etag_and_max_age_then_revalidates() {
    let key = TestKey::rsa("k1");
    let document = jwks_document(&[&key]);
    let server = Server::start(vec![
        Reply::Bytes(response(
            "200 OK",
            &[("ETag", "\"v1\""), ("Cache-Control", "public, max-age=86400")],
            &document,
        )),
        Reply::Bytes(response("304 Not Modified", &[("Cache-Control", "max-age=600")], "")),
    ])
    .await;
    let fetcher = default_local();
    // Built by the first fetch, not at start-up (cold starts skip loading the root certificates).
    assert!(!fetcher.client_built());
    let url = server.url("/common/discovery/keys");
    let first = fetcher.fetch(&url, None).await.unwrap();
    assert!(fetcher.client_built());
    assert_eq!(
        first,
        JwksFetchOutcome::Fresh {
            body: document,
            etag: Some("\"v1\"".into()),
            max_age: Some(86_400),
        }
    );
    let second = fetcher.fetch(&url, Some("\"v1\"")).await.unwrap();
    assert_eq!(second, JwksFetchOutcome::NotModified { max_age: Some(600) });
    let requests = server.requests.lock().unwrap().clone();
    assert!(requests[0].starts_with("GET /common/discovery/keys HTTP/1.1"));
    assert!(!requests[0].to_ascii_lowercase().contains("if-none-match"));
    assert!(requests[1].to_ascii_lowercase().contains("if-none-match: \"v1\""));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let target = Server::start(vec![Reply::Bytes(response("200 OK", &[], r#"{"keys":[]}"#))]).await;
    let location = target.url("/keys");
    let redirector = Server::start(vec![Reply::Bytes(response(
        "302 Found",
        &[("Location", &location)],
        "",
    ))])
    .await;
    let err = default_local().fetch(&redirector.url("/keys"), None).await.unwrap_err();
    assert_eq!(err, JwksFetchError::Redirect(location));
    assert_eq!(target.hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn oversize_bodies_are_cut_off_while_streaming() {
    let server = Server::start(vec![Reply::Endless]).await;
    let limit = 64 * 1024;
    let err = local_fetcher(FetchSettings::from_timeout(Duration::from_secs(5), limit))
        .fetch(&server.url("/keys"), None)
        .await
        .unwrap_err();
    assert_eq!(err, JwksFetchError::TooLarge { limit });
    // The server could write far less than the 64 MiB it offered before the client hung up.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let written = server.written.load(Ordering::SeqCst);
    assert!(written < 8 * 1024 * 1024, "server wrote {written} bytes");
}

#[tokio::test]
async fn a_declared_oversize_length_is_refused_without_reading() {
    let body = "x".repeat(70_000);
    let server = Server::start(vec![Reply::Bytes(response("200 OK", &[], &body))]).await;
    let err = default_local().fetch(&server.url("/keys"), None).await.unwrap_err();
    assert_eq!(err, JwksFetchError::TooLarge { limit: 64 * 1024 });
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let server = Server::start(vec![Reply::After(
        Duration::from_secs(3),
        response("200 OK", &[], r#"{"keys":[]}"#),
    )])
    .await;
    let started = Instant::now();
    let err = local_fetcher(FetchSettings::from_timeout(Duration::from_millis(300), 1024))
        .fetch(&server.url("/keys"), None)
        .await
        .unwrap_err();
    assert_eq!(err, JwksFetchError::Timeout);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn error_statuses_and_refused_connections_are_typed() {
    let server = Server::start(vec![Reply::Bytes(response("500 Internal Server Error", &[], "oops"))]).await;
    assert_eq!(
        default_local().fetch(&server.url("/keys"), None).await.unwrap_err(),
        JwksFetchError::Status(500)
    );
    server.set_replies(vec![Reply::Bytes(response("404 Not Found", &[], ""))]);
    assert_eq!(
        default_local().fetch(&server.url("/keys"), None).await.unwrap_err(),
        JwksFetchError::Status(404)
    );
    // A port nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/keys", closed.local_addr().unwrap());
    drop(closed);
    assert!(matches!(
        default_local().fetch(&url, None).await.unwrap_err(),
        JwksFetchError::Connect(_)
    ));
    // Not UTF-8.
    let mut bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    server.set_replies(vec![Reply::Bytes(bytes)]);
    assert_eq!(
        default_local().fetch(&server.url("/keys"), None).await.unwrap_err(),
        JwksFetchError::NotUtf8
    );
}

#[tokio::test]
async fn the_url_policy_is_applied_before_connecting() {
    let server = Server::start(vec![Reply::Bytes(response("200 OK", &[], r#"{"keys":[]}"#))]).await;
    let production = HttpJwksFetcher::new(JwksUrlPolicy::entra_only(), FetchSettings::default());
    let err = production.fetch(&server.url("/keys"), None).await.unwrap_err();
    assert!(
        matches!(err, JwksFetchError::Disallowed(ref reason) if reason.contains("loopback")),
        "{err}"
    );
    let err = default_local()
        .fetch("https://evil.example/keys", None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, JwksFetchError::Disallowed(ref reason) if reason.contains("allow-list")),
        "{err}"
    );
    let err = default_local().fetch("http://10.1.2.3/keys", None).await.unwrap_err();
    assert!(matches!(err, JwksFetchError::Disallowed(_)));
    assert_eq!(server.hits.load(Ordering::SeqCst), 0);
    // A refused URL never needs the HTTP client.
    assert!(!production.client_built());
}

#[tokio::test]
async fn the_cache_keeps_the_last_good_set_when_the_server_turns_bad() {
    let key = TestKey::rsa("k1");
    let server = Server::start(vec![Reply::Bytes(response("200 OK", &[], &jwks_document(&[&key])))]).await;
    let url = server.url("/keys");
    let clock = Arc::new(FixedClock::at(1_750_000_000));
    let store = Arc::new(InMemoryKeyStore::default());
    let cache = JwksCache::new(
        store.clone(),
        Arc::new(default_local()),
        clock.clone(),
        JwksCacheSettings::default(),
    );
    assert!(cache.key(&url, "k1").await.is_ok());
    for (bad, expected) in [
        (response("200 OK", &[], "{ this is not json"), "not valid JSON"),
        (response("500 Internal Server Error", &[], ""), "status 500"),
    ] {
        server.set_replies(vec![Reply::Bytes(bad)]);
        clock.advance(61);
        match cache.key(&url, "rotated").await {
            Err(KeyLookupError::Unavailable { reason, .. }) => assert!(reason.contains(expected), "{reason}"),
            other => panic!("expected Unavailable, got {other:?}"),
        }
        assert!(
            cache.key(&url, "k1").await.is_ok(),
            "last good key lost after {expected}"
        );
        assert!(store.entry(&url).unwrap().last_failure.unwrap().contains(expected));
    }
    assert_eq!(cache.stats().fetches, 3);
}

#[tokio::test]
async fn openid_configurations_are_fetched_under_the_same_rules() {
    let document = r#"{"issuer":"https://login.microsoftonline.com/t/v2.0","jwks_uri":"https://login.microsoftonline.com/t/discovery/v2.0/keys"}"#;
    let server = Server::start(vec![Reply::Bytes(response("200 OK", &[], document))]).await;
    let url = server.url("/t/v2.0/.well-known/openid-configuration");
    assert_eq!(
        default_local().fetch_openid_configuration(&url).await.unwrap(),
        document
    );
    let requests = server.requests.lock().unwrap().clone();
    assert!(requests[0].starts_with("GET /t/v2.0/.well-known/openid-configuration HTTP/1.1"));
    // No redirect, no other host, a size cap, an error status typed.
    let target = server.url("/elsewhere");
    server.set_replies(vec![Reply::Bytes(response("301 Moved", &[("Location", &target)], ""))]);
    assert_eq!(
        default_local().fetch_openid_configuration(&url).await.unwrap_err(),
        JwksFetchError::Redirect(target)
    );
    server.set_replies(vec![Reply::Endless]);
    let limit = 2048;
    let err = local_fetcher(FetchSettings::from_timeout(Duration::from_secs(5), limit))
        .fetch_openid_configuration(&url)
        .await
        .unwrap_err();
    assert_eq!(err, JwksFetchError::TooLarge { limit });
    server.set_replies(vec![Reply::Bytes(response("404 Not Found", &[], ""))]);
    assert_eq!(
        default_local().fetch_openid_configuration(&url).await.unwrap_err(),
        JwksFetchError::Status(404)
    );
    let production = HttpJwksFetcher::new(JwksUrlPolicy::entra_only(), FetchSettings::default());
    assert!(matches!(
        production.fetch_openid_configuration(&url).await.unwrap_err(),
        JwksFetchError::Disallowed(_)
    ));
}

mod push {
    use super::*;
    use wif_auth::url_policy::PushUrlPolicy;
    use wif_jwks_http::push::{ANSWER_BYTES, HttpSetPoster, PostError};

    fn local_poster(timeout: Duration) -> HttpSetPoster {
        HttpSetPoster::new(PushUrlPolicy::new(true), FetchSettings::from_timeout(timeout, 1024))
    }

    #[tokio::test]
    async fn a_set_is_posted_as_secevent_jwt_and_the_answer_returned() {
        let server = Server::start(vec![Reply::Bytes(response("202 Accepted", &[], ""))]).await;
        let answer = local_poster(Duration::from_secs(2))
            .post_set(&server.url("/events"), "h.p.s")
            .await
            .unwrap();
        assert_eq!(answer.status, 202);
        let request = server.requests.lock().unwrap()[0].to_ascii_lowercase();
        assert!(request.starts_with("post /events "), "{request}");
        assert!(request.contains("content-type: application/secevent+jwt"), "{request}");
    }

    #[tokio::test]
    async fn redirects_come_back_as_answers_and_are_not_followed() {
        let target = Server::start(vec![Reply::Bytes(response("202 Accepted", &[], ""))]).await;
        let location = target.url("/events");
        let redirector = Server::start(vec![Reply::Bytes(response(
            "307 Temporary Redirect",
            &[("Location", &location)],
            "",
        ))])
        .await;
        let answer = local_poster(Duration::from_secs(2))
            .post_set(&redirector.url("/events"), "h.p.s")
            .await
            .unwrap();
        assert_eq!(answer.status, 307);
        assert_eq!(target.hits.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn slow_endpoints_time_out_and_long_answers_are_cut() {
        let slow = Server::start(vec![Reply::After(
            Duration::from_secs(3),
            response("202 Accepted", &[], ""),
        )])
        .await;
        let started = Instant::now();
        let err = local_poster(Duration::from_millis(300))
            .post_set(&slow.url("/events"), "h.p.s")
            .await
            .unwrap_err();
        assert_eq!(err, PostError::Timeout);
        assert!(started.elapsed() < Duration::from_secs(2));

        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/events?token=secret-value", closed.local_addr().unwrap());
        drop(closed);
        let refused = local_poster(Duration::from_secs(2))
            .post_set(&url, "h.p.s")
            .await
            .unwrap_err();
        assert!(matches!(&refused, PostError::Connect(_)), "{refused:?}");
        assert!(
            !refused.to_string().contains("secret-value"),
            "the URL stays out of the error: {refused}"
        );

        let endless = Server::start(vec![Reply::Endless]).await;
        let answer = local_poster(Duration::from_secs(5))
            .post_set(&endless.url("/events"), "h.p.s")
            .await
            .unwrap();
        assert_eq!((answer.status, answer.body.len()), (200, ANSWER_BYTES));
    }

    #[tokio::test]
    async fn loopback_is_refused_without_the_local_development_switch() {
        let server = Server::start(vec![Reply::Bytes(response("202 Accepted", &[], ""))]).await;
        let poster = HttpSetPoster::new(PushUrlPolicy::new(false), FetchSettings::default());
        let err = poster.post_set(&server.url("/events"), "h.p.s").await.unwrap_err();
        assert!(matches!(err, PostError::Disallowed(_)), "{err:?}");
        assert_eq!(server.hits.load(Ordering::SeqCst), 0);
    }
}
