//! Wires the admin Lambda: configuration, the DynamoDB client and the JWKS fetcher once per environment, then the
//! handler.

use std::sync::Arc;
use std::time::Duration;

use admin::AdminApp;
use admin::config::AdminConfig;
use lambda_http::Error;
use wif_common::SystemClock;
use wif_jwks_http::{FetchSettings, HttpJwksFetcher};

#[tokio::main]
async fn main() -> Result<(), Error> {
    wif_common::telemetry::init_json_logging();
    let config = wif_common::config::load(AdminConfig::from_env)?;
    let client = wif_store::dynamodb_client_from_env(None).await;
    let fetcher = HttpJwksFetcher::new(
        config.policy.url_policy(),
        FetchSettings::from_timeout(
            Duration::from_millis(config.jwks_fetch_timeout_ms),
            config.jwks_max_bytes,
        ),
    )
    .inspect_err(|err| tracing::error!(error = %err, "JWKS fetcher"))?;
    let app = AdminApp::from_config(&config, &client, Arc::new(SystemClock), Arc::new(fetcher))?;
    wif_edge::serve(app).await
}
