//! Wires the admin Lambda: configuration, the DynamoDB client and the JWKS fetcher once per environment, then the
//! handler.

use std::sync::Arc;

use admin::config::AdminConfig;
use admin::{AdminApp, handle};
use lambda_http::{Error, Request, run, service_fn};
use wif_common::SystemClock;
use wif_common::config::ProcessEnv;
use wif_jwks_http::HttpJwksFetcher;

#[tokio::main]
async fn main() -> Result<(), Error> {
    wif_common::telemetry::init_json_logging();
    let config =
        AdminConfig::from_env(&ProcessEnv).inspect_err(|err| tracing::error!(error = %err, "bad configuration"))?;
    let client = wif_store::dynamodb_client_from_env(None).await;
    let fetcher = HttpJwksFetcher::new(config.policy.url_policy(), config.jwks_fetch)
        .inspect_err(|err| tracing::error!(error = %err, "JWKS fetcher"))?;
    let app = Arc::new(AdminApp::from_config(
        &config,
        &client,
        Arc::new(SystemClock),
        Arc::new(fetcher),
    )?);
    run(service_fn(move |request: Request| {
        let app = app.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&app, request).await) }
    }))
    .await
}
