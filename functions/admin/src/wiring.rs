//! What the admin function builds once per Lambda environment. `main.rs` calls it with the real SDK client and
//! HTTP fetcher; the IaC honesty tests call the same code over moto.

use std::sync::Arc;

use wif_auth::ports::JwksFetcher;
use wif_common::{Clock, ConfigError};
use wif_registry::{AuditQueries, ConnectionTester, RegistryPorts, RegistryService};
use wif_store::audit::AuditRepository;
use wif_store::clients::ClientRepository;
use wif_store::directory::DynamoDirectory;
use wif_store::events::EventRepository;
use wif_store::keys::KeyRepository;
use wif_store::portal::PortalRepository;
use wif_store::tokens::TokenRepository;
use wif_store::{DynamoClient, TableKind};

use crate::AdminApp;
use crate::config::AdminConfig;

impl AdminApp {
    pub fn from_config(
        config: &AdminConfig,
        client: &DynamoClient,
        clock: Arc<dyn Clock>,
        fetcher: Arc<dyn JwksFetcher>,
    ) -> Result<Self, ConfigError> {
        let tables = &config.tables;
        let audit = Arc::new(AuditRepository::new(
            client.clone(),
            tables.get(TableKind::Audit)?,
            config.audit_retention_days,
        ));
        let ports = RegistryPorts {
            store: Arc::new(ClientRepository::new(client.clone(), tables.get(TableKind::Clients)?)),
            tokens: Arc::new(TokenRepository::new(
                client.clone(),
                tables.get(TableKind::Tokens)?,
                clock.clone(),
            )),
            audit: audit.clone(),
            clock: clock.clone(),
            fetcher: fetcher.clone(),
        };
        let registry = RegistryService::new(ports, config.policy.clone(), config.urls.clone());
        let tester = ConnectionTester {
            keys: Arc::new(KeyRepository::new(client.clone(), tables.get(TableKind::Keys)?)),
            fetcher,
            clock: clock.clone(),
            policy: config.policy.clone(),
        };
        let links = wif_portal::links::TenantLinks::new(
            Arc::new(PortalRepository::new(client.clone(), tables.get(TableKind::Portal)?)),
            audit.clone(),
            clock.clone(),
            config.portal_url.clone(),
        );
        Ok(AdminApp {
            registry,
            tester,
            links,
            push_states: Arc::new(EventRepository::new(
                client.clone(),
                tables.get(TableKind::Events)?,
                std::time::Duration::from_secs(7 * 86_400),
            )),
            directory: DynamoDirectory::new(client.clone(), tables.get(TableKind::Directory)?),
            audit: AuditQueries::new(audit),
            local_development: config.policy.local_development,
            clock,
        })
    }
}
