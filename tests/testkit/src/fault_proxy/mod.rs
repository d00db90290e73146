//! A fault-injecting proxy between DynamoDB clients (the functions, through the real SDK) and a
//! DynamoDB-compatible server (moto). It passes every request through unchanged until a test programs a
//! [`Rule`]; then matching requests get a [`Fault`]:
//!
//! - `throttle`: a 400 throttling error as DynamoDB sends it (`ProvisionedThroughputExceededException`,
//!   `ThrottlingException` or `RequestLimitExceeded`); with `times` ≥ the SDK's attempts it outlasts the retries;
//! - `server_error`: a 500 `InternalServerError`, nothing applied;
//! - `applied_then_server_error` / `applied_then_reset`: the request is forwarded and applied, then the answer is
//!   replaced by a 500 or the connection is reset (the client cannot tell whether its write happened);
//! - `reset`: the connection is reset (RST) before anything is forwarded;
//! - `latency`: forwarded after a delay.
//!
//! It also gives moto DynamoDB's `TransactWriteItems` idempotency (a retried `ClientRequestToken` that already
//! succeeded answers success again), so an applied-then-failed transaction behaves as it would in AWS.
//!
//! Rules are scoped by the DynamoDB operation and substrings of the request body (a tenant's key prefix
//! `T#<tenant>#`, a client id, a table name), so concurrent tests do not disturb each other, and made exact with
//! `skip`/`times` (e.g. "the 2nd BatchWriteItem of this tenant, once": a fault exactly between two steps of a
//! multi-step write). Programs talk to it in-process ([`FaultProxy::rules`]) or over the loopback control API
//! ([`control`], client [`FaultControl`]); the local stack runs it as the `dynamodb-fault-proxy` binary.

pub mod control;
mod idempotency;
mod reset;
pub mod rules;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use control::FaultControl;
use idempotency::{Replay, TransactionTokens};
use reset::{ResetSwitch, ResettableStream};
pub use rules::{Fault, Rule, RuleReport, RuleSet, Stats, ThrottleError};

/// Where the proxy listens and what it forwards to.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Where DynamoDB clients connect (`127.0.0.1:0` for any free port).
    pub listen: SocketAddr,
    /// Where the control API listens.
    pub control: SocketAddr,
    /// The DynamoDB-compatible server, e.g. `http://127.0.0.1:8000`.
    pub upstream: String,
    /// Print one line per injected fault on stderr (the binary's log).
    pub log_faults: bool,
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    endpoint: SocketAddr,
    control: SocketAddr,
    rules: Arc<RuleSet>,
    tasks: Vec<JoinHandle<()>>,
}

/// What every request handler shares.
struct Shared {
    rules: Arc<RuleSet>,
    upstream: String,
    client: Client<HttpConnector, Full<Bytes>>,
    transactions: TransactionTokens,
    log_faults: bool,
}

/// Why a request got no answer: the connection is reset instead.
#[derive(Debug)]
struct ConnectionReset;

impl std::fmt::Display for ConnectionReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by the fault proxy")
    }
}

impl std::error::Error for ConnectionReset {}

impl FaultProxy {
    /// Binds both listeners and starts serving on the current Tokio runtime.
    pub async fn start(config: ProxyConfig) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind(config.listen).await?;
        let control_listener = TcpListener::bind(config.control).await?;
        let rules = Arc::new(RuleSet::default());
        let shared = Arc::new(Shared {
            rules: rules.clone(),
            upstream: config.upstream.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build(upstream_connector()),
            transactions: TransactionTokens::default(),
            log_faults: config.log_faults,
        });
        let proxy = FaultProxy {
            endpoint: listener.local_addr()?,
            control: control_listener.local_addr()?,
            rules: rules.clone(),
            tasks: vec![
                tokio::spawn(serve_proxy(listener, shared)),
                tokio::spawn(control::serve(control_listener, rules)),
            ],
        };
        Ok(proxy)
    }

    /// The DynamoDB endpoint URL to give clients.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.endpoint)
    }

    /// The control API's base URL.
    pub fn control_url(&self) -> String {
        format!("http://{}", self.control)
    }

    /// The rules, for programs that run the proxy in-process.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Connections to the server without Nagle's algorithm: a request written in two segments must not wait for a
/// delayed ACK (40 ms on Linux) before its second part leaves.
fn upstream_connector() -> HttpConnector {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector
}

async fn serve_proxy(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let switch = ResetSwitch::default();
        let io = TokioIo::new(ResettableStream::new(stream, switch.clone()));
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let (shared, switch) = (shared.clone(), switch.clone());
                async move { handle(&shared, &switch, request).await }
            });
            // A reset connection ends with the service's error; nothing to report.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

async fn handle(
    shared: &Shared,
    switch: &ResetSwitch,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, ConnectionReset> {
    let (parts, body) = request.into_parts();
    let Ok(body) = body.collect().await.map(|collected| collected.to_bytes()) else {
        return Err(ConnectionReset);
    };
    let operation = operation_of(&parts.headers);
    let Some((rule, fault)) = shared.rules.decide(operation, &body) else {
        return Ok(forward(shared, parts, body).await);
    };
    if shared.log_faults {
        eprintln!(
            "dynamodb-fault-proxy: rule {rule}: {fault:?} on {}",
            operation.unwrap_or("-")
        );
    }
    match fault {
        Fault::Throttle { error } => Ok(wire::throttled(error)),
        Fault::ServerError => Ok(wire::internal_server_error()),
        Fault::Reset => reset(switch),
        Fault::Latency { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(forward(shared, parts, body).await)
        }
        Fault::AppliedThenServerError => {
            forward(shared, parts, body).await;
            Ok(wire::internal_server_error())
        }
        Fault::AppliedThenReset => {
            forward(shared, parts, body).await;
            reset(switch)
        }
    }
}

fn reset(switch: &ResetSwitch) -> Result<Response<Full<Bytes>>, ConnectionReset> {
    switch.trip();
    Err(ConnectionReset)
}

/// Sends the request on to the server and relays its answer, answering a repeated transaction as DynamoDB would
/// ([`idempotency`]).
async fn forward(shared: &Shared, parts: hyper::http::request::Parts, body: Bytes) -> Response<Full<Bytes>> {
    let token = idempotency::transaction_token(operation_of(&parts.headers), &body);
    if let Some(token) = &token {
        match shared.transactions.replay(token, &body) {
            Replay::Forward => {}
            Replay::Repeat(answer) => return wire::success(answer),
            Replay::Mismatch => return wire::idempotent_parameter_mismatch(),
        }
    }
    let (parts, answer) = match relay(shared, parts, body.clone()).await {
        Ok(answered) => answered,
        Err(reason) => return wire::bad_gateway(&reason),
    };
    if let Some(token) = token
        && parts.status == hyper::StatusCode::OK
    {
        shared.transactions.succeeded(token, body, answer.clone());
    }
    Response::from_parts(parts, Full::new(answer))
}

/// The server's answer to the request, sent unchanged apart from hop-by-hop headers.
async fn relay(
    shared: &Shared,
    parts: hyper::http::request::Parts,
    body: Bytes,
) -> Result<(hyper::http::response::Parts, Bytes), String> {
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut upstream = Request::builder()
        .method(parts.method)
        .uri(format!("{}{target}", shared.upstream));
    for (name, value) in &parts.headers {
        if !is_hop_by_hop(name) {
            upstream = upstream.header(name, value);
        }
    }
    let request = upstream.body(Full::new(body)).map_err(|e| e.to_string())?;
    let response = shared.client.request(request).await.map_err(|e| e.to_string())?;
    let (mut parts, body) = response.into_parts();
    let answer = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    for name in HOP_BY_HOP {
        parts.headers.remove(*name);
    }
    Ok((parts, answer))
}

/// The DynamoDB operation: `X-Amz-Target` after the dot (`DynamoDB_20120810.PutItem`).
fn operation_of(headers: &hyper::HeaderMap) -> Option<&str> {
    headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .and_then(|target| target.rsplit_once('.'))
        .map(|(_, operation)| operation)
}

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the framing hyper sets itself.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "host",
];

fn is_hop_by_hop(name: &hyper::header::HeaderName) -> bool {
    HOP_BY_HOP.contains(&name.as_str())
}

/// Runs the proxy until the process is asked to stop (SIGINT or SIGTERM): the `dynamodb-fault-proxy` binary.
pub async fn run_until_stopped(config: ProxyConfig) -> std::io::Result<()> {
    let proxy = FaultProxy::start(config).await?;
    println!(
        "dynamodb-fault-proxy: DynamoDB on {}, control API on {}",
        proxy.endpoint(),
        proxy.control_url()
    );
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    drop(proxy);
    Ok(())
}
