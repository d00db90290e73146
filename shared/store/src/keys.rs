//! Keys table: the shared (second-level) JWKS cache, one item per JWKS URL.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use wif_auth::ports::{KeyStore, StoreUnavailable, StoredJwks};

use crate::dynamo::{StoreError, backend, malformed};

#[derive(Debug, Clone)]
pub struct KeyRepository {
    client: Client,
    table: String,
}

impl KeyRepository {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub async fn get(&self, jwks_uri: &str) -> Result<Option<StoredJwks>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("jwks_uri", AttributeValue::S(jwks_uri.to_owned()))
            .send()
            .await
            .map_err(backend)?;
        output
            .item
            .map(|item| serde_dynamo::from_item(item).map_err(malformed))
            .transpose()
    }

    pub async fn put(&self, entry: &StoredJwks) -> Result<(), StoreError> {
        let item = serde_dynamo::to_item(entry).map_err(malformed)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Records a failed fetch without touching the last good document.
    pub async fn record_failure(&self, jwks_uri: &str, at: i64, reason: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("jwks_uri", AttributeValue::S(jwks_uri.to_owned()))
            .update_expression("SET last_attempt_at = :at, last_failure_at = :at, last_failure = :reason")
            .expression_attribute_values(":at", AttributeValue::N(at.to_string()))
            .expression_attribute_values(":reason", AttributeValue::S(reason.chars().take(500).collect()))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl KeyStore for KeyRepository {
    async fn get_jwks(&self, jwks_uri: &str) -> Result<Option<StoredJwks>, StoreUnavailable> {
        Ok(self.get(jwks_uri).await?)
    }

    async fn put_jwks(&self, entry: &StoredJwks) -> Result<(), StoreUnavailable> {
        Ok(self.put(entry).await?)
    }

    async fn record_fetch_failure(&self, jwks_uri: &str, at: i64, reason: &str) -> Result<(), StoreUnavailable> {
        Ok(self.record_failure(jwks_uri, at, reason).await?)
    }
}
