//! The real admin binary, served by `lambda_runtime` the way Lambda runs it, with `RUST_LOG=trace`: a client secret
//! it creates travels only in its answer, never into its output.

use wif_store::TableKind;
use wif_store::TableNames;
use wif_testkit::lambda_runtime::{TracedFunction, function_url_event};
use wif_testkit::tables::create_tables;

/// The function-URL event of an `AuthType: AWS_IAM` URL: the signer's identity is in the request context.
fn signed(method: &str, path: &str, body: &str) -> serde_json::Value {
    let mut event = function_url_event(method, path, "", &[("content-type", "application/json")], body);
    event["requestContext"]["accountId"] = "123456789012".into();
    event["requestContext"]["authorizer"] = serde_json::json!({"iam": {
        "accessKey": "ASIAEXAMPLE", "accountId": "123456789012", "callerId": "AROAEXAMPLE:portal",
        "userArn": "arn:aws:sts::123456789012:assumed-role/portal/session", "userId": "AROAEXAMPLE:portal"}});
    event
}

#[tokio::test]
async fn a_created_secret_never_reaches_the_log_at_trace() {
    let prefix = wif_testkit::unique_prefix();
    let names = TableNames::with_prefix(&prefix);
    create_tables(&wif_testkit::dynamodb_client().await, &names)
        .await
        .unwrap();
    let mut env: Vec<(&str, &str)> = TableKind::ALL
        .iter()
        .map(|&kind| (kind.env_var(), names.get(kind)))
        .collect();
    env.extend([
        ("WIF_PUBLIC_TOKEN_URL", "https://auth.example.com/oauth2/token"),
        ("WIF_PUBLIC_SCIM_URL", "https://auth.example.com/scim/v2"),
    ]);
    let function = TracedFunction::start(env!("CARGO_BIN_EXE_admin"), &env).await;

    let created = function
        .invoke(&signed(
            "POST",
            "/clients",
            r#"{"wif_enabled":false,"secrets_enabled":true,"tenant_id":"t-1"}"#,
        ))
        .await;
    assert_eq!(created["statusCode"], 201, "{created}");
    let client: serde_json::Value = serde_json::from_str(created["body"].as_str().unwrap_or("{}")).unwrap();
    let path = format!("/clients/{}/secrets", client["client_id"].as_str().unwrap_or_default());
    let answer = function.invoke(&signed("POST", &path, "")).await;
    assert_eq!(answer["statusCode"], 201, "{answer}");
    let secret: serde_json::Value = serde_json::from_str(answer["body"].as_str().unwrap_or("{}")).unwrap();
    let value = secret["client_secret"].as_str().unwrap_or_default().to_owned();
    assert!(value.starts_with("wif_cs_"), "{secret}");

    let log = function.stop();
    assert!(
        log.contains("\"level\":\"DEBUG\"") && log.contains("aws_smithy_runtime"),
        "RUST_LOG=trace did not reach the function: {log}"
    );
    assert!(
        !log.contains(&value),
        "the created secret is in the function's log:\n{log}"
    );
    assert!(
        !log.contains(&value[7..]),
        "the created secret's body is in the function's log:\n{log}"
    );
}
