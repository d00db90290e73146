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
    let mut app = ScimApp::from_config(&config, &client, Arc::new(SystemClock))?;
    app.front = wif_edge::load_front_default(config.origin_secret_arn.as_deref())
        .await
        .inspect_err(|err| tracing::error!(error = %err, "origin secret"))?;
    wif_edge::serve(app).await
}
