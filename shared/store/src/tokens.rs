//! Tokens table: issued access tokens, keyed by the SHA-256 of the token.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use wif_auth::ports::{StoreUnavailable, TokenRecord, TokenStore};

use crate::dynamo::{StoreError, backend, malformed};

pub const CLIENT_INDEX: &str = "ClientIndex";

#[derive(Debug, Clone)]
pub struct TokenRepository {
    pub(crate) client: Client,
    pub(crate) table: String,
    pub(crate) clock: std::sync::Arc<dyn wif_common::Clock>,
    /// The Clients table, whose registration item each issuing transaction checks (token function only).
    pub(crate) clients_table: Option<String>,
}

impl TokenRepository {
    pub fn new(client: Client, table: impl Into<String>, clock: std::sync::Arc<dyn wif_common::Clock>) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
            clients_table: None,
        }
    }

    /// A repository that can issue tokens: its writes are conditioned on the registration in `clients_table`.
    pub fn with_clients_table(mut self, clients_table: impl Into<String>) -> Self {
        self.clients_table = Some(clients_table.into());
        self
    }

    pub async fn put(&self, record: &TokenRecord) -> Result<(), StoreError> {
        let item = serde_dynamo::to_item(record).map_err(malformed)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Strongly consistent: a token must work on the first SCIM call right after it was issued, and a revocation
    /// must be seen by the next one.
    pub async fn get(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("token_hash", AttributeValue::S(token_hash.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        output
            .item
            .map(|item| serde_dynamo::from_item(item).map_err(malformed))
            .transpose()
    }

    /// Marks every not-yet-expired token of the client revoked: first those of its token index (a strongly
    /// consistent read: every token committed before the registration changed), then any the ClientIndex GSI
    /// knows of (tokens issued before the index existed).
    pub async fn revoke_for_client(&self, client_id: &str) -> Result<usize, StoreError> {
        let now = self.clock.now_unix();
        let mut revoked = 0;
        for hash in self.indexed_live_tokens(client_id).await? {
            revoked += usize::from(self.revoke_one(AttributeValue::S(hash)).await?);
        }
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(CLIENT_INDEX)
                .key_condition_expression("client_id = :client AND expires_at > :now")
                // Already revoked tokens would each cost a failed conditional write; the index projects `revoked`.
                .filter_expression("revoked = :no")
                .expression_attribute_values(":client", AttributeValue::S(client_id.to_owned()))
                .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                .expression_attribute_values(":no", AttributeValue::Bool(false))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                if let Some(hash) = item.get("token_hash").cloned() {
                    revoked += usize::from(self.revoke_one(hash).await?);
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(revoked)
    }

    /// Marks one token revoked; `false` if it already was, or expired and was deleted meanwhile.
    async fn revoke_one(&self, hash: AttributeValue) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("token_hash", hash)
            .update_expression("SET revoked = :yes")
            .condition_expression("attribute_exists(token_hash) AND revoked = :no")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(backend(err)),
        }
    }
}

#[async_trait::async_trait]
impl TokenStore for TokenRepository {
    async fn put_token(&self, record: &TokenRecord) -> Result<(), StoreUnavailable> {
        Ok(self.put(record).await?)
    }

    async fn put_token_if_current(
        &self,
        record: &TokenRecord,
        registration_version: u64,
    ) -> Result<(), wif_auth::revocation::IssueError> {
        self.issue(record, registration_version).await
    }

    async fn get_token(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreUnavailable> {
        Ok(self.get(token_hash).await?)
    }

    async fn revoke_client_tokens(&self, client_id: &str) -> Result<usize, StoreUnavailable> {
        Ok(self.revoke_for_client(client_id).await?)
    }
}
