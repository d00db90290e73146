//! Shared by the `provisioning_*` end-to-end tests: the Entra stand-in's provisioning engine drives the running
//! local stack, and these helpers check the outcome from the outside.
//!
//! - [`Tenant`]: a fresh Entra tenant registered through the admin API, whose provisioner mints every assertion
//!   from the *live* JWKS server identity, so a key rotation in the middle of a cycle reaches the next token
//!   request exactly as it would with Entra.
//! - [`ScimProxy`]: a loopback pass-through in front of the SCIM API that numbers the requests of a cycle and can
//!   hold the cycle at request N (a deterministic "mid-cycle": no sleeps, no racing timers), counts the statuses it
//!   relayed and remembers the last bearer token (never printed) so a test can expire it in the Tokens table.
//! - [`ServerDirectory::read`] + [`state_differences`]: everything read back through the SCIM API and compared
//!   field by field with the source directory file.

mod directory;
mod scim_proxy;

use std::sync::Arc;
use std::time::{Duration, Instant};

use entra_sim::{
    Credentials, Dialect, Directory, JwksServer, ProvisionOptions, Provisioner, RemovalAction, TokenClient,
    TokenVersion,
};
use serde_json::Value;

use crate::relay::{Answer, send_retrying_relay_faults};
use crate::stack::{Customer, LocalStack, http};
pub use crate::{ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA};
pub use directory::{
    ServerDirectory, assert_clean, assert_job_state_matches, assert_state, ids_by_index_pages, state_differences,
};
pub use scim_proxy::{ErrorAnswer, ScimProxy};
/// How long a test waits for something that should happen within seconds on an idle machine; generous because
/// the machine is shared and moto answers one DynamoDB call at a time.
pub const PATIENCE: Duration = Duration::from_secs(180);

/// `WIF_JWKS_REFETCH_COOLDOWN_SECONDS` of the running stack (infra/local/start.sh writes it to functions.env).
pub fn jwks_refetch_cooldown() -> Duration {
    let seconds = crate::stack::stack_setting("WIF_JWKS_REFETCH_COOLDOWN_SECONDS")
        .and_then(|v| v.parse::<u64>().ok())
        // The function's own default (INTERFACES.md).
        .unwrap_or(60);
    Duration::from_secs(seconds)
}

/// Waits until one full refetch cooldown (plus a second of rounding: the cache counts whole Unix seconds) has
/// passed since `last_attempt`, so the next unknown kid is allowed to trigger a JWKS fetch. This is the server's
/// documented window, not a guess about how fast anything runs.
pub async fn wait_out_cooldown(last_attempt: Instant) {
    let until = last_attempt + jwks_refetch_cooldown() + Duration::from_secs(1);
    tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
}

/// A customer tenant: its Entra stand-in (shared with the provisioner's assertion minter) and its registration.
pub struct Tenant {
    pub stack: LocalStack,
    pub jwks: Arc<JwksServer>,
    pub version: TokenVersion,
    pub client_id: String,
    pub tenant_id: String,
    http: reqwest::Client,
}

impl Tenant {
    pub async fn register(stack: &LocalStack, version: TokenVersion) -> Tenant {
        let Customer {
            jwks,
            version,
            client_id,
            tenant_id,
            ..
        } = Customer::register(stack, version).await;
        Tenant {
            stack: stack.clone(),
            jwks: Arc::new(jwks),
            version,
            client_id,
            tenant_id,
            http: http(),
        }
    }

    /// Entra's WIF credentials: every token request carries a fresh assertion signed with whatever key the JWKS
    /// server signs with *at that moment*.
    pub fn credentials(&self) -> Credentials {
        let jwks = self.jwks.clone();
        let version = self.version;
        Credentials::ClientAssertion {
            client: TokenClient::new(self.stack.token_url.clone()).expect("token client"),
            client_id: Some(self.client_id.clone()),
            scope: "scim".to_owned(),
            minter: Arc::new(move || jwks.mint(version)),
        }
    }

    /// A provisioning job against `scim_url` (the stack's SCIM URL or a [`ScimProxy`] in front of it).
    pub fn provisioner(&self, scim_url: &str, dialect: Dialect, removal: RemovalAction) -> Provisioner {
        Provisioner::new(
            ProvisionOptions::new(scim_url).dialect(dialect).removal(removal),
            self.credentials(),
        )
        .expect("provisioner")
    }

    /// The token request Entra sends, with a fresh assertion; raw status and body.
    pub async fn token_response(&self) -> (u16, Option<String>, Value) {
        let assertion = self.jwks.mint(self.version).expect("mint");
        let body = TokenClient::form_body(Some(&self.client_id), &assertion, "scim");
        let response = self
            .http
            .post(&self.stack.token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("token endpoint reachable");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.json().await.unwrap_or(Value::Null);
        (status, retry_after, body)
    }

    /// An access token for reading the directory back (never the provisioner's own token).
    pub async fn token(&self) -> String {
        let (status, _, body) = self.token_response().await;
        assert_eq!(status, 200, "token request failed: {body}");
        body["access_token"].as_str().expect("access_token").to_owned()
    }

    /// `POST /clients/{id}/revoke-tokens` on the admin API; the number of tokens revoked.
    pub async fn revoke_tokens(&self) -> u64 {
        let response = self
            .http
            .post(format!("{}/{}/revoke-tokens", self.stack.admin_url, self.client_id))
            .send()
            .await
            .expect("admin API reachable");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 200, "revoke-tokens failed: {body}");
        body["revoked_tokens"].as_u64().expect("revoked_tokens")
    }

    /// `GET <scim><target>` with `token`: status and JSON body (Null when empty).
    pub async fn get(&self, token: &str, target: &str) -> (u16, Value) {
        self.send(token, reqwest::Method::GET, target, None).await
    }

    pub async fn send(&self, token: &str, method: reqwest::Method, target: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{target}", self.stack.scim_url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let Answer { status, text, .. } = send_retrying_relay_faults(request).await;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("non-JSON SCIM answer ({status}): {text}"))
        };
        (status, body)
    }

    /// `totalResults` of a list or filter query.
    pub async fn total(&self, token: &str, target: &str) -> u64 {
        let (status, body) = self.get(token, target).await;
        assert_eq!(status, 200, "GET {target}: {body}");
        body["totalResults"].as_u64().expect("totalResults")
    }
}

/// A filter query string the way Entra encodes it (`+` for spaces, quotes percent-encoded).
pub fn filter(expression: &str) -> String {
    format!("filter={}", crate::encode_filter(expression))
}

/// The sample generator's directory with every user's domain (userName, email) changed, so two tenants can hold
/// directories that share no userName.
pub fn with_domain(dir: &Directory, domain: &str) -> Directory {
    let mut dir = dir.clone();
    let swap = |s: &str| match s.split_once('@') {
        Some((local, _)) => format!("{local}@{domain}"),
        None => s.to_owned(),
    };
    for u in &mut dir.users {
        u.user_name = swap(&u.user_name);
        for e in &mut u.emails {
            e.value = swap(&e.value);
        }
    }
    dir
}
