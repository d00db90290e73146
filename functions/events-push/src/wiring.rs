//! What the push function builds once per Lambda environment. `main.rs` calls it with the real SDK clients; the
//! IaC honesty tests call the same code over moto.

use std::sync::Arc;

use events_feed::signer::JwsSetSigner;
use wif_auth::registration::Registration;
use wif_auth::url_policy::PushUrlPolicy;
use wif_common::ConfigError;
use wif_events::delivery::PushDelivery;
use wif_events::feed::FeedService;
use wif_events::set::Issuer;
use wif_jose::JwsAlgorithm;
use wif_jwks_http::FetchSettings;
use wif_jwks_http::push::{ANSWER_BYTES, HttpSetPoster};
use wif_kms::KmsSigner;
use wif_store::TableKind;
use wif_store::clients::ClientRepository;
use wif_store::events::EventRepository;

use crate::config::PushConfig;
use crate::{HttpTransport, PushApp, PushRegistrations};

#[async_trait::async_trait]
impl PushRegistrations for ClientRepository {
    async fn with_push_endpoints(&self) -> Result<Vec<Registration>, String> {
        ClientRepository::with_push_endpoints(self)
            .await
            .map_err(|err| err.to_string())
    }
}

fn invalid(name: &'static str, value: &str, reason: impl ToString) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: value.to_owned(),
        reason: reason.to_string(),
    }
}

impl PushApp {
    pub fn from_config(
        config: &PushConfig,
        dynamodb: &aws_sdk_dynamodb::Client,
        kms: &aws_sdk_kms::Client,
    ) -> Result<Self, ConfigError> {
        let key = &config.signing_key;
        let signer = KmsSigner::new(kms.clone(), key, JwsAlgorithm::ES256)
            .map_err(|err| invalid(events_feed::config::SIGNING_KEY, key, err))?;
        let events = Arc::new(EventRepository::new(
            dynamodb.clone(),
            config.tables.get(TableKind::Events)?,
            std::time::Duration::from_secs(7 * 86_400),
        ));
        let settings = FetchSettings::from_timeout(config.timeout, ANSWER_BYTES);
        let poster = HttpSetPoster::new(PushUrlPolicy::new(config.local_development), settings);
        Ok(PushApp {
            delivery: PushDelivery {
                feed: Arc::new(FeedService {
                    store: events.clone(),
                    signer: Arc::new(JwsSetSigner(Arc::new(signer))),
                    issuer: Issuer(config.issuer.clone()),
                    settle: config.settle,
                }),
                states: events,
                transport: Arc::new(HttpTransport(poster)),
                schedule: config.schedule,
            },
            registrations: Arc::new(ClientRepository::new(
                dynamodb.clone(),
                config.tables.get(TableKind::Clients)?,
            )),
            concurrency: config.concurrency,
            sweep_for: config.sweep_for,
            interval: config.interval,
            clock_ms: wif_common::clock::unix_millis,
        })
    }
}
