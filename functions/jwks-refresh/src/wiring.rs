//! What the refresher builds once per Lambda environment. `main.rs` calls it with the real SDK client and HTTP
//! fetcher; the IaC honesty tests call the same code over moto, so what they measure is what is deployed.

use std::sync::Arc;

use wif_auth::ports::JwksFetcher;
use wif_common::{Clock, ConfigError};
use wif_store::clients::ClientRepository;
use wif_store::keys::KeyRepository;
use wif_store::{DynamoClient, TableKind};

use crate::config::RefreshConfig;
use crate::{RefreshApp, Refresher};

impl RefreshApp {
    pub fn from_config(
        config: &RefreshConfig,
        client: &DynamoClient,
        clock: Arc<dyn Clock>,
        fetcher: Arc<dyn JwksFetcher>,
    ) -> Result<Self, ConfigError> {
        let tables = &config.tables;
        Ok(RefreshApp {
            refresher: Refresher {
                store: Arc::new(KeyRepository::new(client.clone(), tables.get(TableKind::Keys)?)),
                fetcher,
                clock,
            },
            clients: ClientRepository::new(client.clone(), tables.get(TableKind::Clients)?),
        })
    }
}
