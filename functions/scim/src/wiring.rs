//! What the SCIM function builds once per Lambda environment. `main.rs` calls it with the real SDK client; the
//! IaC honesty tests call the same code over moto.

use std::sync::Arc;

use wif_auth::request_limit::RequestLimit;
use wif_common::{Clock, ConfigError};
use wif_scim::api::ScimApi;
use wif_scim::service::{DirectoryService, ServiceConfig};
use wif_store::audit::AuditRepository;
use wif_store::directory::DynamoDirectory;
use wif_store::rate_limits::RateLimitRepository;
use wif_store::tokens::TokenRepository;
use wif_store::{DynamoClient, TableKind};

use crate::config::ScimConfig;
use crate::{RATE_COUNT_BATCH, ScimApp};

impl ScimApp {
    pub fn from_config(config: &ScimConfig, client: &DynamoClient, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
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
        let counter = Arc::new(RateLimitRepository::new(
            client.clone(),
            tables.get(TableKind::RateLimits)?,
        ));
        Ok(ScimApp {
            front: wif_edge::Front::FunctionUrl,
            api: ScimApi::new(service),
            limit: RequestLimit::new(counter, "scim:client", config.rate_limit_per_minute, RATE_COUNT_BATCH),
            tokens: Arc::new(TokenRepository::new(
                client.clone(),
                tables.get(TableKind::Tokens)?,
                clock.clone(),
            )),
            clock,
            public_scim_url: config.public_scim_url.clone(),
        })
    }
}
