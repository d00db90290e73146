//! Wires the token Lambda: configuration, the DynamoDB client and the JWKS fetcher once per environment, then the
//! handler.

use std::sync::Arc;

use lambda_http::{Error, Request, run, service_fn};
use token::config::TokenConfig;
use token::{TokenApp, handle};
use wif_common::SystemClock;
use wif_common::config::ProcessEnv;
use wif_jwks_http::HttpJwksFetcher;

#[tokio::main]
async fn main() -> Result<(), Error> {
    wif_common::telemetry::init_json_logging();
    let config =
        TokenConfig::from_env(&ProcessEnv).inspect_err(|err| tracing::error!(error = %err, "bad configuration"))?;
    let client = wif_store::dynamodb_client_from_env().await;
    let fetcher = HttpJwksFetcher::new(config.url_policy.clone(), config.fetch)
        .inspect_err(|err| tracing::error!(error = %err, "JWKS client"))?;
    let app = Arc::new(TokenApp::from_config(
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
