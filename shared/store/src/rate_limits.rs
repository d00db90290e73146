//! RateLimits table: fixed-window hit counters shared across Lambda environments.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use wif_auth::ports::{RateCounter, StoreUnavailable};

use crate::dynamo::{StoreError, backend};

#[derive(Debug, Clone)]
pub struct RateLimitRepository {
    client: Client,
    table: String,
}

impl RateLimitRepository {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// One atomic `ADD` per call: concurrent environments never lose a count.
    pub async fn add(&self, key: &str, hits: u64, window_start: i64, expires_at: i64) -> Result<u64, StoreError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("counter_key", AttributeValue::S(format!("{key}#{window_start}")))
            .update_expression("ADD hits :hits SET expires_at = :expires")
            .expression_attribute_values(":hits", AttributeValue::N(hits.to_string()))
            .expression_attribute_values(":expires", AttributeValue::N(expires_at.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(backend)?;
        let hits = output
            .attributes
            .as_ref()
            .and_then(|attrs| attrs.get("hits"))
            .and_then(|value| value.as_n().ok())
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| StoreError::Malformed("rate counter without hits".into()))?;
        Ok(hits)
    }
}

#[async_trait::async_trait]
impl RateCounter for RateLimitRepository {
    async fn add(&self, key: &str, hits: u64, window_start: i64, expires_at: i64) -> Result<u64, StoreUnavailable> {
        Ok(RateLimitRepository::add(self, key, hits, window_start, expires_at).await?)
    }
}
