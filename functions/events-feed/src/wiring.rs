//! What the feed function builds once per Lambda environment. `main.rs` calls it with the real SDK clients; the
//! IaC honesty tests call the same code over moto.

use std::sync::Arc;

use serde_json::{Value, json};
use wif_common::ConfigError;
use wif_events::feed::FeedService;
use wif_events::set::Issuer;
use wif_jose::JwsAlgorithm;
use wif_kms::KmsSigner;
use wif_store::TableKind;
use wif_store::clients::ClientRepository;
use wif_store::events::EventRepository;
use wif_store::tokens::TokenRepository;

use crate::config::FeedConfig;
use crate::signer::JwsSetSigner;
use crate::{FeedApp, PublicKeys};

/// The KMS key's public half as a one-key JWKS.
pub struct KmsKeys(pub Arc<KmsSigner>);

#[async_trait::async_trait]
impl PublicKeys for KmsKeys {
    async fn jwks(&self) -> Result<Value, String> {
        let jwk = self.0.public_jwk().await.map_err(|err| err.to_string())?;
        Ok(json!({ "keys": [jwk] }))
    }
}

impl FeedApp {
    pub fn from_config(
        config: &FeedConfig,
        dynamodb: &aws_sdk_dynamodb::Client,
        kms: &aws_sdk_kms::Client,
    ) -> Result<Self, ConfigError> {
        let tables = &config.tables;
        let signer = Arc::new(
            KmsSigner::new(kms.clone(), &config.signing_key, JwsAlgorithm::ES256).map_err(|err| {
                ConfigError::Invalid {
                    name: crate::config::SIGNING_KEY,
                    value: config.signing_key.clone(),
                    reason: err.to_string(),
                }
            })?,
        );
        let clock = Arc::new(wif_common::SystemClock);
        Ok(FeedApp {
            feed: FeedService {
                store: Arc::new(EventRepository::new(
                    dynamodb.clone(),
                    tables.get(TableKind::Events)?,
                    std::time::Duration::from_secs(7 * 86_400),
                )),
                signer: Arc::new(JwsSetSigner(signer.clone())),
                issuer: Issuer(config.issuer.clone()),
                settle: config.settle,
            },
            tokens: Arc::new(TokenRepository::new(
                dynamodb.clone(),
                tables.get(TableKind::Tokens)?,
                clock,
            )),
            clients: Arc::new(ClientRepository::new(dynamodb.clone(), tables.get(TableKind::Clients)?)),
            keys: Arc::new(KmsKeys(signer)),
            clock_ms: wif_common::clock::unix_millis,
            long_poll: config.long_poll,
            poll_interval: config.poll_interval,
        })
    }
}
