//! Wires the feed Lambda: configuration and SDK clients once per environment, then the handler.

use std::sync::Arc;

use events_feed::config::FeedConfig;
use events_feed::{FeedApp, handle};
use lambda_http::{Error, Request, run, service_fn};
use wif_common::config::ProcessEnv;

#[tokio::main]
async fn main() -> Result<(), Error> {
    wif_common::telemetry::init_json_logging();
    let config =
        FeedConfig::from_env(&ProcessEnv).inspect_err(|err| tracing::error!(error = %err, "bad configuration"))?;
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = wif_store::dynamo::client_with(&shared);
    let kms = aws_sdk_kms::Client::new(&shared);
    let app = Arc::new(FeedApp::from_config(&config, &dynamodb, &kms)?);
    run(service_fn(move |request: Request| {
        let app = app.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&app, request).await) }
    }))
    .await
}
