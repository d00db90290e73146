//! Shared by the `scim_*` end-to-end tests: finds the running local stack (infra/local/start.sh), gets access tokens
//! the way Entra does (an Entra-shaped client assertion from the stand-in, exchanged at our token endpoint), and
//! talks SCIM over real HTTP.
//!
//! When the stack is not running the tests print why and return (skip) — unless `WIF_E2E_REQUIRED=1` (the README
//! test command sets it after starting the stack), in which case a missing stack is a failure.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use entra_sim::{Identity, TokenClient, TokenVersion};
use serde_json::{Value, json};

pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

pub struct Stack {
    pub scim_url: String,
    pub token_url: String,
    pub admin_url: String,
    pub state_dir: PathBuf,
    pub registration: Value,
    http: reqwest::Client,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The running local stack, or `None` (after printing why) when it is not up and not required.
pub async fn stack() -> Option<Stack> {
    let port = std::env::var("WIF_LOCAL_LAMBDA_PORT").unwrap_or_else(|_| "9000".into());
    let state_dir = std::env::var("WIF_LOCAL_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join(".local-stack"));
    let lambda = format!("http://127.0.0.1:{port}/lambda-url");
    // `entra-sim register --json` answers {"registration": <admin API answer>, "values": ..}.
    let registration = std::fs::read_to_string(state_dir.join("demo-registration.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .map(|doc| doc.get("registration").cloned().unwrap_or(doc))
        .filter(|r| r.get("client_id").is_some_and(Value::is_string));
    let reachable = std::net::TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().expect("loopback address"),
        Duration::from_secs(1),
    )
    .is_ok();
    let required = std::env::var("WIF_E2E_REQUIRED").is_ok_and(|v| v == "1");
    match (reachable, registration) {
        (true, Some(registration)) => Some(Stack {
            scim_url: format!("{lambda}/scim/scim/v2"),
            token_url: format!("{lambda}/token/oauth2/token"),
            admin_url: format!("{lambda}/admin/clients"),
            state_dir,
            registration,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("HTTP client"),
        }),
        _ if required => panic!(
            "WIF_E2E_REQUIRED=1 but the local stack is not running on 127.0.0.1:{port} (with {}/demo-registration.json); \
             start it with infra/local/start.sh",
            state_dir.display()
        ),
        _ => {
            eprintln!(
                "SKIPPED: the local stack is not running on 127.0.0.1:{port}; start it with infra/local/start.sh \
                 (set WIF_E2E_REQUIRED=1 to make this a failure)"
            );
            None
        }
    }
}

/// A SCIM response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub location: Option<String>,
    pub body: Value,
}

impl Stack {
    pub fn client_id(&self) -> String {
        self.registration["client_id"].as_str().unwrap_or_default().to_owned()
    }

    /// An access token for `client_id` (default: the demo registration) with `scope`, via an Entra-shaped assertion.
    pub async fn token_for(&self, client_id: Option<&str>, scope: &str) -> String {
        let identity = Identity::load(&self.state_dir.join("entra")).expect("the Entra stand-in's state");
        let assertion = identity.assertion(TokenVersion::V2).sign(&identity).expect("assertion");
        let client_id = client_id.map(str::to_owned).unwrap_or_else(|| self.client_id());
        TokenClient::new(&self.token_url)
            .expect("token client")
            .request_token(Some(&client_id), &assertion, scope)
            .await
            .expect("token endpoint answers")
            .access_token
    }

    pub async fn token(&self) -> String {
        self.token_for(None, "scim").await
    }

    /// Registers another customer (its own ISV tenant) for the same Entra workload, for isolation tests.
    pub async fn register_other_tenant(&self, tenant_id: &str) -> String {
        let r = &self.registration;
        let body = json!({
            "issuer": r["issuer"], "jwks_uri": r["jwks_uri"], "subject": r["subject"], "audience": r["audience"],
            "tenant_id": tenant_id, "display_name": "e2e isolation",
        });
        let response = self
            .http
            .post(&self.admin_url)
            .json(&body)
            .send()
            .await
            .expect("admin API");
        let status = response.status().as_u16();
        let answer: Value = response.json().await.expect("admin JSON");
        assert_eq!(status, 201, "registration: {answer}");
        answer["client_id"].as_str().expect("client_id").to_owned()
    }

    /// `target` is relative to the SCIM base, e.g. `/Users?filter=...` (already encoded, `+` for spaces).
    pub async fn scim(&self, token: &str, method: &str, target: &str, body: Option<&Value>) -> Reply {
        self.scim_with(token, method, target, body, &[]).await
    }

    pub async fn scim_with(
        &self,
        token: &str,
        method: &str,
        target: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .http
            .request(method, format!("{}{target}", self.scim_url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/scim+json")
                .body(serde_json::to_vec(body).expect("JSON"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("SCIM endpoint answers");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (content_type, etag, location) = (header("content-type"), header("etag"), header("location"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("SCIM answered non-JSON ({status}): {text}"))
        };
        Reply {
            status,
            content_type,
            etag,
            location,
            body,
        }
    }
}

pub fn unique(label: &str) -> String {
    format!("{label}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

pub fn patch(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

/// `+`-for-space, percent-encoded quotes, as Entra sends filters.
pub fn filter(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}
