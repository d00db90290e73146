//! The local stack's helper, one binary with these commands:
//! - `local-stack create-tables <prefix>`: every table of infra/template.yaml, named `<prefix>-<LogicalId>`, in the
//!   DynamoDB endpoint of `AWS_ENDPOINT_URL_DYNAMODB` (the local moto server; wif-testkit's table definitions).
//!   Existing tables are kept, so re-running is harmless. Prints the table variables.
//! - `local-stack create-signing-key`: creates an RSA-2048 sign-only key in the KMS endpoint of
//!   `AWS_ENDPOINT_URL_KMS` (moto), like the template's PortalSigningKey, and prints its ARN.
//! - `local-stack create-event-resources <prefix>`: the events pipeline's resources in moto (an ECC_NIST_P256
//!   signing key, the EventBridge bus with a rule into a tap queue that tests read, the stream dead-letter queue).
//!   Prints their variables.
//! - `local-stack stream-mapping <table> <function> <invoke-address>`: what Lambda's event source mapping does in
//!   AWS, on loopback: reads the table's DynamoDB stream and invokes the function through `cargo lambda watch`'s
//!   invoke endpoint with real DynamoDB stream events, honouring partial batch failures and bisecting failed
//!   batches. Runs until killed.
//! - `local-stack schedule <function> <invoke-address> <milliseconds>`: what an EventBridge schedule does in AWS:
//!   invokes the function with a scheduled event every period, one invocation at a time. Runs until killed.

mod resources;
mod schedule;
mod stream_mapping;

use std::process::ExitCode;

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use wif_store::{TableKind, TableNames};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["create-tables", prefix] => create_tables(prefix).await,
        ["create-signing-key"] => create_signing_key().await,
        ["create-event-resources", prefix] => resources::create(prefix).await,
        ["stream-mapping", table, function, address] => stream_mapping::run(table, function, address).await,
        ["schedule", function, address, period] => schedule::run(function, address, period).await,
        _ => {
            eprintln!(
                "usage: local-stack create-tables <prefix> | create-signing-key | create-event-resources <prefix> | \
                 stream-mapping <table> <function> <http://127.0.0.1:port> | \
                 schedule <function> <http://127.0.0.1:port> <milliseconds>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("local-stack: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn create_tables(prefix: &str) -> Result<(), String> {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        return Err("AWS_ENDPOINT_URL_DYNAMODB must point at the local DynamoDB server".into());
    }
    let client = wif_store::dynamodb_client_from_env().await;
    let names = TableNames::with_prefix(prefix);
    wif_testkit::tables::create_tables(&client, &names)
        .await
        .map_err(|err| format!("creating tables failed: {err}"))?;
    for kind in TableKind::ALL {
        println!("{}={}", kind.env_var(), names.get(kind));
    }
    Ok(())
}

async fn create_signing_key() -> Result<(), String> {
    if std::env::var("AWS_ENDPOINT_URL_KMS").is_err() {
        return Err("AWS_ENDPOINT_URL_KMS must point at the local KMS server".into());
    }
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let created = aws_sdk_kms::Client::new(&shared)
        .create_key()
        .description("Local stand-in of PortalSigningKey")
        .key_spec(KeySpec::Rsa2048)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .map_err(|err| format!("creating the signing key failed: {err}"))?;
    let arn = created
        .key_metadata
        .and_then(|meta| meta.arn)
        .ok_or("creating the signing key failed: no ARN")?;
    println!("{arn}");
    Ok(())
}
