//! A stand-in for the Lambda Runtime API, so a test can run a function's real binary (its real `main`: logging set-up,
//! configuration, `lambda_runtime`'s loop) as a child process and invoke it with function-URL events, the way the
//! Lambda service does. Each [`RuntimeApiStub::invoke`] hands one event to the function's next
//! `GET /2018-06-01/runtime/invocation/next` and waits for its `POST .../response` (or `.../error`).
//!
//! Every accepted connection has Nagle's algorithm off: the runtime client writes a response's head and body
//! separately, and with Nagle plus the peer's delayed ACK each exchange could wait 40 ms, so timings taken through
//! the stub (the cold-start benchmark's) would measure the stub. The stub also records when the first poll arrived
//! ([`RuntimeApiStub::first_poll`]: the end of the function's init) and an init error the function reported.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::sync::{Mutex, Notify, mpsc, oneshot};

type Answer = oneshot::Sender<Result<serde_json::Value, String>>;

struct State {
    events: Mutex<mpsc::UnboundedReceiver<(String, Bytes)>>,
    answers: std::sync::Mutex<HashMap<String, Answer>>,
    first_poll: std::sync::OnceLock<Instant>,
    init_error: std::sync::OnceLock<String>,
    /// Signalled on the first poll and on an init error.
    init_done: Notify,
}

/// The Runtime API on a loopback port; the child process finds it through `AWS_LAMBDA_RUNTIME_API`.
pub struct RuntimeApiStub {
    address: SocketAddr,
    sender: mpsc::UnboundedSender<(String, Bytes)>,
    state: Arc<State>,
}

impl RuntimeApiStub {
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (sender, receiver) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            events: Mutex::new(receiver),
            answers: std::sync::Mutex::new(HashMap::new()),
            first_poll: std::sync::OnceLock::new(),
            init_error: std::sync::OnceLock::new(),
            init_done: Notify::new(),
        });
        let served = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let state = served.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| answer(state.clone(), request));
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        Ok(Self { address, sender, state })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// When the function first asked for an invocation (its init was over), waiting up to `timeout` for it; `Err`
    /// with the error document when it reported an init error instead, or when neither came in time.
    pub async fn first_poll(&self, timeout: Duration) -> Result<Instant, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.state.init_done.notified();
            if let Some(at) = self.state.first_poll.get() {
                return Ok(*at);
            }
            if let Some(error) = self.state.init_error.get() {
                return Err(format!("init error: {error}"));
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(format!("no poll within {timeout:?}"));
            }
        }
    }

    /// Invokes the function with `event` and returns what it answered (`Err` with the error document when it
    /// reported an invocation error, or when nothing came back within `timeout`).
    pub async fn invoke(&self, event: &serde_json::Value, timeout: Duration) -> Result<serde_json::Value, String> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (answer, answered) = oneshot::channel();
        self.state
            .answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(request_id.clone(), answer);
        self.sender
            .send((request_id, Bytes::from(event.to_string())))
            .map_err(|_| "the stub stopped".to_owned())?;
        match tokio::time::timeout(timeout, answered).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err("the stub dropped the invocation".to_owned()),
            Err(_) => Err(format!("no answer within {timeout:?}")),
        }
    }

    /// Starts `binary` as a Lambda function served by this stub, with `env` on top of the variables the runtime
    /// needs, its stdout and stderr written to `log`. The child is killed when the returned guard drops.
    pub fn spawn_function(&self, binary: &str, env: &[(&str, &str)], log: &Path) -> std::io::Result<FunctionProcess> {
        let out = std::fs::File::create(log)?;
        let err = out.try_clone()?;
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", self.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", "under-test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for (name, value) in env {
            command.env(name, value);
        }
        Ok(FunctionProcess {
            child: command.spawn()?,
        })
    }
}

/// A function process; killed on drop.
pub struct FunctionProcess {
    child: Child,
}

impl FunctionProcess {
    /// The process id (for `/proc/<pid>/status`).
    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn answer(state: Arc<State>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    if path == "/2018-06-01/runtime/invocation/next" {
        if state.first_poll.set(Instant::now()).is_ok() {
            state.init_done.notify_one();
        }
        // One poller at a time, as in Lambda; it waits here until the test invokes.
        let next = state.events.lock().await.recv().await;
        let Some((request_id, event)) = next else {
            return Ok(plain(500, "stub stopped"));
        };
        let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + Duration::from_secs(30);
        let response = Response::builder()
            .header("content-type", "application/json")
            .header("lambda-runtime-aws-request-id", &request_id)
            .header("lambda-runtime-deadline-ms", deadline.as_millis().to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:under-test",
            )
            .header(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000;Sampled=0",
            )
            .body(Full::new(event))
            .unwrap_or_else(|_| plain(500, "bad event"));
        return Ok(response);
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if path == "/2018-06-01/runtime/init/error" {
        let _ = state.init_error.set(String::from_utf8_lossy(&body).into_owned());
        state.init_done.notify_one();
        return Ok(plain(202, ""));
    }
    if let [
        "2018-06-01",
        "runtime",
        "invocation",
        request_id,
        outcome @ ("response" | "error"),
    ] = parts.as_slice()
    {
        let answer = state
            .answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(*request_id);
        if let Some(answer) = answer {
            let document = serde_json::from_slice(&body).map_err(|e| format!("not JSON ({e}): {body:?}"));
            let _ = answer.send(if *outcome == "response" {
                document
            } else {
                Err(format!("invocation error: {document:?}"))
            });
        }
        return Ok(plain(202, ""));
    }
    Ok(plain(202, ""))
}

fn plain(status: u16, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response
}

/// A function-URL event (payload 2.0) as Lambda builds it for `method path?query` with `headers` and a text body.
pub fn function_url_event(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> serde_json::Value {
    let headers: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), serde_json::Value::from(*value)))
        .collect();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous", "apiId": "abcdefghijklmnopqrstuvwxyz012345",
            "domainName": "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefghijklmnopqrstuvwxyz012345",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7",
                     "userAgent": "test"},
            "requestId": uuid::Uuid::new_v4().to_string(), "routeKey": "$default", "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": now.as_millis() as u64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// A function binary running under the stub with `RUST_LOG=trace`, its output collected in a temporary file.
pub struct TracedFunction {
    pub runtime: RuntimeApiStub,
    process: Option<FunctionProcess>,
    log: std::path::PathBuf,
}

impl TracedFunction {
    /// Starts `binary` with `RUST_LOG=trace`, DynamoDB at the shared moto server, and `env`.
    pub async fn start(binary: &str, env: &[(&str, &str)]) -> Self {
        let runtime = RuntimeApiStub::start()
            .await
            .unwrap_or_else(|err| panic!("runtime API stub: {err}"));
        let log = std::env::temp_dir().join(format!("wif-traced-{}.log", uuid::Uuid::new_v4().simple()));
        let endpoint = crate::shared_moto().endpoint().to_owned();
        let mut all = vec![("RUST_LOG", "trace"), ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str())];
        all.extend_from_slice(env);
        let process = runtime
            .spawn_function(binary, &all, &log)
            .unwrap_or_else(|err| panic!("cannot start {binary}: {err}"));
        Self {
            runtime,
            process: Some(process),
            log,
        }
    }

    /// Invokes the function; panics with its log when it does not answer.
    pub async fn invoke(&self, event: &serde_json::Value) -> serde_json::Value {
        match self.runtime.invoke(event, Duration::from_secs(60)).await {
            Ok(answer) => answer,
            Err(err) => panic!("{err}; the function's log:\n{}", self.log_text()),
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the function and returns everything it wrote.
    pub fn stop(mut self) -> String {
        drop(self.process.take());
        let text = self.log_text();
        let _ = std::fs::remove_file(&self.log);
        text
    }
}
