//! Wires the token Lambda: configuration, the DynamoDB client and the JWKS fetcher once per environment, then the
//! handler.

use std::sync::Arc;

use lambda_http::Error;
use token::TokenApp;
use token::config::TokenConfig;
use wif_common::SystemClock;
use wif_jwks_http::HttpJwksFetcher;

#[tokio::main]
async fn main() -> Result<(), Error> {
    wif_common::telemetry::init_json_logging();
    let config = wif_common::config::load(TokenConfig::from_env)?;
    let client = wif_store::dynamodb_client_from_env().await;
    let fetcher = HttpJwksFetcher::new(config.url_policy.clone(), config.fetch)
        .inspect_err(|err| tracing::error!(error = %err, "JWKS client"))?;
    let app = TokenApp::from_config(&config, &client, Arc::new(SystemClock), Arc::new(fetcher))?;
    wif_edge::serve(app).await
}
