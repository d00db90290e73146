//! The local stack's helper, one binary with three commands:
//! - `local-stack create-tables <prefix>`: every table of infra/template.yaml, named `<prefix>-<LogicalId>`, in the
//!   DynamoDB endpoint of `AWS_ENDPOINT_URL_DYNAMODB` (existing tables are kept). Prints the table variables.
//! - `local-stack create-event-resources <prefix>`: the events pipeline's resources in moto (an ECC_NIST_P256
//!   signing key, the EventBridge bus with a rule into a tap queue that tests read, the stream dead-letter queue).
//!   Prints their variables.
//! - `local-stack stream-mapping <table> <function> <invoke-address>`: what Lambda's event source mapping does in
//!   AWS, on loopback: reads the table's DynamoDB stream and invokes the function through `cargo lambda watch`'s
//!   invoke endpoint with real DynamoDB stream events, honouring partial batch failures and bisecting failed
//!   batches. Runs until killed.

mod resources;
mod stream_mapping;

use std::process::ExitCode;

use wif_store::{TableKind, TableNames};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["create-tables", prefix] => create_tables(prefix).await,
        ["create-event-resources", prefix] => resources::create(prefix).await,
        ["stream-mapping", table, function, address] => stream_mapping::run(table, function, address).await,
        _ => {
            eprintln!(
                "usage: local-stack create-tables <prefix> | create-event-resources <prefix> | \
                 stream-mapping <table> <function> <http://127.0.0.1:port>"
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
    let client = wif_store::dynamodb_client_from_env(None).await;
    let names = TableNames::with_prefix(prefix);
    wif_store::tables::create_tables(&client, &names)
        .await
        .map_err(|err| format!("creating tables failed: {err}"))?;
    for kind in TableKind::ALL {
        println!("{}={}", kind.env_var(), names.get(kind));
    }
    Ok(())
}
