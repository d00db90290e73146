//! Wires the admin Lambda: configuration, the DynamoDB client and the JWKS fetcher once per environment, then the
//! handler.

use std::sync::Arc;
use std::time::Duration;

use admin::config::AdminConfig;
use admin::{AdminApp, handle};
use lambda_http::{Error, Request, run, service_fn};
use wif_common::SystemClock;
use wif_common::config::ProcessEnv;
use wif_jwks_http::{FetchSettings, HttpJwksFetcher};
use wif_registry::{AuditQueries, ConnectionTester, RegistryService};
use wif_store::TableKind;
use wif_store::audit::AuditRepository;
use wif_store::clients::ClientRepository;
use wif_store::keys::KeyRepository;
use wif_store::tokens::TokenRepository;

#[tokio::main]
async fn main() -> Result<(), Error> {
    wif_common::telemetry::init_json_logging();
    let config =
        AdminConfig::from_env(&ProcessEnv).inspect_err(|err| tracing::error!(error = %err, "bad configuration"))?;
    let client = wif_store::dynamodb_client_from_env(None).await;
    let clock = Arc::new(SystemClock);
    let tables = &config.tables;
    let audit = Arc::new(AuditRepository::new(
        client.clone(),
        tables.get(TableKind::Audit)?,
        config.audit_retention_days,
    ));
    let registry = RegistryService::new(
        Arc::new(ClientRepository::new(client.clone(), tables.get(TableKind::Clients)?)),
        Arc::new(TokenRepository::new(
            client.clone(),
            tables.get(TableKind::Tokens)?,
            clock.clone(),
        )),
        audit.clone(),
        clock.clone(),
        config.policy.clone(),
        config.urls.clone(),
    );
    let fetcher = HttpJwksFetcher::new(
        config.policy.url_policy(),
        FetchSettings::from_timeout(
            Duration::from_millis(config.jwks_fetch_timeout_ms),
            config.jwks_max_bytes,
        ),
    )
    .inspect_err(|err| tracing::error!(error = %err, "JWKS fetcher"))?;
    let tester = ConnectionTester::new(
        Arc::new(KeyRepository::new(client, tables.get(TableKind::Keys)?)),
        Arc::new(fetcher),
        clock,
        config.policy.clone(),
    );
    let app = Arc::new(AdminApp {
        registry,
        tester,
        audit: AuditQueries::new(audit),
        local_development: config.policy.local_development,
    });
    run(service_fn(move |request: Request| {
        let app = app.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&app, request).await) }
    }))
    .await
}
