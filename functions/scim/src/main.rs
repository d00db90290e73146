//! Wires the SCIM Lambda: configuration and the DynamoDB client once per environment, then the handler.

use std::sync::Arc;

use lambda_http::{Error, Request, run, service_fn};
use scim::config::ScimConfig;
use scim::{ScimApp, handle};
use wif_common::SystemClock;
use wif_common::config::ProcessEnv;

#[tokio::main]
async fn main() -> Result<(), Error> {
    wif_common::telemetry::init_json_logging();
    let config =
        ScimConfig::from_env(&ProcessEnv).inspect_err(|err| tracing::error!(error = %err, "bad configuration"))?;
    let client = wif_store::dynamodb_client_from_env().await;
    let app = Arc::new(ScimApp::from_config(&config, &client, Arc::new(SystemClock))?);
    run(service_fn(move |request: Request| {
        let app = app.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&app, request).await) }
    }))
    .await
}
