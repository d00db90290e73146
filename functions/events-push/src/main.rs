//! Wires the push Lambda: configuration and SDK clients once per environment, then one span per invocation.

use std::sync::Arc;

use events_push::config::PushConfig;
use events_push::{PushApp, Summary, handle};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use tracing::Instrument;
use wif_common::config::ProcessEnv;

#[tokio::main]
async fn main() -> Result<(), Error> {
    wif_common::telemetry::init_json_logging();
    let config =
        PushConfig::from_env(&ProcessEnv).inspect_err(|err| tracing::error!(error = %err, "bad configuration"))?;
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = wif_store::dynamo::client_with(&shared);
    let kms = aws_sdk_kms::Client::new(&shared);
    let app = Arc::new(PushApp::from_config(&config, &dynamodb, &kms)?);
    // The schedule's event says nothing we need.
    run(service_fn(move |event: LambdaEvent<Value>| {
        let app = app.clone();
        let span = tracing::info_span!("sweep", function = "events-push", request_id = %event.context.request_id);
        async move { handle(&app).await.map_err(Error::from) as Result<Summary, Error> }.instrument(span)
    }))
    .await
}
