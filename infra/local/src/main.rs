//! Local-stack helper:
//! - `local-stack create-tables <prefix>`: creates every table of infra/template.yaml, named
//!   `<prefix>-<LogicalId>`, in the DynamoDB endpoint of `AWS_ENDPOINT_URL_DYNAMODB` (the local moto server).
//!   Existing tables are kept, so re-running is harmless. Prints the environment lines that point the functions at
//!   those tables.
//! - `local-stack create-signing-key`: creates an RSA-2048 sign-only key in the KMS endpoint of
//!   `AWS_ENDPOINT_URL_KMS` (moto), like the template's PortalSigningKey, and prints its ARN.

use std::process::ExitCode;

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use wif_store::{TableKind, TableNames};

async fn create_tables(prefix: &str) -> ExitCode {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        eprintln!("local-stack: AWS_ENDPOINT_URL_DYNAMODB must point at the local DynamoDB server");
        return ExitCode::from(2);
    }
    let client = wif_store::dynamodb_client_from_env().await;
    let names = TableNames::with_prefix(prefix);
    if let Err(err) = wif_testkit::tables::create_tables(&client, &names).await {
        eprintln!("local-stack: creating tables failed: {err}");
        return ExitCode::FAILURE;
    }
    for kind in TableKind::ALL {
        println!("{}={}", kind.env_var(), names.get(kind));
    }
    ExitCode::SUCCESS
}

async fn create_signing_key() -> ExitCode {
    if std::env::var("AWS_ENDPOINT_URL_KMS").is_err() {
        eprintln!("local-stack: AWS_ENDPOINT_URL_KMS must point at the local KMS server");
        return ExitCode::from(2);
    }
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let created = aws_sdk_kms::Client::new(&shared)
        .create_key()
        .description("Local stand-in of PortalSigningKey")
        .key_spec(KeySpec::Rsa2048)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await;
    match created
        .ok()
        .and_then(|answer| answer.key_metadata)
        .and_then(|meta| meta.arn)
    {
        Some(arn) => {
            println!("{arn}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("local-stack: creating the signing key failed");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["create-tables", prefix] => create_tables(prefix).await,
        ["create-signing-key"] => create_signing_key().await,
        _ => {
            eprintln!("usage: local-stack create-tables <table-name-prefix> | local-stack create-signing-key");
            ExitCode::from(2)
        }
    }
}
