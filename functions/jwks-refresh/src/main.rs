//! Wires the refresher: configuration, DynamoDB and HTTP clients once per environment; each scheduled invocation
//! refreshes every registered JWKS URL and returns the report.

use std::sync::Arc;

use jwks_refresh::Refresher;
use jwks_refresh::config::RefreshConfig;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use tracing::Instrument;
use wif_common::SystemClock;
use wif_common::config::ProcessEnv;
use wif_jwks_http::HttpJwksFetcher;
use wif_store::TableKind;
use wif_store::clients::ClientRepository;
use wif_store::keys::KeyRepository;

#[tokio::main]
async fn main() -> Result<(), Error> {
    wif_common::telemetry::init_json_logging();
    let config =
        RefreshConfig::from_env(&ProcessEnv).inspect_err(|err| tracing::error!(error = %err, "bad configuration"))?;
    let client = wif_store::dynamodb_client_from_env(None).await;
    let clients = ClientRepository::new(client.clone(), config.tables.get(TableKind::Clients)?);
    let fetcher = HttpJwksFetcher::new(config.url_policy.clone(), config.fetch)?;
    let refresher = Arc::new(Refresher {
        store: Arc::new(KeyRepository::new(client, config.tables.get(TableKind::Keys)?)),
        fetcher: Arc::new(fetcher),
        clock: Arc::new(SystemClock),
    });
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let refresher = refresher.clone();
        let clients = clients.clone();
        let span = tracing::info_span!("refresh", function = "jwks-refresh", request_id = %event.context.request_id);
        async move {
            let uris = clients.all_jwks_uris().await?;
            let report = refresher.refresh_all(uris).await;
            tracing::info!(
                updated = report.updated,
                unchanged = report.unchanged,
                failed = report.failed,
                "refresh done"
            );
            Ok::<_, Error>(serde_json::to_value(report)?)
        }
        .instrument(span)
    }))
    .await
}
