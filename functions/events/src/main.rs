//! Wires the events Lambda: configuration and SDK clients once per environment, then one span per batch.

use std::sync::Arc;

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::DynamoDbEventResponse;
use events::config::EventsConfig;
use events::{EventsApp, handle};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use tracing::Instrument;
use wif_common::config::ProcessEnv;

#[tokio::main]
async fn main() -> Result<(), Error> {
    wif_common::telemetry::init_json_logging();
    let config =
        EventsConfig::from_env(&ProcessEnv).inspect_err(|err| tracing::error!(error = %err, "bad configuration"))?;
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = wif_store::dynamo::client_with(&shared);
    let eventbridge = aws_sdk_eventbridge::Client::new(&shared);
    let app = Arc::new(EventsApp::from_config(&config, &dynamodb, &eventbridge)?);
    run(service_fn(move |event: LambdaEvent<Event>| {
        let app = app.clone();
        let span = tracing::info_span!("batch", function = "events", request_id = %event.context.request_id);
        async move { Ok::<DynamoDbEventResponse, Error>(handle(&app, event.payload).await) }.instrument(span)
    }))
    .await
}
