//! Support for the end-to-end tests: they drive the running local stack (`infra/local/start.sh`) over real HTTP,
//! with the Entra stand-in playing the customer's identity provider.
//!
//! [`LocalStack::get`] finds the stack. When it is not running, a test prints why and returns (skips) — unless
//! `WIF_E2E_REQUIRED=1` (the README's test command sets it), which turns that into a failure, so CI can never
//! pass by skipping.
//!
//! Each test registers its own [`Customer`]: a fresh Entra tenant with its own signing keys and JWKS server on a
//! random loopback port, registered through the admin API, so tests run in parallel without sharing state.

use std::net::TcpStream;
use std::time::Duration;

use entra_sim::{Identity, JwksServer, TokenClient, TokenVersion};
use serde_json::{Value, json};

/// URLs of the running local stack (ports as in infra/local/common.sh, overridable the same way).
#[derive(Debug, Clone)]
pub struct LocalStack {
    pub lambda_base: String,
    pub token_url: String,
    pub scim_url: String,
    pub admin_url: String,
    pub dynamodb_url: String,
}

fn port(var: &str, default: u16) -> u16 {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

impl LocalStack {
    /// The running stack, or `None` (after printing a notice) when it is not running and not required.
    pub fn get() -> Option<LocalStack> {
        let lambda = port("WIF_LOCAL_LAMBDA_PORT", 9000);
        let dynamodb = port("WIF_LOCAL_DYNAMODB_PORT", 8000);
        let up = |p: u16| TcpStream::connect_timeout(&([127, 0, 0, 1], p).into(), Duration::from_secs(1)).is_ok();
        if !(up(lambda) && up(dynamodb)) {
            let message = format!(
                "the local stack is not running on 127.0.0.1:{lambda} (functions) and :{dynamodb} (DynamoDB); \
                 start it with infra/local/start.sh"
            );
            if std::env::var("WIF_E2E_REQUIRED").is_ok_and(|v| v == "1") {
                panic!("{message}");
            }
            eprintln!("SKIPPED: {message}");
            return None;
        }
        let lambda_base = format!("http://127.0.0.1:{lambda}/lambda-url");
        Some(LocalStack {
            token_url: format!("{lambda_base}/token/oauth2/token"),
            scim_url: format!("{lambda_base}/scim/scim/v2"),
            admin_url: format!("{lambda_base}/admin/clients"),
            dynamodb_url: format!("http://127.0.0.1:{dynamodb}"),
            lambda_base,
        })
    }
}

/// A plain HTTP client with a generous timeout (a function's first request may compile it).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("reqwest client")
}

/// One customer: an Entra tenant (keys + JWKS server) registered with our admin API.
pub struct Customer {
    pub jwks: JwksServer,
    pub version: TokenVersion,
    pub client_id: String,
    pub tenant_id: String,
    pub registration: Value,
}

impl Customer {
    /// Registers a new tenant with default settings.
    pub async fn register(stack: &LocalStack, version: TokenVersion) -> Customer {
        Self::register_with(stack, version, json!({})).await
    }

    /// Registers a new tenant; `extra` fields (e.g. `{"scopes":["scim.read"]}`) are merged into the request.
    pub async fn register_with(stack: &LocalStack, version: TokenVersion, extra: Value) -> Customer {
        let identity = Identity::random().expect("identity");
        let jwks = JwksServer::start(identity).await.expect("JWKS server");
        let tenant = jwks.tenant_id();
        let workload = jwks.identity().workload().clone();
        let mut body = json!({
            "issuer": jwks.issuer(version),
            "jwks_uri": jwks.jwks_url(version),
            "subject": workload.object_id,
            "audience": workload.audience,
            "expected_tid": tenant,
            "display_name": format!("e2e {}", &tenant[..8]),
        });
        if let (Some(target), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (key, value) in extra {
                target.insert(key.clone(), value.clone());
            }
        }
        let response = http()
            .post(&stack.admin_url)
            .json(&body)
            .send()
            .await
            .expect("admin API reachable");
        let status = response.status();
        let registration: Value = response.json().await.expect("admin API answers JSON");
        assert_eq!(status, 201, "registration failed: {registration}");
        Customer {
            client_id: registration["client_id"].as_str().expect("client_id").to_owned(),
            tenant_id: registration["tenant_id"].as_str().expect("tenant_id").to_owned(),
            registration,
            jwks,
            version,
        }
    }

    /// A fresh Entra-shaped assertion for this registration.
    pub fn assertion(&self) -> String {
        self.jwks.mint(self.version).expect("mint assertion")
    }

    /// The exact token request Entra sends; returns the raw HTTP status and JSON body.
    pub async fn token_response(&self, stack: &LocalStack, form: &[(&str, &str)]) -> (u16, Value) {
        let response = http()
            .post(&stack.token_url)
            .form(form)
            .send()
            .await
            .expect("token endpoint reachable");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// An access token obtained exactly as Entra does.
    pub async fn access_token(&self, stack: &LocalStack) -> String {
        let client = TokenClient::new(stack.token_url.clone()).expect("token client");
        client
            .request_token(Some(&self.client_id), &self.assertion(), "scim")
            .await
            .expect("token request succeeds")
            .access_token
    }
}

/// `GET <scim>/Users?filter=userName eq "<random>"` with the given Authorization header value (or none).
pub async fn test_connection_status(
    stack: &LocalStack,
    authorization: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let url = format!(
        "{}/Users?filter=userName+eq+%22{}%22",
        stack.scim_url,
        uuid::Uuid::new_v4()
    );
    let mut request = http().get(url);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.expect("SCIM endpoint reachable");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// The local stack's log of every function (`cargo lambda watch` output).
pub fn function_log() -> String {
    let dir = std::env::var("WIF_LOCAL_STATE_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../.local-stack").to_owned());
    std::fs::read_to_string(format!("{dir}/logs/lambda.log")).unwrap_or_default()
}

/// The local stack's Tokens table, for tests that must plant a record the API cannot produce (an expired token).
pub async fn local_token_repository(stack: &LocalStack) -> wif_store::tokens::TokenRepository {
    let prefix = std::env::var("WIF_LOCAL_TABLE_PREFIX").unwrap_or_else(|_| "local".to_owned());
    let config = wif_testkit::sdk_config(&stack.dynamodb_url).await;
    let client = wif_store::dynamo::client_with(&config, None);
    wif_store::tokens::TokenRepository::new(
        client,
        wif_store::TableNames::with_prefix(&prefix).tokens,
        std::sync::Arc::new(wif_common::SystemClock),
    )
}

/// The body `cargo lambda watch` itself answers with when it fails to relay a function's answer to the caller
/// (an `http-api-problem` document, members in its own order). Our functions never produce it: their errors are
/// SCIM or OAuth JSON.
fn emulator_relay_fault() -> Value {
    json!({"type": "https://httpstatuses.com/500", "status": 500, "title": "Internal Server Error"})
}

/// Whether an answer is the emulator's relay fault rather than a function's. Seen with `cargo lambda watch` 1.9
/// on large function answers (list pages of ~100 KB) while other requests are in flight: about 1 in 150 such
/// answers under 8 parallel clients, never with small answers or without parallel load.
pub fn is_emulator_relay_fault(status: u16, body: &str) -> bool {
    // Compared as JSON: the emulator sends `type` first, and member order is not part of the document.
    status == 500 && serde_json::from_str::<Value>(body).is_ok_and(|v| v == emulator_relay_fault())
}

/// An answer read in full: status, headers and body text.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

/// Sends `request`; a GET that meets the emulator's relay fault (see [`is_emulator_relay_fault`]) is sent again,
/// up to three times, with a notice on stderr. Only GET: a repeated write could change what the test observes.
/// Every other answer, including every 5xx of our own functions, is returned as it came.
pub async fn send_retrying_relay_faults(request: reqwest::RequestBuilder) -> Answer {
    const ATTEMPTS: usize = 4;
    let retryable = request
        .try_clone()
        .and_then(|r| r.build().ok())
        .is_some_and(|r| r.method() == reqwest::Method::GET);
    let mut pending = Some(request);
    let mut attempt = 1;
    loop {
        let current = pending.take().expect("a request to send");
        let spare = if retryable { current.try_clone() } else { None };
        let response = current.send().await.expect("local stack reachable");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let url = response.url().path().to_owned();
        let text = response.text().await.unwrap_or_default();
        match spare {
            Some(next) if attempt < ATTEMPTS && is_emulator_relay_fault(status, &text) => {
                eprintln!(
                    "cargo lambda watch failed to relay the answer to GET {url} (attempt {attempt}); sending it again"
                );
                pending = Some(next);
                attempt += 1;
            }
            _ => return Answer { status, headers, text },
        }
    }
}

/// Whether a libtest-style command line selects the test `name` (for `harness = false` binaries, which print their
/// numbers): positional arguments are name filters; options are skipped (with the value of those that take one).
pub fn libtest_selects(name: &str, args: &[String]) -> bool {
    const TAKES_VALUE: &[&str] = &[
        "--test-threads",
        "--skip",
        "--format",
        "--color",
        "--logfile",
        "-Z",
        "--report-time",
        "--shuffle-seed",
    ];
    let mut filters = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if TAKES_VALUE.contains(&arg.as_str()) {
            i += 2;
            continue;
        }
        if !arg.starts_with('-') {
            filters.push(arg.as_str());
        }
        i += 1;
    }
    filters.is_empty() || filters.iter().any(|f| name.contains(f))
}

/// The `main` of a `harness = false` test binary (one that prints its numbers): answers `--list`, honours name
/// filters and `--ignored`, runs `test` on a multi-threaded runtime, and exits non-zero when it returns false.
pub fn run_plain_test<F: std::future::Future<Output = bool>>(
    name: &str,
    test: impl FnOnce() -> F,
) -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("{name}: test");
        return std::process::ExitCode::SUCCESS;
    }
    if !libtest_selects(name, &args) || args.iter().any(|a| a == "--ignored") {
        return std::process::ExitCode::SUCCESS;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if runtime.block_on(test()) {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_emulators_own_problem_document_is_a_relay_fault() {
        // As cargo lambda watch 1.9 sends it, and as a re-serialised copy with sorted members.
        let as_sent = r#"{"type":"https://httpstatuses.com/500","status":500,"title":"Internal Server Error"}"#;
        let sorted = r#"{"status":500,"title":"Internal Server Error","type":"https://httpstatuses.com/500"}"#;
        assert!(is_emulator_relay_fault(500, as_sent));
        assert!(is_emulator_relay_fault(500, &format!("{sorted}\n")));
        assert!(!is_emulator_relay_fault(502, as_sent));
        let with_detail =
            r#"{"type":"https://httpstatuses.com/500","status":500,"title":"Internal Server Error","detail":"x"}"#;
        assert!(!is_emulator_relay_fault(500, with_detail));
        let scim_error = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500","detail":"x"}"#;
        assert!(!is_emulator_relay_fault(500, scim_error));
        assert!(!is_emulator_relay_fault(500, r#"{"error":"temporarily_unavailable"}"#));
    }
}
