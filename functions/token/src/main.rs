//! Wires the token Lambda: configuration, the DynamoDB client and the JWKS fetcher once per environment (the
//! JWKS memory cache lives as long as the environment), then the handler.

use std::sync::Arc;

use lambda_http::{Error, Request, run, service_fn};
use token::config::TokenConfig;
use token::{TokenApp, handle};
use wif_auth::service::{TokenPorts, TokenService};
use wif_common::config::ProcessEnv;
use wif_common::{Clock, SystemClock};
use wif_jwks_http::HttpJwksFetcher;
use wif_store::TableKind;
use wif_store::audit::AuditRepository;
use wif_store::clients::ClientRepository;
use wif_store::keys::KeyRepository;
use wif_store::rate_limits::RateLimitRepository;
use wif_store::tokens::TokenRepository;

#[tokio::main]
async fn main() -> Result<(), Error> {
    wif_common::telemetry::init_json_logging();
    let config =
        TokenConfig::from_env(&ProcessEnv).inspect_err(|err| tracing::error!(error = %err, "bad configuration"))?;
    let client = wif_store::dynamodb_client_from_env(None).await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let tables = &config.tables;
    let fetcher = HttpJwksFetcher::new(config.url_policy.clone(), config.fetch)
        .inspect_err(|err| tracing::error!(error = %err, "JWKS client"))?;
    let service = TokenService::new(
        TokenPorts {
            clients: Arc::new(ClientRepository::new(client.clone(), tables.get(TableKind::Clients)?)),
            tokens: Arc::new(TokenRepository::new(
                client.clone(),
                tables.get(TableKind::Tokens)?,
                clock.clone(),
            )),
            key_store: Arc::new(KeyRepository::new(client.clone(), tables.get(TableKind::Keys)?)),
            fetcher: Arc::new(fetcher),
            rates: Arc::new(RateLimitRepository::new(
                client.clone(),
                tables.get(TableKind::RateLimits)?,
            )),
            audit: Arc::new(AuditRepository::new(
                client,
                tables.get(TableKind::Audit)?,
                config.audit_retention_days,
            )),
            clock,
        },
        config.token,
        config.cache,
    );
    let app = Arc::new(TokenApp {
        service,
        public_token_url: config.public_token_url.clone(),
    });
    run(service_fn(move |request: Request| {
        let app = app.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&app, request).await) }
    }))
    .await
}
