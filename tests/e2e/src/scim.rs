//! Shared by the `scim_*` end-to-end tests: finds the running local stack (infra/local/start.sh), gets access tokens
//! the way Entra does (an Entra-shaped client assertion from the stand-in, exchanged at our token endpoint), and
//! talks SCIM over real HTTP.
//!
//! When the stack is not running the tests print why and return (skip) — unless `WIF_E2E_REQUIRED=1` (the README
//! test command sets it after starting the stack), in which case a missing stack is a failure
//! ([`LocalStack::get`]).

use entra_sim::{TokenClient, TokenVersion};
use serde_json::{Value, json};

use crate::relay::{Answer, send_retrying_relay_faults};
use crate::stack::{Customer, LocalStack, http};

pub use crate::{ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA};
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The running stack and this test's own customer (a fresh Entra tenant registered through the admin API, so its
/// ISV tenant, and therefore its directory, belongs to this test alone).
pub struct Stack {
    pub local: LocalStack,
    pub customer: Customer,
    pub scim_url: String,
    http: reqwest::Client,
}

/// The running local stack with a new customer, or `None` (after printing why) when the stack is not up and not
/// required.
pub async fn stack() -> Option<Stack> {
    let local = LocalStack::get()?;
    let customer = Customer::register(&local, TokenVersion::V2).await;
    Some(Stack {
        scim_url: local.scim_url.clone(),
        customer,
        local,
        http: http(),
    })
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
    /// An access token of `customer` with `scope`, obtained exactly as Entra does.
    pub async fn token_of(&self, customer: &Customer, scope: &str) -> String {
        TokenClient::new(self.local.token_url.clone())
            .expect("token client")
            .request_token(Some(&customer.client_id), &customer.assertion(), scope)
            .await
            .expect("token endpoint answers")
            .access_token
    }

    pub async fn token(&self) -> String {
        self.token_of(&self.customer, "scim").await
    }

    /// A read-only (scim.read) token of this test's customer.
    pub async fn read_only_token(&self) -> String {
        self.token_of(&self.customer, "scim.read").await
    }

    /// Another customer: its own Entra tenant and ISV tenant, for isolation tests.
    pub async fn other_customer(&self) -> Customer {
        Customer::register(&self.local, TokenVersion::V1).await
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
        let Answer { status, headers, text } = send_retrying_relay_faults(request).await;
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (content_type, etag, location) = (header("content-type"), header("etag"), header("location"));
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
    crate::encode_filter(text)
}
