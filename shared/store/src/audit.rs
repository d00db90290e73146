//! Audit table: one item per event, partitioned by tenant, sorted by time; the ClientIndex answers "what did this
//! client do". Items expire through TTL after the configured retention.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use wif_common::audit::{AuditError, AuditEvent, AuditSink};

use crate::dynamo::{StoreError, backend, malformed};
use crate::paging::{decode_cursor, encode_cursor};

pub const CLIENT_INDEX: &str = "ClientIndex";
/// Partition of events that belong to no tenant (e.g. a token request for an unknown client).
pub const NO_TENANT: &str = "-";

/// Which events to read. Either a tenant or a client is required; times are inclusive Unix seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub cursor: Option<String>,
    pub limit: u32,
    /// Newest first when true.
    pub descending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

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
        let (index, key_name, key_value) = match (&query.client_id, &query.tenant_id) {
            (Some(client), _) => (Some(CLIENT_INDEX), "client_id", client.clone()),
            (None, Some(tenant)) => (None, "pk", format!("tenant#{tenant}")),
            (None, None) => {
                return Err(StoreError::Malformed(
                    "an audit query needs a tenant or a client".into(),
                ));
            }
        };
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
            .set_exclusive_start_key(query.cursor.as_deref().map(decode_cursor).transpose()?);
        // A tenant query must not return another tenant's events through a crafted cursor: the key condition
        // above already pins the partition; for the client index we also pin the tenant when both are given.
        if let (Some(_), Some(tenant)) = (&query.client_id, &query.tenant_id) {
            request = request
                .filter_expression("tenant_id = :tenant")
                .expression_attribute_values(":tenant", AttributeValue::S(tenant.clone()));
        }
        let output = request.send().await.map_err(backend)?;
        let events = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| serde_dynamo::from_item::<_, AuditEvent>(item).map_err(malformed))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AuditPage {
            events,
            next_cursor: output
                .last_evaluated_key
                .filter(|key| !key.is_empty())
                .map(|key| encode_cursor(&key))
                .transpose()?,
        })
    }
}

#[async_trait::async_trait]
impl AuditSink for AuditRepository {
    async fn record(&self, event: AuditEvent) -> Result<(), AuditError> {
        event.log();
        self.put(&event).await.map_err(|e| AuditError(e.to_string()))
    }
}
