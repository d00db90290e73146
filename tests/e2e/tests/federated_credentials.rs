//! Federated credentials and unique trusts against the running local stack: a second credential (the v1 tokens of
//! the same workload identity, accepting the bare app id as audience) gets tokens without `client_id` and is named
//! in the audit trail; the same trust cannot be registered twice; removing a credential stops its tokens.

use e2e_tests::admin::{admin, admin_ok, stack};
use e2e_tests::stack::Customer;
use entra_sim::TokenVersion;
use serde_json::{Value, json};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A token request as Entra's first-party mode sends it when it has no client id to send.
async fn token_without_client_id(
    stack: &e2e_tests::stack::LocalStack,
    customer: &Customer,
    assertion: &str,
) -> (u16, Value) {
    customer
        .token_response(
            stack,
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", assertion),
            ],
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_credential_gets_tokens_is_audited_stays_unique_and_can_be_removed() {
    let Some(stack) = stack() else { return };
    let customer = Customer::register(&stack, TokenVersion::V2).await;
    let id = customer.client_id.clone();
    let identity = customer.jwks.identity();
    let workload = identity.workload().clone();

    let added = admin_ok(
        &stack,
        "POST",
        &format!("/clients/{id}/credentials"),
        Some(&json!({
            "issuer": customer.jwks.issuer(TokenVersion::V1),
            "jwks_uri": customer.jwks.jwks_url(TokenVersion::V1),
            "subject": workload.object_id,
            "audiences": [workload.audience, workload.app_id],
        })),
        201,
    )
    .await;
    let credential_id = added["credential"]["credential_id"].as_str().unwrap().to_owned();
    let listed = admin_ok(&stack, "GET", &format!("/clients/{id}/credentials"), None, 200).await;
    assert_eq!(listed["federated_credentials"].as_array().unwrap().len(), 2, "{listed}");

    let v1_bare_app_id = customer
        .jwks
        .assertion(TokenVersion::V1)
        .audience(workload.app_id.clone())
        .sign(&identity)
        .unwrap();
    let (status, body) = token_without_client_id(&stack, &customer, &v1_bare_app_id).await;
    assert_eq!(status, 200, "{body}");
    let audit = admin_ok(&stack, "GET", &format!("/audit?client_id={id}&limit=50"), None, 200).await;
    let grant = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["details"]["credential_id"] == credential_id.as_str())
        .unwrap_or_else(|| panic!("no grant names {credential_id}: {audit}"));
    assert_eq!(grant["details"]["matched_audience"], workload.app_id.as_str());

    // The same (issuer, subject, audience) in another customer's registration: 409 without the holder's id.
    let (status, body, _) = admin(
        &stack,
        "POST",
        "/clients",
        Some(&json!({
            "tenant_id": format!("e2e-other-{}", uuid::Uuid::new_v4().simple()),
            "issuer": customer.jwks.issuer(TokenVersion::V2),
            "jwks_uri": customer.jwks.jwks_url(TokenVersion::V2),
            "subject": workload.object_id,
            "audience": workload.audience,
        })),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("already registered"),
        "{body}"
    );
    assert!(
        !body.to_string().contains(&id),
        "another tenant's client id leaked: {body}"
    );

    admin_ok(
        &stack,
        "DELETE",
        &format!("/clients/{id}/credentials/{credential_id}"),
        None,
        200,
    )
    .await;
    let again = customer
        .jwks
        .assertion(TokenVersion::V1)
        .audience(workload.app_id.clone())
        .sign(&identity)
        .unwrap();
    let (status, body) = token_without_client_id(&stack, &customer, &again).await;
    assert_eq!(status, 401, "{body}");
    // The registration's own credential still works.
    assert!(!customer.access_token(&stack).await.is_empty());
}
