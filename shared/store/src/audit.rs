//! Audit table: one item per event, partitioned by tenant, sorted by time; the ClientIndex answers "what did this
//! client do". Items expire through TTL after the configured retention.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use wif_auth::ports::StoreUnavailable;
use wif_common::audit::{AuditError, AuditEvent, AuditSink};
use wif_registry::ports::{AuditLog, AuditQueryError};

use crate::dynamo::{StoreError, backend, malformed};
use crate::paging::{encode_cursor, try_decode_cursor};

pub const CLIENT_INDEX: &str = "ClientIndex";
/// Partition of events that belong to no tenant (e.g. a token request for an unknown client).
pub const NO_TENANT: &str = "-";

// The query types are the registry's port types, so the admin API's audit queries need no conversion layer.
pub use wif_registry::ports::{AuditPage, AuditQuery};

#[derive(Debug, Clone)]
pub struct AuditRepository {
    client: Client,
    table: String,
    retention_seconds: i64,
}

fn sort_key_bound(at: i64, upper: bool) -> String {
    // Zero-padded so lexical order is time order; `~` sorts after every id character.
    if upper {
        format!("{at:012}#~")
    } else {
        format!("{at:012}#")
    }
}

impl AuditRepository {
    pub fn new(client: Client, table: impl Into<String>, retention_days: u32) -> Self {
        Self {
            client,
            table: table.into(),
            retention_seconds: i64::from(retention_days) * 86_400,
        }
    }

    pub async fn put(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(event).map_err(malformed)?;
        let tenant = event.tenant_id.as_deref().unwrap_or(NO_TENANT);
        item.insert("pk".into(), AttributeValue::S(format!("tenant#{tenant}")));
        item.insert(
            "sk".into(),
            AttributeValue::S(format!("{:012}#{}", event.at, uuid::Uuid::new_v4().simple())),
        );
        item.insert(
            "expires_at".into(),
            AttributeValue::N((event.at + self.retention_seconds).to_string()),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub async fn query(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        self.checked_query(query).await.map_err(|err| match err {
            AuditQueryError::InvalidCursor => StoreError::Malformed("invalid cursor".into()),
            AuditQueryError::Unavailable(err) => StoreError::Backend(err.0),
        })
    }

    /// The start key a cursor names, if it belongs to this query's partition: DynamoDB would reject a key of
    /// another partition with a validation error (a 5xx-looking failure), and we want a plain "bad cursor" instead.
    fn start_key(
        query: &AuditQuery,
        key_name: &str,
        key_value: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, AuditQueryError> {
        let Some(cursor) = &query.cursor else { return Ok(None) };
        let key = try_decode_cursor(cursor).map_err(|_| AuditQueryError::InvalidCursor)?;
        let in_partition = matches!(key.get(key_name), Some(AttributeValue::S(value)) if value == key_value);
        let has_sort_key = matches!(key.get("sk"), Some(AttributeValue::S(_)));
        let expected_len = if key_name == "pk" { 2 } else { 3 };
        if in_partition && has_sort_key && key.len() == expected_len {
            Ok(Some(key))
        } else {
            Err(AuditQueryError::InvalidCursor)
        }
    }

    async fn checked_query(&self, query: &AuditQuery) -> Result<AuditPage, AuditQueryError> {
        let unavailable = |err: StoreError| AuditQueryError::Unavailable(StoreUnavailable::from(err));
        let (index, key_name, key_value) = match (&query.client_id, &query.tenant_id) {
            (Some(client), _) => (Some(CLIENT_INDEX), "client_id", client.clone()),
            (None, Some(tenant)) => (None, "pk", format!("tenant#{tenant}")),
            (None, None) => {
                return Err(unavailable(StoreError::Malformed(
                    "an audit query needs a tenant or a client".into(),
                )));
            }
        };
        let start = Self::start_key(query, key_name, &key_value)?;
        let from = sort_key_bound(query.from.unwrap_or(0), false);
        let to = sort_key_bound(query.to.unwrap_or(999_999_999_999), true);
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_owned))
            .key_condition_expression("#k = :k AND sk BETWEEN :from AND :to")
            .expression_attribute_names("#k", key_name)
            .expression_attribute_values(":k", AttributeValue::S(key_value))
            .expression_attribute_values(":from", AttributeValue::S(from))
            .expression_attribute_values(":to", AttributeValue::S(to))
            .scan_index_forward(!query.descending)
            .limit(query.limit.clamp(1, 1000) as i32)
            .set_exclusive_start_key(start);
        // A tenant query must not return another tenant's events through a crafted cursor: the key condition
        // above already pins the partition; for the client index we also pin the tenant when both are given.
        if let (Some(_), Some(tenant)) = (&query.client_id, &query.tenant_id) {
            request = request
                .filter_expression("tenant_id = :tenant")
                .expression_attribute_values(":tenant", AttributeValue::S(tenant.clone()));
        }
        let output = request.send().await.map_err(|err| unavailable(backend(err)))?;
        let events = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| serde_dynamo::from_item::<_, AuditEvent>(item).map_err(malformed))
            .collect::<Result<Vec<_>, _>>()
            .map_err(unavailable)?;
        Ok(AuditPage {
            events,
            next_cursor: output
                .last_evaluated_key
                .filter(|key| !key.is_empty())
                .map(|key| encode_cursor(&key))
                .transpose()
                .map_err(unavailable)?,
        })
    }
}

#[async_trait::async_trait]
impl AuditLog for AuditRepository {
    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, AuditQueryError> {
        self.checked_query(query).await
    }
}

#[async_trait::async_trait]
impl AuditSink for AuditRepository {
    async fn record(&self, event: AuditEvent) -> Result<(), AuditError> {
        event.log();
        self.put(&event).await.map_err(|e| AuditError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(pairs: &[(&str, &str)]) -> Option<String> {
        let key: HashMap<String, AttributeValue> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), AttributeValue::S((*v).to_owned())))
            .collect();
        Some(encode_cursor(&key).unwrap())
    }

    #[test]
    fn cursors_are_bound_to_their_partition() {
        let mut query = AuditQuery {
            tenant_id: Some("ta".into()),
            cursor: cursor(&[("pk", "tenant#ta"), ("sk", "000000000100#x")]),
            limit: 10,
            ..Default::default()
        };
        assert!(AuditRepository::start_key(&query, "pk", "tenant#ta").unwrap().is_some());
        assert_eq!(
            AuditRepository::start_key(&query, "pk", "tenant#tb"),
            Err(AuditQueryError::InvalidCursor)
        );
        query.cursor = cursor(&[("pk", "tenant#ta")]);
        assert!(AuditRepository::start_key(&query, "pk", "tenant#ta").is_err());
        query.cursor = Some("garbage!".into());
        assert!(AuditRepository::start_key(&query, "pk", "tenant#ta").is_err());
        query.cursor = cursor(&[("client_id", "c1"), ("pk", "tenant#ta"), ("sk", "000000000100#x")]);
        assert!(AuditRepository::start_key(&query, "client_id", "c1").unwrap().is_some());
        assert!(AuditRepository::start_key(&query, "client_id", "c2").is_err());
        query.cursor = None;
        assert_eq!(AuditRepository::start_key(&query, "pk", "tenant#ta"), Ok(None));
    }
}
