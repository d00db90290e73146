//! `local-stack create-tables <prefix>`: creates every table of infra/template.yaml, named `<prefix>-<LogicalId>`,
//! in the DynamoDB endpoint of `AWS_ENDPOINT_URL_DYNAMODB` (the local moto server). Existing tables are kept, so
//! re-running is harmless. Prints the environment lines that point the functions at those tables.

use std::process::ExitCode;

use wif_store::{TableKind, TableNames};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let prefix = match args.as_slice() {
        [command, prefix] if command == "create-tables" => prefix.clone(),
        _ => {
            eprintln!("usage: local-stack create-tables <table-name-prefix>");
            return ExitCode::from(2);
        }
    };
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        eprintln!("local-stack: AWS_ENDPOINT_URL_DYNAMODB must point at the local DynamoDB server");
        return ExitCode::from(2);
    }
    let client = wif_store::dynamodb_client_from_env().await;
    let names = TableNames::with_prefix(&prefix);
    if let Err(err) = wif_testkit::tables::create_tables(&client, &names).await {
        eprintln!("local-stack: creating tables failed: {err}");
        return ExitCode::FAILURE;
    }
    for kind in TableKind::ALL {
        println!("{}={}", kind.env_var(), names.get(kind));
    }
    ExitCode::SUCCESS
}
