//! Wires the admin Lambda: configuration, the DynamoDB client and the JWKS fetcher once per environment, then the
//! handler.

use std::sync::Arc;

use admin::AdminApp;
use admin::config::AdminConfig;
use lambda_http::Error;
use wif_common::SystemClock;
use wif_jwks_http::HttpJwksFetcher;

#[tokio::main]
async fn main() -> Result<(), Error> {
    wif_common::telemetry::init_json_logging();
    let config = wif_common::config::load(AdminConfig::from_env)?;
    let client = wif_store::dynamodb_client_from_env().await;
    // Its HTTP client (and the system's root certificates) is built on the first JWKS fetch, not here.
    let fetcher = HttpJwksFetcher::new(config.policy.url_policy(), config.jwks_fetch);
    let app = AdminApp::from_config(&config, &client, Arc::new(SystemClock), Arc::new(fetcher))?;
    wif_edge::serve(app).await
}
