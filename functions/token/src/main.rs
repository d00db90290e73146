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
    // Its HTTP client (and the system's root certificates) is built on the first JWKS fetch, not here.
    let fetcher = HttpJwksFetcher::new(config.url_policy.clone(), config.fetch);
    let mut app = TokenApp::from_config(&config, &client, Arc::new(SystemClock), Arc::new(fetcher))?;
    app.front = wif_edge::load_front_default(config.origin_secret_arn.as_deref())
        .await
        .inspect_err(|err| tracing::error!(error = %err, "origin secret"))?;
    wif_edge::serve(app).await
}
