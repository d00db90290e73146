//! Helpers of the admin end-to-end tests (admin_*.rs, cli_*.rs): admin-API calls, token requests with client
//! secrets, waiting for the functions' log, and finding credentials in text. The stack's settings, log file and
//! direct DynamoDB access come from [`crate::stack`] (re-exported here for these tests).

use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use crate::stack::LocalStack;
pub use crate::stack::{Customer, dynamodb, http, lambda_log, stack_setting, state_dir, test_connection_status};

/// The running stack, or `None` after a printed notice (a failure when `WIF_E2E_REQUIRED=1`).
pub fn stack() -> Option<LocalStack> {
    LocalStack::get()
}

pub fn admin_base(stack: &LocalStack) -> String {
    format!("{}/admin", stack.lambda_base)
}

/// One admin call; returns status, JSON body (Null when none) and headers.
pub async fn admin(
    stack: &LocalStack,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = http().request(method, format!("{}{path}", admin_base(stack)));
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("admin API reachable");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("admin API body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, json, headers)
}

/// An admin call that must succeed with `expected`; returns the body.
pub async fn admin_ok(stack: &LocalStack, method: &str, path: &str, body: Option<&Value>, expected: u16) -> Value {
    let (status, json, _) = admin(stack, method, path, body).await;
    assert_eq!(status, expected, "{method} {path}: {json}");
    json
}

pub struct TokenAnswer {
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<u64>,
}

impl TokenAnswer {
    pub fn access_token(&self) -> &str {
        self.body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token: {} {}", self.status, self.body))
    }
}

async fn try_token_request(request: reqwest::RequestBuilder) -> Result<TokenAnswer, reqwest::Error> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = response.json().await.unwrap_or(Value::Null);
    Ok(TokenAnswer {
        status,
        body,
        retry_after,
    })
}

/// `client_secret_post`; transport failures are returned (bursts count them instead of panicking).
pub async fn try_token_with_secret_post(
    stack: &LocalStack,
    client: &reqwest::Client,
    client_id: &str,
    secret: &str,
) -> Result<TokenAnswer, reqwest::Error> {
    let request = client.post(&stack.token_url).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", secret),
        ("scope", "scim"),
    ]);
    try_token_request(request).await
}

/// `client_secret_post`.
pub async fn token_with_secret_post(
    stack: &LocalStack,
    client: &reqwest::Client,
    client_id: &str,
    secret: &str,
) -> TokenAnswer {
    try_token_with_secret_post(stack, client, client_id, secret)
        .await
        .expect("token endpoint reachable")
}

/// `client_secret_basic` (RFC 6749 §2.3.1: both parts form-urlencoded before base64).
pub async fn token_with_secret_basic(stack: &LocalStack, client_id: &str, secret: &str) -> TokenAnswer {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", encode(client_id), encode(secret)));
    let request = http()
        .post(&stack.token_url)
        .header("authorization", format!("Basic {credentials}"))
        .form(&[("grant_type", "client_credentials"), ("scope", "scim")]);
    try_token_request(request).await.expect("token endpoint reachable")
}

/// A SCIM request as Entra's Test Connection sends it; returns the status.
pub async fn scim_status(stack: &LocalStack, access_token: &str) -> u16 {
    test_connection_status(stack, Some(&format!("Bearer {access_token}")))
        .await
        .0
}

pub fn clients_table() -> String {
    crate::stack::table_name(wif_store::TableKind::Clients)
}

/// Waits until `predicate` holds for the log's content (log lines are written asynchronously).
pub async fn wait_for_log(predicate: impl Fn(&str) -> bool, timeout: Duration) -> String {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let text = std::fs::read_to_string(lambda_log()).unwrap_or_default();
        if predicate(&text) || tokio::time::Instant::now() >= deadline {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every credential-shaped string in `text`: our access tokens and client secrets (prefix + 43 base64url
/// characters) and JWS compact serialisations (`eyJ..` `.` `eyJ..`), i.e. assertions.
pub fn credential_like(text: &str) -> Vec<String> {
    let b64 = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    for prefix in ["wif_at_", "wif_cs_"] {
        let mut start = 0;
        while let Some(offset) = text[start..].find(prefix) {
            let at = start + offset;
            let tail = &bytes[at + prefix.len()..];
            let run = tail.iter().take_while(|c| b64(**c)).count();
            if run >= 43 {
                found.push(text[at..at + prefix.len() + run].to_owned());
            }
            start = at + prefix.len();
        }
    }
    let mut start = 0;
    while let Some(offset) = text[start..].find("eyJ") {
        let at = start + offset;
        let header = bytes[at..].iter().take_while(|c| b64(**c)).count();
        let after = at + header;
        if bytes.get(after) == Some(&b'.') && text[after + 1..].starts_with("eyJ") {
            found.push(String::from_utf8_lossy(&bytes[at..(after + 40).min(bytes.len())]).into_owned());
        }
        start = at + 3;
    }
    found
}
