//! The Portal table: pending sign-ins, sessions, tenant links and invitations of the customer portal, behind
//! `wif-portal`'s [`SessionStore`] and [`TenantLinkStore`]. One item per thing, keyed `<kind>#<id>`; what a bearer
//! value (session id, sign-in cookie, invitation code) keys is its SHA-256, never the value. A pending sign-in is
//! taken with one conditional delete that returns it, so it can be used once; an invitation is redeemed in one
//! transaction with the link it creates.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, ReturnValue, TransactWriteItem};
use serde::Serialize;
use serde::de::DeserializeOwned;

use wif_auth::ports::StoreUnavailable;
use wif_portal::model::{Invitation, PendingSignIn, Session, TenantLink};
use wif_portal::ports::{LinkWriteError, SessionStore, TenantLinkStore};

use crate::dynamo::{StoreError, backend, malformed};

type Item = HashMap<String, AttributeValue>;

pub struct PortalRepository {
    client: Client,
    table: String,
}

fn key(kind: &str, id: &str) -> Item {
    HashMap::from([("pk".to_owned(), AttributeValue::S(format!("{kind}#{id}")))])
}

fn conditional_failed<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(err: &E) -> bool {
    err.code() == Some("ConditionalCheckFailedException")
}

/// The item of `value` under `<kind>#<id>`, with its TTL when it has one.
fn item<T: Serialize>(kind: &str, id: &str, value: &T, expires_at: Option<i64>) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(malformed)?;
    item.extend(key(kind, id));
    item.insert("kind".into(), AttributeValue::S(kind.to_owned()));
    if let Some(at) = expires_at {
        item.insert("expires_at".into(), AttributeValue::N(at.to_string()));
    }
    Ok(item)
}

fn parse<T: DeserializeOwned>(mut item: Item) -> Result<T, StoreError> {
    item.remove("pk");
    item.remove("kind");
    serde_dynamo::from_item(item).map_err(malformed)
}

impl PortalRepository {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn get<T: DeserializeOwned>(&self, kind: &str, id: &str) -> Result<Option<T>, StoreError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(kind, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        answer.item.map(parse).transpose()
    }

    /// Deletes and returns what was there.
    async fn take<T: DeserializeOwned>(&self, kind: &str, id: &str) -> Result<Option<T>, StoreError> {
        let answer = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(kind, id)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(backend)?;
        answer.attributes.map(parse).transpose()
    }
}

#[async_trait::async_trait]
impl SessionStore for PortalRepository {
    async fn put_pending(&self, pending: &PendingSignIn) -> Result<(), StoreUnavailable> {
        Ok(self
            .put(item("signin", &pending.key_hash, pending, Some(pending.expires_at))?)
            .await?)
    }

    async fn take_pending(&self, key_hash: &str) -> Result<Option<PendingSignIn>, StoreUnavailable> {
        Ok(self.take("signin", key_hash).await?)
    }

    async fn put_session(&self, session: &Session) -> Result<(), StoreUnavailable> {
        Ok(self
            .put(item("session", &session.id_hash, session, Some(session.expires_at))?)
            .await?)
    }

    async fn get_session(&self, id_hash: &str) -> Result<Option<Session>, StoreUnavailable> {
        Ok(self.get("session", id_hash).await?)
    }

    async fn touch_session(
        &self,
        id_hash: &str,
        last_seen_at: i64,
        idle_expires_at: i64,
    ) -> Result<(), StoreUnavailable> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key("session", id_hash)))
            .update_expression("SET last_seen_at = :seen, idle_expires_at = :idle")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":seen", AttributeValue::N(last_seen_at.to_string()))
            .expression_attribute_values(":idle", AttributeValue::N(idle_expires_at.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Signed out in the meantime: nothing to renew.
            Err(err) if err.as_service_error().is_some_and(conditional_failed) => Ok(()),
            Err(err) => Err(backend(err).into()),
        }
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreUnavailable> {
        self.take::<Session>("session", id_hash).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl TenantLinkStore for PortalRepository {
    async fn get_link(&self, entra_tenant_id: &str) -> Result<Option<TenantLink>, StoreUnavailable> {
        Ok(self.get("link", entra_tenant_id).await?)
    }

    async fn insert_link(&self, link: &TenantLink) -> Result<(), LinkWriteError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(
                item("link", &link.entra_tenant_id, link, None).map_err(StoreUnavailable::from)?,
            ))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if err.as_service_error().is_some_and(conditional_failed) => Err(LinkWriteError::AlreadyLinked),
            Err(err) => Err(LinkWriteError::Unavailable(backend(err).into())),
        }
    }

    async fn delete_link(&self, entra_tenant_id: &str) -> Result<bool, StoreUnavailable> {
        Ok(self.take::<TenantLink>("link", entra_tenant_id).await?.is_some())
    }

    async fn list_links(&self) -> Result<Vec<TenantLink>, StoreUnavailable> {
        let mut links = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("#kind = :link")
                .expression_attribute_names("#kind", "kind")
                .expression_attribute_values(":link", AttributeValue::S("link".into()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            for found in page.items.unwrap_or_default() {
                links.push(parse(found)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(links);
            }
        }
    }

    async fn put_invitation(&self, invitation: &Invitation) -> Result<(), StoreUnavailable> {
        let item = item("invite", &invitation.code_hash, invitation, Some(invitation.expires_at))?;
        Ok(self.put(item).await?)
    }

    async fn get_invitation(&self, code_hash: &str) -> Result<Option<Invitation>, StoreUnavailable> {
        Ok(self.get("invite", code_hash).await?)
    }

    async fn redeem_invitation(&self, code_hash: &str, link: &TenantLink, now: i64) -> Result<(), LinkWriteError> {
        let link_item = item("link", &link.entra_tenant_id, link, None).map_err(StoreUnavailable::from)?;
        let build =
            |err: aws_sdk_dynamodb::error::BuildError| LinkWriteError::Unavailable(StoreUnavailable(err.to_string()));
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key("invite", code_hash)))
            .condition_expression("attribute_exists(pk) AND expires_at > :now")
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .build()
            .map_err(build)?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(link_item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    let failed = |index: usize| {
                        cancelled
                            .cancellation_reasons()
                            .get(index)
                            .is_some_and(|reason| reason.code() == Some("ConditionalCheckFailed"))
                    };
                    if failed(0) {
                        Err(LinkWriteError::InvitationInvalid)
                    } else if failed(1) {
                        Err(LinkWriteError::AlreadyLinked)
                    } else {
                        Err(LinkWriteError::Unavailable(backend(err).into()))
                    }
                }
                _ => Err(LinkWriteError::Unavailable(backend(err).into())),
            },
        }
    }
}
