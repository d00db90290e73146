//! [`ScimProxy`]: a loopback pass-through in front of the SCIM API that numbers the requests of a cycle and can
//! hold the cycle at request N (see the module docs of [`crate::provisioning`]).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::sync::{oneshot, watch};

use super::PATIENCE;

/// A loopback pass-through in front of the SCIM API. See the module docs.
pub struct ScimProxy {
    url: String,
    inner: Arc<ProxyInner>,
    shutdown: watch::Sender<bool>,
}

struct ProxyInner {
    upstream: String,
    client: reqwest::Client,
    gate: Mutex<Gate>,
    /// true while requests may pass. Changed with `send_replace`: `send` does not store the value while no
    /// request is waiting (no receiver), which would leave the gate open.
    open: watch::Sender<bool>,
    statuses: Mutex<BTreeMap<u16, u64>>,
    errors: Mutex<Vec<ErrorAnswer>>,
    last_token: Mutex<Option<String>>,
    /// Requests past the gate whose answer has not been relayed yet.
    in_flight: watch::Sender<u64>,
    passed: watch::Sender<u64>,
}

#[derive(Default)]
struct Gate {
    seen: u64,
    pause_at: Option<(u64, oneshot::Sender<Instant>)>,
}

/// An error answer the SCIM API gave: what the SCIM error format and `Retry-After` rules are checked on.
#[derive(Debug, Clone)]
pub struct ErrorAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    pub body: String,
}

impl ErrorAnswer {
    fn of(status: u16, headers: &reqwest::header::HeaderMap, body: &[u8]) -> Self {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        ErrorAnswer {
            status,
            content_type: header("content-type"),
            retry_after: header("retry-after"),
            body: String::from_utf8_lossy(body).into_owned(),
        }
    }

    /// Why this answer breaks the rules (SCIM error JSON; `Retry-After` on 503 and 429), if it does.
    pub fn violation(&self) -> Option<String> {
        crate::answers::scim_error_violation(
            self.status,
            self.content_type.as_deref(),
            self.retry_after.as_deref(),
            &self.body,
        )
    }
}

impl ScimProxy {
    /// Listens on a random 127.0.0.1 port and relays to `upstream` (a SCIM base URL).
    pub async fn start(upstream: &str) -> ScimProxy {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (open, _) = watch::channel(true);
        let inner = Arc::new(ProxyInner {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("proxy client"),
            gate: Mutex::new(Gate::default()),
            open,
            statuses: Mutex::new(BTreeMap::new()),
            errors: Mutex::new(Vec::new()),
            last_token: Mutex::new(None),
            in_flight: watch::channel(0).0,
            passed: watch::channel(0).0,
        });
        let (shutdown, mut stop) = watch::channel(false);
        let serving = inner.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let inner = serving.clone();
                        tokio::spawn(async move {
                            let service = hyper::service::service_fn(move |req| {
                                let inner = inner.clone();
                                async move { Ok::<_, Infallible>(relay(&inner, req).await) }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                    _ = stop.changed() => return,
                }
            }
        });
        ScimProxy {
            url: format!("http://{addr}"),
            inner,
            shutdown,
        }
    }

    /// The SCIM base URL to give the provisioner.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Holds request number `n` (counted from the proxy's start) and everything after it until [`Self::resume`].
    /// The receiver fires, with the instant the hold began, once request `n` arrived.
    pub fn pause_at(&self, n: u64) -> oneshot::Receiver<Instant> {
        let (tx, rx) = oneshot::channel();
        let mut gate = lock(&self.inner.gate);
        assert!(gate.seen < n, "request {n} already passed (seen {})", gate.seen);
        gate.pause_at = Some((n, tx));
        rx
    }

    pub fn resume(&self) {
        self.inner.open.send_replace(true);
    }

    /// Waits until every request that got past the gate has its answer (so a held cycle is really still).
    pub async fn wait_idle(&self) {
        let mut in_flight = self.inner.in_flight.subscribe();
        tokio::time::timeout(PATIENCE, in_flight.wait_for(|n| *n == 0))
            .await
            .expect("requests in flight did not finish")
            .expect("proxy alive");
    }

    /// Requests that arrived so far (including any held at the gate).
    pub fn requests(&self) -> u64 {
        lock(&self.inner.gate).seen
    }

    /// Requests that got past the gate so far.
    pub fn passed(&self) -> u64 {
        *self.inner.passed.borrow()
    }

    /// Answers relayed, by status.
    pub fn statuses(&self) -> BTreeMap<u16, u64> {
        lock(&self.inner.statuses).clone()
    }

    pub fn status_count(&self, status: u16) -> u64 {
        self.statuses().get(&status).copied().unwrap_or(0)
    }

    /// Relayed answers with a 5xx status (a provisioning cycle must never see one).
    pub fn server_errors(&self) -> u64 {
        self.statuses().iter().filter(|(s, _)| **s >= 500).map(|(_, n)| n).sum()
    }

    /// Every relayed answer with a 4xx or 5xx status, as the client saw it.
    pub fn error_answers(&self) -> Vec<ErrorAnswer> {
        lock(&self.inner.errors).clone()
    }

    /// The bearer token of the latest relayed request (a credential: tests use it, never print it).
    pub fn last_token(&self) -> Option<String> {
        lock(&self.inner.last_token).clone()
    }
}

impl Drop for ScimProxy {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.inner.open.send_replace(true);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn relay(inner: &ProxyInner, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let must_wait = {
        let mut gate = lock(&inner.gate);
        gate.seen += 1;
        let seen = gate.seen;
        if gate.pause_at.as_ref().is_some_and(|(n, _)| *n == seen)
            && let Some((_, reached)) = gate.pause_at.take()
        {
            inner.open.send_replace(false);
            let _ = reached.send(Instant::now());
        }
        !*inner.open.borrow()
    };
    if must_wait {
        let mut open = inner.open.subscribe();
        let _ = open.wait_for(|open| *open).await;
    }
    inner.passed.send_modify(|n| *n += 1);
    inner.in_flight.send_modify(|n| *n += 1);
    // Decremented on drop, so a request abandoned by its client (hyper drops the future) is not counted forever.
    let _counted = InFlight(&inner.in_flight);
    forward(inner, req).await
}

struct InFlight<'a>(&'a watch::Sender<u64>);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

async fn forward(inner: &ProxyInner, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let target = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut upstream = inner.client.request(method, format!("{}{target}", inner.upstream));
    for name in ["authorization", "content-type", "accept", "if-match", "if-none-match"] {
        if let Some(value) = parts.headers.get(name).and_then(|v| v.to_str().ok()) {
            upstream = upstream.header(name, value);
            if name == "authorization"
                && let Some(token) = value.strip_prefix("Bearer ")
            {
                *lock(&inner.last_token) = Some(token.to_owned());
            }
        }
    }
    if !body.is_empty() {
        upstream = upstream.body(body);
    }
    let (status, headers, bytes) = match upstream.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            (status, headers, response.bytes().await.unwrap_or_default())
        }
        // The provisioner must see an upstream failure as what it is, not as a proxy artefact.
        Err(err) => (
            502,
            reqwest::header::HeaderMap::new(),
            Bytes::from(format!("proxy: upstream failed: {err}")),
        ),
    };
    *lock(&inner.statuses).entry(status).or_insert(0) += 1;
    if status >= 400 {
        lock(&inner.errors).push(ErrorAnswer::of(status, &headers, &bytes));
    }
    let mut response = hyper::Response::new(Full::new(bytes));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
    for name in ["content-type", "www-authenticate", "retry-after", "etag", "location"] {
        if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok())
            && let Ok(value) = hyper::header::HeaderValue::from_str(value)
        {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
