//! The real token binary, served by `lambda_runtime` the way Lambda runs it, with `RUST_LOG=trace`: no client
//! assertion or client secret from the invocation events reaches its output. (At TRACE, lambda_runtime logs every raw
//! event; `wif_common::telemetry` holds it, hyper and the AWS SDK below TRACE.)

use wif_store::TableKind;
use wif_store::TableNames;
use wif_testkit::lambda_runtime::{TracedFunction, function_url_event};
use wif_testkit::tables::create_tables;

const JWT_BEARER: &str = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";

#[tokio::test]
async fn no_credential_reaches_the_log_at_trace() {
    let prefix = wif_testkit::unique_prefix();
    let names = TableNames::with_prefix(&prefix);
    create_tables(&wif_testkit::dynamodb_client().await, &names)
        .await
        .unwrap();
    let env: Vec<(&str, &str)> = TableKind::ALL
        .iter()
        .map(|&kind| (kind.env_var(), names.get(kind)))
        .collect();
    let function = TracedFunction::start(env!("CARGO_BIN_EXE_token"), &env).await;

    let signature = "c2lnbmF0dXJlT2ZUaGVBc3NlcnRpb25UaGF0TXVzdE5vdEJlTG9nZ2Vk";
    let assertion = format!("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL2lzc3Vlci8ifQ.{signature}");
    let form = format!(
        "grant_type=client_credentials&client_id=c1&client_assertion_type={JWT_BEARER}&client_assertion={assertion}"
    );
    let secret = "wif_cs_SecretOfTheClientThatMustNeverBeLogged0000000000000";
    let basic = format!("Basic {}", base64_of(&format!("c1:{secret}")));
    let form_type = ("content-type", "application/x-www-form-urlencoded");
    for event in [
        function_url_event("POST", "/oauth2/token", "", &[form_type], &form),
        function_url_event(
            "POST",
            "/oauth2/token",
            "",
            &[form_type, ("authorization", basic.as_str())],
            "grant_type=client_credentials",
        ),
        function_url_event(
            "POST",
            "/oauth2/token",
            "",
            &[form_type],
            &format!("grant_type=client_credentials&client_id=c1&client_secret={secret}"),
        ),
    ] {
        let answer = function.invoke(&event).await;
        assert_eq!(answer["statusCode"], 401, "{answer}");
    }

    let log = function.stop();
    assert!(
        log.contains("\"level\":\"DEBUG\"") && log.contains("aws_smithy_runtime"),
        "RUST_LOG=trace did not reach the function: {log}"
    );
    for (what, text) in [
        ("assertion", assertion.as_str()),
        ("assertion signature", signature),
        ("client secret", secret),
        ("client secret body", &secret[7..]),
        ("Basic credentials", &basic[6..]),
    ] {
        assert!(!log.contains(text), "the {what} is in the function's log:\n{log}");
    }
}

fn base64_of(text: &str) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, text)
}
