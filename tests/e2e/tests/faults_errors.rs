//! What clients see while DynamoDB misbehaves, fault kind by fault kind, through the running local stack: the
//! functions reach moto through the fault proxy, and each test makes every DynamoDB request of its own customer
//! fail one way (throttling beyond the SDK's retries, 500s, applied-then-500, applied-then-reset, resets) or slow
//! down. Every error answer must be a SCIM error document (SCIM API) or an OAuth error document (token endpoint),
//! every 503 and 429 must carry `Retry-After`, and storage failures must be 503s: never a 500, a 409 or a hang.

use e2e_tests::answers::{oauth_error_violation, scim_error_violation};
use e2e_tests::faults::{StackFaults, tenant_scope};
use e2e_tests::{Customer, LocalStack, http};
use entra_sim::TokenVersion;
use serde_json::{Value, json};
use wif_testkit::fault_proxy::{Fault, Rule, ThrottleError};

/// One answer as the client saw it.
#[derive(Debug)]
struct Seen {
    what: String,
    status: u16,
    content_type: Option<String>,
    retry_after: Option<String>,
    body: String,
}

impl Seen {
    async fn of(what: String, response: reqwest::Response) -> Seen {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (content_type, retry_after) = (header("content-type"), header("retry-after"));
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        Seen {
            what,
            status,
            content_type,
            retry_after,
            body,
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// A customer with a token, one user and one group, all made while DynamoDB is healthy.
struct Scene {
    stack: LocalStack,
    customer: Customer,
    token: String,
    user_id: String,
    doomed_user_id: String,
    group_id: String,
}

async fn scim(stack: &LocalStack, token: &str, method: &str, target: &str, body: Option<Value>) -> Seen {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = http()
        .request(method.clone(), format!("{}{target}", stack.scim_url))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/scim+json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("the SCIM API answers");
    Seen::of(format!("{method} {target}"), response).await
}

fn user(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "active": true})
}

async fn created_id(stack: &LocalStack, token: &str, target: &str, body: Value) -> String {
    let seen = scim(stack, token, "POST", target, Some(body)).await;
    assert_eq!(seen.status, 201, "{seen:?}");
    seen.json()["id"].as_str().expect("id").to_owned()
}

async fn scene() -> Option<Scene> {
    let stack = LocalStack::get()?;
    let customer = Customer::register(&stack, TokenVersion::V2).await;
    let token = customer.access_token(&stack).await;
    let domain = &customer.tenant_id[..8];
    let user_id = created_id(&stack, &token, "/Users", user(&format!("kept@{domain}.example"))).await;
    let doomed_user_id = created_id(&stack, &token, "/Users", user(&format!("doomed@{domain}.example"))).await;
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Faulted"});
    let group_id = created_id(&stack, &token, "/Groups", group).await;
    Some(Scene {
        stack,
        customer,
        token,
        user_id,
        doomed_user_id,
        group_id,
    })
}

/// Entra's requests of a provisioning cycle, each touching the customer's Directory items.
async fn scim_requests(scene: &Scene) -> Vec<Seen> {
    let (stack, token) = (&scene.stack, scene.token.as_str());
    let domain = &scene.customer.tenant_id[..8];
    let patch = |operations: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations});
    let user_path = format!("/Users/{}", scene.user_id);
    let group_path = format!("/Groups/{}", scene.group_id);
    vec![
        scim(
            stack,
            token,
            "GET",
            &format!("/Users?filter=userName+eq+%22kept%40{domain}.example%22"),
            None,
        )
        .await,
        scim(stack, token, "GET", &user_path, None).await,
        scim(
            stack,
            token,
            "POST",
            "/Users",
            Some(user(&format!("new@{domain}.example"))),
        )
        .await,
        scim(
            stack,
            token,
            "PATCH",
            &user_path,
            Some(patch(
                json!([{"op": "replace", "path": "displayName", "value": "Renamed"}]),
            )),
        )
        .await,
        scim(
            stack,
            token,
            "PATCH",
            &group_path,
            Some(patch(
                json!([{"op": "add", "path": "members", "value": [{"value": scene.user_id}]}]),
            )),
        )
        .await,
        scim(stack, token, "GET", &group_path, None).await,
        scim(stack, token, "GET", "/Users?count=10", None).await,
        scim(
            stack,
            token,
            "DELETE",
            &format!("/Users/{}", scene.doomed_user_id),
            None,
        )
        .await,
    ]
}

/// Every fault on every DynamoDB request of the customer (its Directory items, the token store's item of its
/// second access token, its registration): the SCIM API and the token endpoint must answer 503 with
/// `Retry-After` in their own error formats, every time.
async fn every_request_fails_with(fault: Fault) {
    let Some(scene) = scene().await else { return };
    let faults = StackFaults::of(&scene.stack);
    let second_token = scene.customer.access_token(&scene.stack).await;
    let token_hash = wif_auth::credentials::sha256_hex(&second_token);
    for scope in [
        tenant_scope(&scene.customer.tenant_id),
        token_hash,
        scene.customer.client_id.clone(),
    ] {
        faults.add(Rule::new(fault.clone()).body_contains(&scope)).await;
    }
    let mut scim_answers = scim_requests(&scene).await;
    scim_answers.push(scim(&scene.stack, &second_token, "GET", "/Users", None).await);
    let token_answer = token_request(&scene).await;
    faults.clear().await;

    for seen in &scim_answers {
        assert_eq!(seen.status, 503, "{fault:?}: {seen:?}");
        let violation = scim_error_violation(
            seen.status,
            seen.content_type.as_deref(),
            seen.retry_after.as_deref(),
            &seen.body,
        );
        assert_eq!(violation, None, "{fault:?}: {}", seen.what);
    }
    assert_eq!(token_answer.status, 503, "{fault:?}: {token_answer:?}");
    let violation = oauth_error_violation(
        token_answer.status,
        token_answer.content_type.as_deref(),
        token_answer.retry_after.as_deref(),
        &token_answer.body,
    );
    assert_eq!(violation, None, "{fault:?}");
    assert_eq!(token_answer.json()["error"], "temporarily_unavailable");
}

/// The token request Entra sends, with a fresh assertion.
async fn token_request(scene: &Scene) -> Seen {
    let assertion = scene.customer.assertion();
    let body = entra_sim::TokenClient::form_body(Some(&scene.customer.client_id), &assertion, "scim");
    let response = http()
        .post(&scene.stack.token_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("the token endpoint answers");
    Seen::of("POST /oauth2/token".into(), response).await
}

#[tokio::test]
async fn throttling_beyond_the_sdk_retries_is_503_with_retry_after() {
    every_request_fails_with(Fault::Throttle {
        error: ThrottleError::ProvisionedThroughputExceededException,
    })
    .await;
}

#[tokio::test]
async fn throttling_exceptions_are_503_with_retry_after() {
    every_request_fails_with(Fault::Throttle {
        error: ThrottleError::ThrottlingException,
    })
    .await;
}

#[tokio::test]
async fn dynamodb_500s_are_503_with_retry_after() {
    every_request_fails_with(Fault::ServerError).await;
}

#[tokio::test]
async fn applied_writes_answered_with_500_are_503_with_retry_after() {
    every_request_fails_with(Fault::AppliedThenServerError).await;
}

#[tokio::test]
async fn applied_writes_whose_connection_dropped_are_503_with_retry_after() {
    every_request_fails_with(Fault::AppliedThenReset).await;
}

#[tokio::test]
async fn connection_resets_are_503_with_retry_after() {
    every_request_fails_with(Fault::Reset).await;
}

/// Slow DynamoDB answers slow the API down, nothing else: every request succeeds.
#[tokio::test]
async fn added_latency_changes_no_answer() {
    let Some(scene) = scene().await else { return };
    let faults = StackFaults::of(&scene.stack);
    for scope in [
        tenant_scope(&scene.customer.tenant_id),
        scene.customer.client_id.clone(),
    ] {
        faults
            .add(Rule::new(Fault::Latency { ms: 250 }).body_contains(&scope))
            .await;
    }
    let answers = scim_requests(&scene).await;
    let token_answer = token_request(&scene).await;
    faults.clear().await;
    assert!(answers.iter().all(|seen| seen.status < 300), "{answers:?}");
    assert_eq!(token_answer.status, 200, "{token_answer:?}");
}
