//! Registration writes, each one transaction with the trust markers it moves:
//! - insert: the registration (`attribute_not_exists`) + a marker per trust (`attribute_not_exists`);
//! - replace: the registration (conditional on the version read) + markers of trusts gained (absent, or already
//!   this registration's: an item stored before markers gets all of them) + deletion of markers of trusts lost;
//! - delete: the registration (conditional on the version read) + deletion of its markers.
//!
//! A marker is only ever deleted by the registration it names (`attribute_not_exists OR trust_holder = :me`, which
//! also tolerates a marker that is already gone). A failed condition is mapped from the cancellation reason's index
//! to what it means; a trust held by another registration is reported with its holder, read afterwards.

use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};

use wif_auth::registration::{Registration, Trust};
use wif_registry::ports::{RegistrationWriteError, TrustHolder};

use super::{ClientRepository, Item, marker_key};
use crate::dynamo::{StoreError, backend, malformed};

/// How often a transaction that collided with another one on the same items is tried.
const CONFLICT_ATTEMPTS: u32 = 3;
const HOLDER_CONDITION: &str = "attribute_not_exists(client_id) OR trust_holder = :holder";

/// Why a registration write did not happen.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ClientWriteError {
    #[error("a registration with this client_id already exists")]
    AlreadyExists,
    #[error("the registration changed since it was read (version mismatch) or no longer exists")]
    VersionConflict,
    #[error("another registration holds the trust")]
    TrustTaken { trust: Trust, holder: Option<TrustHolder> },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ClientWriteError> for RegistrationWriteError {
    fn from(err: ClientWriteError) -> Self {
        match err {
            ClientWriteError::AlreadyExists => RegistrationWriteError::AlreadyExists,
            ClientWriteError::VersionConflict => RegistrationWriteError::VersionConflict,
            ClientWriteError::TrustTaken { trust, holder } => RegistrationWriteError::TrustTaken { trust, holder },
            ClientWriteError::Store(err) => RegistrationWriteError::Unavailable(err.into()),
        }
    }
}

/// What the item at an index of a transaction is, for mapping its failed condition.
enum Role {
    Registration,
    Claim(Trust),
    Release,
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn version(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

impl ClientRepository {
    fn put(
        &self,
        item: Item,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        for (name, value) in values {
            put = put.expression_attribute_values(name, value);
        }
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(malformed)?)
            .build())
    }

    fn delete_item(
        &self,
        key: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut delete = Delete::builder()
            .table_name(&self.table)
            .key("client_id", s(key))
            .condition_expression(condition);
        for (name, value) in values {
            delete = delete.expression_attribute_values(name, value);
        }
        Ok(TransactWriteItem::builder()
            .delete(delete.build().map_err(malformed)?)
            .build())
    }

    fn claim(&self, trust: &Trust, registration: &Registration) -> Result<TransactWriteItem, StoreError> {
        let item = Item::from([
            ("client_id".to_owned(), s(&marker_key(trust))),
            ("trust_holder".to_owned(), s(&registration.client_id)),
            ("trust_tenant".to_owned(), s(&registration.tenant_id)),
            ("trust_issuer".to_owned(), s(&trust.issuer)),
            ("trust_subject".to_owned(), s(&trust.subject)),
            ("trust_audience".to_owned(), s(&trust.audience)),
        ]);
        self.put(item, HOLDER_CONDITION, vec![(":holder", s(&registration.client_id))])
    }

    fn release(&self, trust: &Trust, client_id: &str) -> Result<TransactWriteItem, StoreError> {
        self.delete_item(&marker_key(trust), HOLDER_CONDITION, vec![(":holder", s(client_id))])
    }

    /// Stores a new registration and a marker per trust; fails if the client_id or a trust is taken.
    pub async fn insert(&self, registration: &Registration) -> Result<(), ClientWriteError> {
        let item = serde_dynamo::to_item(registration).map_err(malformed)?;
        let mut items = vec![(
            self.put(item, "attribute_not_exists(client_id)", vec![])?,
            Role::Registration,
        )];
        for trust in registration.trusts() {
            items.push((self.claim(&trust, registration)?, Role::Claim(trust)));
        }
        self.transact(items, ClientWriteError::AlreadyExists).await
    }

    /// Replaces `current` by `updated` if the stored version is still `current.version`, moving markers.
    pub async fn replace(&self, current: &Registration, updated: &Registration) -> Result<(), ClientWriteError> {
        let item = serde_dynamo::to_item(updated).map_err(malformed)?;
        let condition = "attribute_exists(client_id) AND version = :expected";
        let put = self.put(item, condition, vec![(":expected", version(current.version))])?;
        let mut items = vec![(put, Role::Registration)];
        let (before, after) = (current.trusts(), updated.trusts());
        for trust in after.iter().filter(|t| current.markers_pending || !before.contains(t)) {
            items.push((self.claim(trust, updated)?, Role::Claim(trust.clone())));
        }
        for trust in before.iter().filter(|t| !after.contains(t)) {
            items.push((self.release(trust, &current.client_id)?, Role::Release));
        }
        self.transact(items, ClientWriteError::VersionConflict).await
    }

    /// Deletes `current` (only at its version) and its markers. Returns whether it existed.
    pub async fn delete(&self, current: &Registration) -> Result<bool, ClientWriteError> {
        let condition = "attribute_exists(client_id) AND version = :expected";
        let delete = self.delete_item(
            &current.client_id,
            condition,
            vec![(":expected", version(current.version))],
        )?;
        let mut items = vec![(delete, Role::Registration)];
        for trust in current.trusts() {
            items.push((self.release(&trust, &current.client_id)?, Role::Release));
        }
        match self.transact(items, ClientWriteError::VersionConflict).await {
            Ok(()) => Ok(true),
            Err(ClientWriteError::VersionConflict) => match self.get(&current.client_id).await? {
                None => Ok(false),
                Some(_) => Err(ClientWriteError::VersionConflict),
            },
            Err(err) => Err(err),
        }
    }

    /// Runs the transaction (retrying collisions with concurrent transactions); a failed condition becomes the
    /// error of its item: `on_registration` for the registration, the holder for a claimed trust.
    async fn transact(
        &self,
        items: Vec<(TransactWriteItem, Role)>,
        on_registration: ClientWriteError,
    ) -> Result<(), ClientWriteError> {
        let (writes, roles): (Vec<_>, Vec<_>) = items.into_iter().unzip();
        for attempt in 1..=CONFLICT_ATTEMPTS {
            let err = match self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes.clone()))
                .send()
                .await
            {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error() else {
                return Err(backend(err).into());
            };
            let reasons = cancelled.cancellation_reasons();
            if let Some(index) = reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed")) {
                return Err(match &roles[index] {
                    Role::Registration => on_registration,
                    Role::Claim(trust) => ClientWriteError::TrustTaken {
                        holder: self.holder(trust).await?,
                        trust: trust.clone(),
                    },
                    // Only another registration's marker refuses: the registration was changed meanwhile.
                    Role::Release => ClientWriteError::VersionConflict,
                });
            }
            if !reasons.iter().any(|r| r.code() == Some("TransactionConflict")) || attempt == CONFLICT_ATTEMPTS {
                return Err(backend(err).into());
            }
            tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
        }
        Err(ClientWriteError::VersionConflict)
    }
}
