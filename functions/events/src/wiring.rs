//! What the events function builds once per Lambda environment. `main.rs` calls it with the real SDK clients; the
//! IaC honesty tests call the same code over moto.

use std::sync::Arc;

use wif_common::ConfigError;
use wif_events::ingest::Ingest;
use wif_events::pipeline::{EventBus, Pipeline};
use wif_events::set::Issuer;
use wif_store::TableKind;
use wif_store::events::EventRepository;

use crate::EventsApp;
use crate::bus::EventBridgeBus;
use crate::config::EventsConfig;

impl EventsApp {
    pub fn from_config(
        config: &EventsConfig,
        dynamodb: &aws_sdk_dynamodb::Client,
        eventbridge: &aws_sdk_eventbridge::Client,
    ) -> Result<Self, ConfigError> {
        let store = Arc::new(EventRepository::new(
            dynamodb.clone(),
            config.tables.get(TableKind::Events)?,
            config.retention,
        ));
        let bus = config.bus.as_ref().map(|name| {
            let bus: Arc<dyn EventBus> = Arc::new(EventBridgeBus {
                client: eventbridge.clone(),
                bus_name: name.clone(),
            });
            (bus, config.bus_level)
        });
        Ok(EventsApp {
            pipeline: Pipeline {
                ingest: Ingest {
                    store,
                    settle: config.settle,
                },
                bus,
                issuer: Issuer(config.issuer.clone()),
            },
            clock_ms: wif_common::clock::unix_millis,
        })
    }
}
