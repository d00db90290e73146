//! What the token function builds once per Lambda environment (the JWKS memory cache lives as long as the
//! environment). `main.rs` calls it with the real SDK client and HTTP fetcher; the IaC honesty tests call the same
//! code over moto, so what they measure is what is deployed.

use std::sync::Arc;

use wif_auth::ports::JwksFetcher;
use wif_auth::service::{TokenPorts, TokenService};
use wif_common::{Clock, ConfigError};
use wif_store::audit::AuditRepository;
use wif_store::clients::ClientRepository;
use wif_store::keys::KeyRepository;
use wif_store::rate_limits::RateLimitRepository;
use wif_store::tokens::TokenRepository;
use wif_store::{DynamoClient, TableKind};

use crate::TokenApp;
use crate::config::TokenConfig;

impl TokenApp {
    pub fn from_config(
        config: &TokenConfig,
        client: &DynamoClient,
        clock: Arc<dyn Clock>,
        fetcher: Arc<dyn JwksFetcher>,
    ) -> Result<Self, ConfigError> {
        let tables = &config.tables;
        let ports = TokenPorts {
            clients: Arc::new(ClientRepository::new(client.clone(), tables.get(TableKind::Clients)?)),
            tokens: Arc::new(
                TokenRepository::new(client.clone(), tables.get(TableKind::Tokens)?, clock.clone())
                    .with_clients_table(tables.get(TableKind::Clients)?),
            ),
            key_store: Arc::new(KeyRepository::new(client.clone(), tables.get(TableKind::Keys)?)),
            fetcher,
            rates: Arc::new(RateLimitRepository::new(
                client.clone(),
                tables.get(TableKind::RateLimits)?,
            )),
            audit: Arc::new(AuditRepository::new(
                client.clone(),
                tables.get(TableKind::Audit)?,
                config.audit_retention_days,
            )),
            clock,
        };
        Ok(TokenApp {
            service: TokenService::new(ports, config.token, config.cache),
            public_token_url: config.public_token_url.clone(),
            front: wif_edge::Front::FunctionUrl,
        })
    }
}
