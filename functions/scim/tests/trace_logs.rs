//! The real SCIM binary, served by `lambda_runtime` the way Lambda runs it, with `RUST_LOG=trace`: neither the bearer
//! token nor a user's password from the invocation events reaches its output.

use std::sync::Arc;

use wif_auth::credentials::AccessToken;
use wif_auth::ports::TokenRecord;
use wif_auth::scope::Scope;
use wif_store::TableKind;
use wif_store::TableNames;
use wif_store::tokens::TokenRepository;
use wif_testkit::lambda_runtime::{TracedFunction, function_url_event};
use wif_testkit::tables::create_tables;

#[tokio::test]
async fn neither_token_nor_password_reaches_the_log_at_trace() {
    let prefix = wif_testkit::unique_prefix();
    let names = TableNames::with_prefix(&prefix);
    let dynamo = wif_testkit::dynamodb_client().await;
    create_tables(&dynamo, &names).await.unwrap();
    let token = AccessToken::generate().unwrap();
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    TokenRepository::new(dynamo, names.get(TableKind::Tokens), Arc::new(wif_common::SystemClock))
        .put(&TokenRecord {
            token_hash: token.hash().to_owned(),
            client_id: "c1".into(),
            tenant_id: "tenant-1".into(),
            scopes: vec![Scope::Scim],
            issued_at: now,
            expires_at: now + 3600,
            revoked: false,
        })
        .await
        .unwrap();
    let env: Vec<(&str, &str)> = TableKind::ALL
        .iter()
        .map(|&kind| (kind.env_var(), names.get(kind)))
        .collect();
    let function = TracedFunction::start(env!("CARGO_BIN_EXE_scim"), &env).await;

    let bearer = format!("Bearer {}", token.value());
    let password = "Pa55word-ThatMustNeverBeLogged-7f3a";
    let user = serde_json::json!({"userName": "trace@example.com", "password": password}).to_string();
    let headers = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/scim+json"),
    ];
    let created = function
        .invoke(&function_url_event("POST", "/scim/v2/Users", "", &headers, &user))
        .await;
    assert_eq!(created["statusCode"], 201, "{created}");
    let listed = function
        .invoke(&function_url_event(
            "GET",
            "/scim/v2/Users",
            "filter=userName+eq+%22x%22",
            &headers,
            "",
        ))
        .await;
    assert_eq!(listed["statusCode"], 200, "{listed}");

    let log = function.stop();
    assert!(
        log.contains("\"level\":\"DEBUG\"") && log.contains("aws_smithy_runtime"),
        "RUST_LOG=trace did not reach the function: {log}"
    );
    for (what, text) in [
        ("access token", token.value()),
        ("access token body", &token.value()[7..]),
        ("password", password),
    ] {
        assert!(!log.contains(text), "the {what} is in the function's log:\n{log}");
    }
}
