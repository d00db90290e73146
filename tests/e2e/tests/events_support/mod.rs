//! Shared by the event-feed end-to-end tests: an ISV application's receiver registration (client secret,
//! `events.read` + `scim.read`) for a customer's tenant, polling, and SET verification with `jsonwebtoken`
//! against the published JWKS.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use e2e_tests::{LocalStack, http};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Value, json};

pub const PROV: &str = "urn:ietf:params:scim:event:prov:";

pub fn events_base(stack: &LocalStack) -> String {
    format!("{}/events-feed", stack.lambda_base)
}

/// A receiving registration of one tenant, with a live access token.
pub struct EventReceiver {
    pub client_id: String,
    pub tenant: String,
    pub token: String,
    pub events_url: String,
    pub jwks_url: String,
}

pub async fn admin(stack: &LocalStack, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = http().request(method, format!("{}{path}", stack.admin_url));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("admin API reachable");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

impl EventReceiver {
    /// Registers the ISV's application for `tenant` at `level` and gets an `events.read` token.
    pub async fn register(stack: &LocalStack, tenant: &str, level: &str) -> Self {
        let (status, registration) = admin(
            stack,
            reqwest::Method::POST,
            "",
            Some(
                json!({"tenant_id": tenant, "wif_enabled": false, "secrets_enabled": true,
                        "scopes": ["events.read", "scim.read"], "events": {"level": level},
                        "display_name": "ISV application (e2e)"}),
            ),
        )
        .await;
        assert_eq!(status, 201, "{registration}");
        let client_id = registration["client_id"].as_str().unwrap().to_owned();
        assert_eq!(
            registration["events_url"],
            format!("{}/events", events_base(stack)).as_str()
        );
        assert_eq!(
            registration["events_jwks_url"],
            format!("{}/events/jwks.json", events_base(stack)).as_str()
        );
        let (status, secret) = admin(stack, reqwest::Method::POST, &format!("/{client_id}/secrets"), None).await;
        assert_eq!(status, 201, "{secret}");
        let secret = secret["client_secret"].as_str().unwrap().to_owned();
        let response = http()
            .post(&stack.token_url)
            .basic_auth(&client_id, Some(&secret))
            .form(&[("grant_type", "client_credentials"), ("scope", "events.read scim.read")])
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["scope"], "events.read scim.read", "{body}");
        Self {
            token: body["access_token"].as_str().unwrap().to_owned(),
            tenant: tenant.to_owned(),
            events_url: registration["events_url"].as_str().unwrap().to_owned(),
            jwks_url: registration["events_jwks_url"].as_str().unwrap().to_owned(),
            client_id,
        }
    }

    /// One RFC 8936 exchange; (status, body).
    pub async fn poll(&self, body: &Value) -> (u16, Value) {
        let response = http()
            .post(&self.events_url)
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("feed reachable");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Polls (acknowledging as it goes) until `done` says the collected events are complete, or `timeout`.
    /// Returns the verified claims by jti, in arrival order.
    pub async fn collect(&self, done: impl Fn(&[Value]) -> bool, timeout: Duration) -> Vec<Value> {
        let keys = jwks(&self.jwks_url).await;
        let mut seen = HashSet::new();
        let mut claims = Vec::new();
        let mut ack: Vec<String> = Vec::new();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline && !done(&claims) {
            let (status, body) = self
                .poll(&json!({"ack": ack, "returnImmediately": false, "maxEvents": 100}))
                .await;
            assert_eq!(status, 200, "{body}");
            ack.clear();
            let sets: BTreeMap<String, Value> = serde_json::from_value(body["sets"].clone()).unwrap();
            let mut fresh = Vec::new();
            for (jti, set) in sets {
                let verified = verify(&keys, set.as_str().unwrap());
                assert_eq!(verified["jti"], jti.as_str());
                assert_eq!(verified["tenant"], self.tenant.as_str());
                if seen.insert(jti.clone()) {
                    fresh.push(verified);
                }
                ack.push(jti);
            }
            // `sets` is a JSON object (no order); `seq` orders the events of one item.
            fresh.sort_by_key(|c| {
                let seq = c["seq"].as_str().unwrap_or_default().to_owned();
                (seq.len(), seq)
            });
            claims.extend(fresh);
        }
        if !ack.is_empty() {
            self.poll(&json!({"ack": ack, "maxEvents": 0, "returnImmediately": true}))
                .await;
        }
        claims
    }
}

pub async fn jwks(url: &str) -> JwkSet {
    http().get(url).send().await.unwrap().json().await.expect("a JWKS")
}

/// Verifies a SET with an ordinary JOSE library, as an ISV would.
pub fn verify(keys: &JwkSet, set: &str) -> Value {
    let header = decode_header(set).expect("a JWS");
    assert_eq!(header.typ.as_deref(), Some("secevent+jwt"));
    assert_eq!(header.alg, Algorithm::ES256);
    let jwk = keys.find(header.kid.as_deref().unwrap()).expect("the kid is published");
    let mut validation = Validation::new(Algorithm::ES256);
    validation.required_spec_claims = HashSet::new();
    validation.validate_exp = false;
    validation.validate_aud = false;
    decode::<Value>(set, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .expect("the signature verifies with the published key")
        .claims
}

/// The event names of a SET, without the prefix (`create:notice`, `patch:notice`, `deactivate`, ...), sorted.
pub fn event_names(claims: &Value) -> Vec<String> {
    let mut names: Vec<String> = claims["events"]
        .as_object()
        .unwrap()
        .keys()
        .map(|uri| uri.trim_start_matches(PROV).to_owned())
        .collect();
    names.sort();
    names
}

/// SCIM request with a bearer token; (status, body).
pub async fn scim(
    stack: &LocalStack,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http()
        .request(method, format!("{}{path}", stack.scim_url))
        .bearer_auth(token)
        .header("content-type", "application/scim+json");
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    let response = request.send().await.expect("SCIM reachable");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub fn patch_active(active: bool) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "Replace", "path": "active", "value": active}]})
}
