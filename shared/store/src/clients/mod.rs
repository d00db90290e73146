//! Clients table: client registrations.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use wif_auth::ports::{ClientLookup, StoreUnavailable};
use wif_auth::registration::Registration;
use wif_registry::ports::{ListError, RegistrationPage, RegistrationStore, RegistrationWriteError};

use crate::dynamo::{StoreError, backend, malformed};
use crate::paging::{decode_cursor, encode_cursor};

pub const ISSUER_SUBJECT_INDEX: &str = "IssuerSubjectIndex";
pub const TENANT_INDEX: &str = "TenantIndex";

/// Why a registration write did not happen.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ClientWriteError {
    #[error("a registration with this client_id already exists")]
    AlreadyExists,
    #[error("the registration changed since it was read (version mismatch) or no longer exists")]
    VersionConflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One page of registrations and the cursor of the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPage {
    pub items: Vec<Registration>,
    pub next_cursor: Option<String>,
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

    fn decode(item: HashMap<String, AttributeValue>) -> Result<Registration, StoreError> {
        serde_dynamo::from_item(item).map_err(malformed)
    }

    /// Strongly consistent read: a disabled or updated registration must take effect on the very next request.
    pub async fn get(&self, client_id: &str) -> Result<Option<Registration>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("client_id", AttributeValue::S(client_id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        output.item.map(Self::decode).transpose()
    }

    pub async fn find_by_issuer_subject(&self, issuer: &str, subject: &str) -> Result<Vec<Registration>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(ISSUER_SUBJECT_INDEX)
            .key_condition_expression("issuer = :issuer AND subject = :subject")
            .expression_attribute_values(":issuer", AttributeValue::S(issuer.to_owned()))
            .expression_attribute_values(":subject", AttributeValue::S(subject.to_owned()))
            .limit(10)
            .send()
            .await
            .map_err(backend)?;
        output.items.unwrap_or_default().into_iter().map(Self::decode).collect()
    }

    /// Stores a new registration; fails if the client_id is taken.
    pub async fn insert(&self, registration: &Registration) -> Result<(), ClientWriteError> {
        let item = serde_dynamo::to_item(registration).map_err(malformed)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(client_id)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(ClientWriteError::AlreadyExists)
            }
            Err(err) => Err(backend(err).into()),
        }
    }

    /// Replaces a registration if its stored version is still `expected_version`.
    pub async fn replace(&self, registration: &Registration, expected_version: u64) -> Result<(), ClientWriteError> {
        let item = serde_dynamo::to_item(registration).map_err(malformed)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_exists(client_id) AND version = :expected")
            .expression_attribute_values(":expected", AttributeValue::N(expected_version.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(ClientWriteError::VersionConflict)
            }
            Err(err) => Err(backend(err).into()),
        }
    }

    /// Deletes a registration, optionally only at the expected version. Returns whether it existed.
    pub async fn delete(&self, client_id: &str, expected_version: Option<u64>) -> Result<bool, ClientWriteError> {
        let mut request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("client_id", AttributeValue::S(client_id.to_owned()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld);
        if let Some(version) = expected_version {
            request = request
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", AttributeValue::N(version.to_string()));
        }
        match request.send().await {
            Ok(output) => Ok(output.attributes.is_some()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(ClientWriteError::VersionConflict)
            }
            Err(err) => Err(backend(err).into()),
        }
    }

    /// A page of registrations, of one tenant (TenantIndex) or of all (scan), in key order.
    pub async fn list(
        &self,
        tenant_id: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<ClientPage, StoreError> {
        let start = cursor.map(decode_cursor).transpose()?;
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
                    .limit(limit.clamp(1, 1000) as i32)
                    .send()
                    .await
                    .map_err(backend)?;
                (output.items.unwrap_or_default(), output.last_evaluated_key)
            }
            None => {
                let output = self
                    .client
                    .scan()
                    .table_name(&self.table)
                    .set_exclusive_start_key(start)
                    .limit(limit.clamp(1, 1000) as i32)
                    .send()
                    .await
                    .map_err(backend)?;
                (output.items.unwrap_or_default(), output.last_evaluated_key)
            }
        };
        Ok(ClientPage {
            items: items.into_iter().map(Self::decode).collect::<Result<_, _>>()?,
            next_cursor: last.map(|key| encode_cursor(&key)).transpose()?,
        })
    }

    /// Every distinct JWKS URL of every registration (for the scheduled refresh). Reads only that attribute.
    pub async fn all_jwks_uris(&self) -> Result<Vec<String>, StoreError> {
        let mut uris = std::collections::BTreeSet::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .projection_expression("jwks_uri")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                if let Some(AttributeValue::S(uri)) = item.get("jwks_uri") {
                    uris.insert(uri.clone());
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(uris.into_iter().collect())
    }
}

#[async_trait::async_trait]
impl ClientLookup for ClientRepository {
    async fn get_client(&self, client_id: &str) -> Result<Option<Registration>, StoreUnavailable> {
        Ok(self.get(client_id).await?)
    }

    async fn find_by_issuer_subject(&self, issuer: &str, subject: &str) -> Result<Vec<Registration>, StoreUnavailable> {
        Ok(ClientRepository::find_by_issuer_subject(self, issuer, subject).await?)
    }
}

fn write_error(err: ClientWriteError) -> RegistrationWriteError {
    match err {
        ClientWriteError::AlreadyExists => RegistrationWriteError::AlreadyExists,
        ClientWriteError::VersionConflict => RegistrationWriteError::VersionConflict,
        ClientWriteError::Store(err) => RegistrationWriteError::Unavailable(err.into()),
    }
}

#[async_trait::async_trait]
impl RegistrationStore for ClientRepository {
    async fn insert(&self, registration: &Registration) -> Result<(), RegistrationWriteError> {
        ClientRepository::insert(self, registration).await.map_err(write_error)
    }

    async fn get(&self, client_id: &str) -> Result<Option<Registration>, StoreUnavailable> {
        Ok(ClientRepository::get(self, client_id).await?)
    }

    async fn replace(&self, registration: &Registration, expected_version: u64) -> Result<(), RegistrationWriteError> {
        ClientRepository::replace(self, registration, expected_version)
            .await
            .map_err(write_error)
    }

    async fn delete(&self, client_id: &str, expected_version: Option<u64>) -> Result<bool, RegistrationWriteError> {
        ClientRepository::delete(self, client_id, expected_version)
            .await
            .map_err(write_error)
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
