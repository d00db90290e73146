//! Wires the SCIM Lambda: configuration and the DynamoDB client once per environment, then the handler.

use std::sync::Arc;

use lambda_http::{Error, Request, run, service_fn};
use scim::config::ScimConfig;
use scim::{ScimApp, handle};
use wif_common::config::ProcessEnv;
use wif_common::{Clock, SystemClock};
use wif_scim::api::ScimApi;
use wif_scim::service::{DirectoryService, ServiceConfig};
use wif_store::TableKind;
use wif_store::audit::AuditRepository;
use wif_store::directory::DynamoDirectory;
use wif_store::tokens::TokenRepository;

#[tokio::main]
async fn main() -> Result<(), Error> {
    wif_common::telemetry::init_json_logging();
    let config =
        ScimConfig::from_env(&ProcessEnv).inspect_err(|err| tracing::error!(error = %err, "bad configuration"))?;
    let client = wif_store::dynamodb_client_from_env(None).await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let tables = &config.tables;
    let service = DirectoryService::new(
        Arc::new(DynamoDirectory::new(client.clone(), tables.get(TableKind::Directory)?)),
        Arc::new(AuditRepository::new(
            client.clone(),
            tables.get(TableKind::Audit)?,
            config.audit_retention_days,
        )),
        clock.clone(),
        ServiceConfig::default(),
    );
    let app = Arc::new(ScimApp {
        api: ScimApi::new(service),
        tokens: Arc::new(TokenRepository::new(
            client,
            tables.get(TableKind::Tokens)?,
            clock.clone(),
        )),
        clock,
        public_scim_url: config.public_scim_url.clone(),
    });
    run(service_fn(move |request: Request| {
        let app = app.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&app, request).await) }
    }))
    .await
}
