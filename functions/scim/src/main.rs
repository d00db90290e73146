//! Wires the SCIM Lambda: configuration and the DynamoDB client once per environment, then the handler.

use std::sync::Arc;

use lambda_http::Error;
use scim::ScimApp;
use scim::config::ScimConfig;
use wif_common::SystemClock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    wif_common::telemetry::init_json_logging();
    let config = wif_common::config::load(ScimConfig::from_env)?;
    let client = wif_store::dynamodb_client_from_env().await;
    let app = ScimApp::from_config(&config, &client, Arc::new(SystemClock))?;
    wif_edge::serve(app).await
}
