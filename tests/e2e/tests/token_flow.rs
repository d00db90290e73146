//! Workload Identity Federation end to end through the running local stack: an Entra stand-in registers through the
//! admin API, gets an access token from the token URL with exactly Entra's form, and the SCIM function accepts it;
//! tampered, expired and missing tokens get 401, and nothing secret reaches the logs.

use e2e_tests::{Customer, LocalStack, function_log, http, local_token_repository, test_connection_status};
use entra_sim::TokenVersion;
use serde_json::Value;
use wif_auth::ports::{TokenRecord, TokenStore};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

async fn full_flow(version: TokenVersion) {
    let Some(stack) = LocalStack::get() else { return };
    let customer = Customer::register(&stack, version).await;
    assert_eq!(customer.registration["token_url"], stack.token_url.as_str());
    assert_eq!(customer.registration["scim_url"], stack.scim_url.as_str());

    let assertion = customer.assertion();
    let (status, body) = customer
        .token_response(
            &stack,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &customer.client_id),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &assertion),
                ("scope", "scim"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "scim");
    let token = body["access_token"].as_str().expect("access_token").to_owned();
    assert!(token.starts_with("wif_at_") && token.len() >= 7 + 43, "{token}");

    // Entra's Test Connection: 200 with an empty ListResponse.
    let (status, _, list) = test_connection_status(&stack, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["totalResults"], 0);
    assert_eq!(list["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:ListResponse");

    // A tampered token (one character changed) is refused with RFC 6750 invalid_token.
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let (status, headers, _) = test_connection_status(&stack, Some(&format!("Bearer {tampered}"))).await;
    assert_eq!(status, 401);
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""),
        "{challenge}"
    );

    // No credentials: 401 with a bare challenge, no error code (RFC 6750 §3.1).
    let (status, headers, _) = test_connection_status(&stack, None).await;
    assert_eq!(status, 401);
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer") && !challenge.contains("error="),
        "{challenge}"
    );

    // Neither the assertion nor the access token ever appears in the functions' logs.
    let log = function_log();
    assert!(!log.is_empty(), "the local stack's function log is missing");
    assert!(!log.contains(&assertion), "assertion leaked into the logs");
    assert!(!log.contains(&token), "access token leaked into the logs");
    assert!(
        !log.contains(&assertion[assertion.len() - 40..]),
        "assertion signature leaked into the logs"
    );
}

#[tokio::test]
async fn v1_entra_assertion_gets_a_token_the_scim_api_accepts() {
    full_flow(TokenVersion::V1).await;
}

#[tokio::test]
async fn v2_entra_assertion_gets_a_token_the_scim_api_accepts() {
    full_flow(TokenVersion::V2).await;
}

#[tokio::test]
async fn expired_access_token_is_refused_even_before_ttl_deletes_it() {
    let Some(stack) = LocalStack::get() else { return };
    let customer = Customer::register(&stack, TokenVersion::V2).await;
    // DynamoDB TTL deletes items up to days late; the record is still there, but expired.
    let token = format!("wif_at_{}", uuid::Uuid::new_v4().simple());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    local_token_repository(&stack)
        .await
        .put_token(&TokenRecord {
            token_hash: wif_auth::credentials::sha256_hex(&token),
            client_id: customer.client_id.clone(),
            tenant_id: customer.tenant_id.clone(),
            scopes: vec![wif_auth::scope::Scope::Scim],
            issued_at: now - 7200,
            expires_at: now - 3600,
            revoked: false,
        })
        .await
        .unwrap();
    let (status, headers, _) = test_connection_status(&stack, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, 401);
    assert!(headers["www-authenticate"].to_str().unwrap().contains("invalid_token"));
}

#[tokio::test]
async fn expired_or_tampered_assertions_are_invalid_client() {
    let Some(stack) = LocalStack::get() else { return };
    let customer = Customer::register(&stack, TokenVersion::V2).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expired = customer
        .jwks
        .assertion(TokenVersion::V2)
        .now(now - 7200)
        .lifetime_seconds(3600)
        .sign(&customer.jwks.identity())
        .unwrap();
    let mut tampered = customer.assertion().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'a' { b'b' } else { b'a' };
    let tampered = String::from_utf8(tampered).unwrap();
    for (assertion, what) in [(expired, "expired"), (tampered, "tampered")] {
        let (status, body) = customer
            .token_response(
                &stack,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &customer.client_id),
                    ("client_assertion_type", ASSERTION_TYPE),
                    ("client_assertion", &assertion),
                    ("scope", "scim"),
                ],
            )
            .await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["error"], "invalid_client", "{what}: {body}");
    }
}

#[tokio::test]
async fn protocol_errors_are_oauth_json() {
    let Some(stack) = LocalStack::get() else { return };
    let customer = Customer::register(&stack, TokenVersion::V1).await;
    let assertion = customer.assertion();
    let base = [
        ("grant_type", "client_credentials"),
        ("client_id", customer.client_id.as_str()),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion.as_str()),
    ];
    let with = |name: &'static str, value: &'static str| {
        let mut form: Vec<(&str, &str)> = base.iter().copied().filter(|(k, _)| *k != name).collect();
        form.push((name, value));
        form
    };
    type Form<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(Form, u16, &str)> = vec![
        (with("grant_type", "password"), 400, "unsupported_grant_type"),
        (
            with(
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
            ),
            400,
            "invalid_request",
        ),
        (
            with("client_id", "00000000-0000-4000-8000-000000000000"),
            401,
            "invalid_client",
        ),
        (with("scope", "openid"), 400, "invalid_scope"),
        (
            [base.as_slice(), &[("client_secret", "x")]].concat(),
            400,
            "invalid_request",
        ),
    ];
    for (form, status, error) in cases {
        let (got, body) = customer.token_response(&stack, &form).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(error)),
            "{form:?} → {body}"
        );
    }

    // A JSON body instead of the form, and GET on the token URL.
    let response = http()
        .post(&stack.token_url)
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    let response = http().get(&stack.token_url).send().await.unwrap();
    assert_eq!(response.status(), 405);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].is_string(), "{body}");

    // RFC 8414 metadata.
    let metadata: Value = http()
        .get(format!(
            "{}/token/.well-known/oauth-authorization-server",
            stack.lambda_base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["token_endpoint"], stack.token_url.as_str());
    assert!(
        metadata["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&"client_credentials".into())
    );
}

/// One token request with `assertion`: status, `Retry-After` seconds, JSON body.
async fn token_attempt(stack: &LocalStack, customer: &Customer, assertion: &str) -> (u16, Option<u64>, Value) {
    let response = http()
        .post(&stack.token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", customer.client_id.as_str()),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
            ("scope", "scim"),
        ])
        .send()
        .await
        .expect("token endpoint reachable");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok());
    (status, retry_after, response.json().await.unwrap_or(Value::Null))
}

/// Entra may publish a signing key and use it at once, seconds after an unrelated unknown-kid request made us fetch
/// the JWKS. The new kid gets 503 `temporarily_unavailable` with `Retry-After` (or a token at once, from a function
/// instance whose own cooldown allows a fetch), never 401, and its token once `Retry-After` has passed.
#[tokio::test]
async fn a_key_used_right_after_an_unrelated_jwks_fetch_is_never_401() {
    let Some(stack) = LocalStack::get() else { return };
    let customer = Customer::register(&stack, TokenVersion::V2).await;
    let (status, _, body) = token_attempt(&stack, &customer, &customer.assertion()).await;
    assert_eq!(status, 200, "{body}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);

    // An unrelated unknown kid, until the answer is 401: a JWKS fetch after its arrival found no such key.
    let unrelated = customer
        .jwks
        .assertion(TokenVersion::V2)
        .header("kid", format!("unrelated-{}", uuid::Uuid::new_v4().simple()))
        .sign(&customer.jwks.identity())
        .expect("sign");
    loop {
        let (status, retry_after, body) = token_attempt(&stack, &customer, &unrelated).await;
        if status == 401 {
            break;
        }
        assert_eq!(
            (status, body["error"].as_str()),
            (503, Some("temporarily_unavailable")),
            "{body}"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "the unrelated kid never got its 401"
        );
        tokio::time::sleep(std::time::Duration::from_secs(
            retry_after.expect("503 with Retry-After"),
        ))
        .await;
    }

    // At once, Entra publishes a new key and signs with it.
    let fetches_before = customer.jwks.key_fetches();
    let new_kid = customer.jwks.rotate_keys(false).expect("rotate");
    let mut answers = Vec::new();
    loop {
        let (status, retry_after, body) = token_attempt(&stack, &customer, &customer.assertion()).await;
        answers.push((status, retry_after));
        if status == 200 {
            break;
        }
        assert_eq!(
            (status, body["error"].as_str()),
            (503, Some("temporarily_unavailable")),
            "kid {new_kid} after an unrelated fetch: {body}"
        );
        let description = body["error_description"].as_str().unwrap_or_default();
        assert!(description.contains(&new_kid), "{description}");
        let retry_after = retry_after.expect("503 with Retry-After");
        assert!(retry_after >= 1, "{retry_after}");
        assert!(
            std::time::Instant::now() < deadline,
            "no token for kid {new_kid}: {answers:?}"
        );
        tokio::time::sleep(std::time::Duration::from_secs(retry_after)).await;
    }
    let fetches = customer.jwks.key_fetches() - fetches_before;
    assert!(fetches >= 1, "the new kid was accepted without a fetch");
    println!("rotation right after an unrelated fetch: (status, Retry-After) {answers:?}, {fetches} JWKS fetch(es)");
}
