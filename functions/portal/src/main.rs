//! Wires the portal Lambda: configuration, the DynamoDB and KMS clients and the HTTP clients once per environment,
//! then the handler.

use std::sync::Arc;

use lambda_http::{Error, Request, run, service_fn};
use portal::config::PortalConfig;
use portal::entra_http::HttpTokenEndpoint;
use portal::{Clients, PortalApp, handle};
use wif_common::SystemClock;
use wif_common::config::ProcessEnv;
use wif_jwks_http::HttpJwksFetcher;

#[tokio::main]
async fn main() -> Result<(), Error> {
    wif_common::telemetry::init_json_logging();
    let config =
        PortalConfig::from_env(&ProcessEnv).inspect_err(|err| tracing::error!(error = %err, "bad configuration"))?;
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    // Both HTTP clients (and the system's root certificates) are built on their first request, not here.
    let fetcher = HttpJwksFetcher::new(config.url_policy(), config.jwks_fetch);
    let token_endpoint = HttpTokenEndpoint::new(config.url_policy(), config.jwks_fetch.timeout);
    let clients = Clients {
        dynamo: wif_store::dynamo::client_with(&shared),
        kms: aws_sdk_kms::Client::new(&shared),
        clock: Arc::new(SystemClock),
        fetcher: Arc::new(fetcher),
        token_endpoint: Arc::new(token_endpoint),
    };
    let app = Arc::new(PortalApp::from_config(&config, clients)?);
    run(service_fn(move |request: Request| {
        let app = app.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&app, request).await) }
    }))
    .await
}
