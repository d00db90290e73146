//! Wires the refresher: configuration, the DynamoDB client and the JWKS fetcher once per environment, then the
//! handler for each scheduled invocation.

use std::sync::Arc;

use jwks_refresh::config::RefreshConfig;
use jwks_refresh::{RefreshApp, handle};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use wif_common::SystemClock;
use wif_jwks_http::HttpJwksFetcher;

#[tokio::main]
async fn main() -> Result<(), Error> {
    wif_common::telemetry::init_json_logging();
    let config = wif_common::config::load(RefreshConfig::from_env)?;
    let client = wif_store::dynamodb_client_from_env().await;
    let fetcher = HttpJwksFetcher::new(config.url_policy.clone(), config.fetch);
    let app = Arc::new(RefreshApp::from_config(
        &config,
        &client,
        Arc::new(SystemClock),
        Arc::new(fetcher),
    )?);
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let app = app.clone();
        async move {
            let report = handle(&app, &event.context.request_id).await?;
            Ok::<_, Error>(serde_json::to_value(report)?)
        }
    }))
    .await
}
