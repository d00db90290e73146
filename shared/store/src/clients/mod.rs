//! Clients table: client registrations, and one uniqueness marker per trust.
//!
//! A registration item is keyed by its `client_id`. Every (issuer, subject, audience) a registration accepts also
//! has a marker item in the same table, keyed `trust#<SHA-256 of the three>` and naming the registration that holds
//! it; markers are written, moved and deleted in the same transaction as the registration ([`writes`]), so no two
//! registrations can ever hold one trust. A token request without `client_id` finds its registration through the
//! marker of the assertion's trust, with strongly consistent reads of the marker and of the registration.
//!
//! Markers carry neither `tenant_id` nor the registration's attributes, so they never appear in the TenantIndex,
//! and listings skip them.

mod writes;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;

use wif_auth::ports::{ClientLookup, StoreUnavailable};
use wif_auth::registration::{Registration, Trust};
use wif_registry::ports::{ListError, RegistrationPage, RegistrationStore, RegistrationWriteError, TrustHolder};

use crate::dynamo::{StoreError, backend, malformed};
use crate::paging::{decode_cursor, encode_cursor};

pub use writes::ClientWriteError;

pub const TENANT_INDEX: &str = "TenantIndex";
/// Marker items' key prefix (a registration's key is a UUID).
pub const MARKER_PREFIX: &str = "trust#";
/// How many registration pages one listing call may scan before it answers with what it found.
const MAX_SCAN_CALLS: usize = 20;

type Item = HashMap<String, AttributeValue>;

/// One page of registrations and the cursor of the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPage {
    pub items: Vec<Registration>,
    pub next_cursor: Option<String>,
}

/// The key of a trust's marker. The three values are length-prefixed before hashing, so no two trusts share a
/// key; hashing keeps the key within DynamoDB's 2,048-byte limit whatever the values' lengths.
pub fn marker_key(trust: &Trust) -> String {
    let joined = format!(
        "{}:{}|{}:{}|{}",
        trust.issuer.len(),
        trust.issuer,
        trust.subject.len(),
        trust.subject,
        trust.audience
    );
    format!("{MARKER_PREFIX}{}", wif_auth::credentials::sha256_hex(&joined))
}

fn text(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    }
}

#[derive(Debug, Clone)]
pub struct ClientRepository {
    client: Client,
    table: String,
}

impl ClientRepository {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn decode(item: Item) -> Result<Registration, StoreError> {
        serde_dynamo::from_item(item).map_err(malformed)
    }

    async fn get_item(&self, key: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("client_id", AttributeValue::S(key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        Ok(output.item)
    }

    /// Strongly consistent read: a disabled or updated registration must take effect on the very next request.
    pub async fn get(&self, client_id: &str) -> Result<Option<Registration>, StoreError> {
        if client_id.starts_with(MARKER_PREFIX) {
            return Ok(None);
        }
        self.get_item(client_id).await?.map(Self::decode).transpose()
    }

    /// The registration holding `trust`, if any: the marker, then the registration, both strongly consistent.
    pub async fn holder(&self, trust: &Trust) -> Result<Option<TrustHolder>, StoreError> {
        let Some(marker) = self.get_item(&marker_key(trust)).await? else {
            return Ok(None);
        };
        let holder = text(&marker, "trust_holder").ok_or_else(|| malformed("marker without trust_holder"))?;
        let tenant = text(&marker, "trust_tenant").unwrap_or_default();
        Ok(Some(TrustHolder {
            client_id: holder,
            tenant_id: tenant,
        }))
    }

    /// The registration holding `trust` (two strongly consistent reads). It must still list the trust: the marker
    /// and the registration change in one transaction, so anything else is a damaged table, answered as no match.
    pub async fn find_by_trust(&self, trust: &Trust) -> Result<Option<Registration>, StoreError> {
        let Some(holder) = self.holder(trust).await? else {
            return Ok(None);
        };
        let registration = self.get(&holder.client_id).await?;
        Ok(registration.filter(|registration| {
            let holds = registration.trusts().contains(trust);
            if !holds {
                tracing::error!(client_id = %registration.client_id, "trust marker names a registration without the trust");
            }
            holds
        }))
    }

    /// A page of registrations, of one tenant (TenantIndex) or of all (a scan that skips markers), in key order.
    pub async fn list(
        &self,
        tenant_id: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<ClientPage, StoreError> {
        let start = cursor.map(decode_cursor).transpose()?;
        let limit = limit.clamp(1, 1000);
        let (items, last) = match tenant_id {
            Some(tenant) => {
                let output = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(TENANT_INDEX)
                    .key_condition_expression("tenant_id = :tenant")
                    .expression_attribute_values(":tenant", AttributeValue::S(tenant.to_owned()))
                    .set_exclusive_start_key(start)
                    .limit(limit as i32)
                    .send()
                    .await
                    .map_err(backend)?;
                (output.items.unwrap_or_default(), output.last_evaluated_key)
            }
            None => self.scan_registrations(start, limit as usize).await?,
        };
        Ok(ClientPage {
            items: items.into_iter().map(Self::decode).collect::<Result<_, _>>()?,
            next_cursor: last.map(|key| encode_cursor(&key)).transpose()?,
        })
    }

    /// Up to `limit` registrations from `start` on, skipping markers; the key to continue from, if any.
    async fn scan_registrations(
        &self,
        mut start: Option<Item>,
        limit: usize,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let mut found = Vec::new();
        for _ in 0..MAX_SCAN_CALLS {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("NOT begins_with(client_id, :marker)")
                .expression_attribute_values(":marker", AttributeValue::S(MARKER_PREFIX.to_owned()))
                .set_exclusive_start_key(start.take())
                .limit(limit as i32)
                .send()
                .await
                .map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                found.push(item);
                if found.len() == limit {
                    let key = found.last().and_then(|last| last.get("client_id")).cloned();
                    return Ok((found, key.map(|key| HashMap::from([("client_id".to_owned(), key)]))));
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok((found, None)),
            }
        }
        // A table of mostly markers: answer with what was found and let the caller continue.
        Ok((found, start))
    }

    /// Every distinct JWKS URL of every credential of every registration (for the scheduled refresh), read in
    /// both item shapes; only those attributes are read.
    pub async fn all_jwks_uris(&self) -> Result<Vec<String>, StoreError> {
        let items = self
            .scan_all(|scan| scan.projection_expression("federated_credentials, jwks_uri"))
            .await?;
        let uris: std::collections::BTreeSet<String> = items.iter().flat_map(jwks_uris_of).collect();
        Ok(uris.into_iter().collect())
    }

    /// Every registration with an RFC 8935 push endpoint (for the push sweep): a filtered scan.
    pub async fn with_push_endpoints(&self) -> Result<Vec<Registration>, StoreError> {
        let items = self
            .scan_all(|scan| scan.filter_expression("attribute_exists(events.push_url)"))
            .await?;
        items.into_iter().map(Self::decode).collect()
    }

    /// Every item of a scan shaped by `shape`, page by page.
    async fn scan_all(
        &self,
        shape: impl Fn(ScanFluentBuilder) -> ScanFluentBuilder,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let output = shape(self.client.scan().table_name(&self.table))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }
}

/// The JWKS URLs of one item: each credential's, or the single one of an item stored before credentials.
fn jwks_uris_of(item: &Item) -> Vec<String> {
    let mut uris: Vec<String> = text(item, "jwks_uri").into_iter().collect();
    if let Some(AttributeValue::L(credentials)) = item.get("federated_credentials") {
        for credential in credentials {
            if let AttributeValue::M(fields) = credential {
                uris.extend(text(fields, "jwks_uri"));
            }
        }
    }
    uris
}

#[async_trait::async_trait]
impl ClientLookup for ClientRepository {
    async fn get_client(&self, client_id: &str) -> Result<Option<Registration>, StoreUnavailable> {
        Ok(self.get(client_id).await?)
    }

    async fn find_by_trust(&self, trust: &Trust) -> Result<Option<Registration>, StoreUnavailable> {
        Ok(ClientRepository::find_by_trust(self, trust).await?)
    }
}

#[async_trait::async_trait]
impl RegistrationStore for ClientRepository {
    async fn insert(&self, registration: &Registration) -> Result<(), RegistrationWriteError> {
        ClientRepository::insert(self, registration).await.map_err(Into::into)
    }

    async fn get(&self, client_id: &str) -> Result<Option<Registration>, StoreUnavailable> {
        Ok(ClientRepository::get(self, client_id).await?)
    }

    async fn replace(&self, current: &Registration, updated: &Registration) -> Result<(), RegistrationWriteError> {
        ClientRepository::replace(self, current, updated)
            .await
            .map_err(Into::into)
    }

    async fn delete(&self, current: &Registration) -> Result<bool, RegistrationWriteError> {
        ClientRepository::delete(self, current).await.map_err(Into::into)
    }

    async fn list(
        &self,
        tenant_id: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<RegistrationPage, ListError> {
        if let Some(cursor) = cursor {
            crate::paging::try_decode_cursor(cursor).map_err(|_| ListError::InvalidCursor)?;
        }
        let page = ClientRepository::list(self, tenant_id, cursor, limit)
            .await
            .map_err(|err| ListError::Unavailable(err.into()))?;
        Ok(RegistrationPage {
            items: page.items,
            next_cursor: page.next_cursor,
        })
    }
}
