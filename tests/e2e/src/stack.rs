//! The running local stack (`infra/local/start.sh`) and one customer of it.
//!
//! [`LocalStack::get`] finds the stack. When it is not running, a test prints why and returns (skips) — unless
//! `WIF_E2E_REQUIRED=1` (the README's test command sets it), which turns that into a failure, so CI can never
//! pass by skipping.
//!
//! Each test registers its own [`Customer`]: a fresh Entra tenant with its own signing keys and JWKS server on a
//! random loopback port, registered through the admin API, so tests run in parallel without sharing state.

use std::net::TcpStream;
use std::path::PathBuf;
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
    /// moto itself: what tests read and plant directly, past the fault proxy.
    pub dynamodb_url: String,
    /// The control API of the DynamoDB fault proxy the functions go through.
    pub dynamodb_faults_url: String,
}

fn port(var: &str, default: u16) -> u16 {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

impl LocalStack {
    /// The running stack, or `None` (after printing a notice) when it is not running and not required.
    pub fn get() -> Option<LocalStack> {
        let lambda = port("WIF_LOCAL_LAMBDA_PORT", 9000);
        let dynamodb = port("WIF_LOCAL_DYNAMODB_PORT", 8000);
        // infra/local/common.sh: 11 above the DynamoDB port unless set.
        let faults = port("WIF_LOCAL_DYNAMODB_FAULTS_PORT", dynamodb.saturating_add(11));
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
            dynamodb_faults_url: format!("http://127.0.0.1:{faults}"),
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

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The local stack's state directory (infra/local/common.sh: `WIF_LOCAL_STATE_DIR` or `<repo>/.local-stack`).
pub fn state_dir() -> PathBuf {
    std::env::var_os("WIF_LOCAL_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".local-stack"))
}

/// A variable of the functions' environment file the running stack was started with.
pub fn stack_setting(name: &str) -> Option<String> {
    let text = std::fs::read_to_string(state_dir().join("functions.env")).ok()?;
    text.lines()
        .filter_map(|line| line.split_once('='))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim().to_owned())
}

/// The functions' log (every function under `cargo lambda watch` writes here).
pub fn lambda_log() -> PathBuf {
    state_dir().join("logs/lambda.log")
}

/// The local stack's log of every function (`cargo lambda watch` output).
pub fn function_log() -> String {
    std::fs::read_to_string(lambda_log()).unwrap_or_default()
}

/// The local DynamoDB (moto, not through the fault proxy) through the real SDK, for the tests that must read or
/// write what the API deliberately cannot (e.g. back-date a secret, expire a token).
pub async fn dynamodb(stack: &LocalStack) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&wif_testkit::sdk_config(&stack.dynamodb_url).await)
}

/// The physical name of one of the running stack's tables.
pub fn table_name(kind: wif_store::TableKind) -> String {
    let prefix = std::env::var("WIF_LOCAL_TABLE_PREFIX").unwrap_or_else(|_| "local".to_owned());
    stack_setting(kind.env_var()).unwrap_or_else(|| wif_store::TableNames::with_prefix(&prefix).get(kind).to_owned())
}

/// The local stack's Tokens table, for tests that must plant a record the API cannot produce (an expired token).
pub async fn local_token_repository(stack: &LocalStack) -> wif_store::tokens::TokenRepository {
    wif_store::tokens::TokenRepository::new(
        dynamodb(stack).await,
        table_name(wif_store::TableKind::Tokens),
        std::sync::Arc::new(wif_common::SystemClock),
    )
}
