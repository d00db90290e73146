//! Wires the admin Lambda: configuration and the DynamoDB client once per environment, then the handler.

use std::sync::Arc;

use admin::config::AdminConfig;
use admin::{AdminApp, handle};
use lambda_http::{Error, Request, run, service_fn};
use wif_common::SystemClock;
use wif_common::config::ProcessEnv;
use wif_registry::RegistryService;
use wif_store::TableKind;
use wif_store::audit::AuditRepository;
use wif_store::clients::ClientRepository;
use wif_store::tokens::TokenRepository;

#[tokio::main]
async fn main() -> Result<(), Error> {
    wif_common::telemetry::init_json_logging();
    let config =
        AdminConfig::from_env(&ProcessEnv).inspect_err(|err| tracing::error!(error = %err, "bad configuration"))?;
    let client = wif_store::dynamodb_client_from_env(None).await;
    let clock = Arc::new(SystemClock);
    let tables = &config.tables;
    let registry = RegistryService::new(
        Arc::new(ClientRepository::new(client.clone(), tables.get(TableKind::Clients)?)),
        Arc::new(TokenRepository::new(
            client.clone(),
            tables.get(TableKind::Tokens)?,
            clock.clone(),
        )),
        Arc::new(AuditRepository::new(
            client,
            tables.get(TableKind::Audit)?,
            config.audit_retention_days,
        )),
        clock,
        config.policy.clone(),
        config.urls.clone(),
    );
    let app = Arc::new(AdminApp {
        registry,
        local_development: config.policy.local_development,
    });
    run(service_fn(move |request: Request| {
        let app = app.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&app, request).await) }
    }))
    .await
}
