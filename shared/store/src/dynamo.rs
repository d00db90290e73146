//! SDK client construction and error mapping shared by every repository.

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};

/// A DynamoDB call failed for a reason that is not part of the caller's domain (network, throttling, a malformed
/// item). Domain outcomes (conditional check failed, not found) are mapped by each repository instead.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    #[error("DynamoDB: {0}")]
    Backend(String),
    #[error("stored item is malformed: {0}")]
    Malformed(String),
}

pub(crate) fn backend<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::Backend(DisplayErrorContext(&err).to_string())
}

pub(crate) fn malformed(err: impl std::fmt::Display) -> StoreError {
    StoreError::Malformed(err.to_string())
}

impl From<StoreError> for wif_auth::ports::StoreUnavailable {
    fn from(err: StoreError) -> Self {
        wif_auth::ports::StoreUnavailable(err.to_string())
    }
}

/// The SDK client for a Lambda function: region and credentials from the standard chain, endpoint override from
/// `AWS_ENDPOINT_URL_DYNAMODB` (the local stack).
pub async fn dynamodb_client_from_env() -> aws_sdk_dynamodb::Client {
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    client_with(&shared)
}

/// A client over an SDK config a function already loaded (and shares with its other AWS clients).
pub fn client_with(config: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// BatchGetItem reads at most 100 keys per call.
const BATCH_GET_MAX: usize = 100;

/// Jittered exponential backoff from `base_ms` (doubling, capped at 64×) plus up to 15 ms of noise, so that
/// callers retrying the same thing spread out.
pub(crate) async fn jittered_backoff(base_ms: u64, attempt: u32) {
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 16);
    tokio::time::sleep(std::time::Duration::from_millis((base_ms << attempt.min(6)) + jitter)).await;
}

/// Every item of `keys` in `table`, strongly consistent, 100 keys per BatchGetItem, retrying unprocessed keys
/// (DynamoDB returns them under throttling) with backoff up to `retries` times.
pub(crate) async fn batch_get_consistent(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    keys: Vec<Item>,
    retries: u32,
) -> Result<Vec<Item>, StoreError> {
    let mut found = Vec::new();
    for chunk in keys.chunks(BATCH_GET_MAX) {
        let mut pending = Some(
            aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .consistent_read(true)
                .build()
                .map_err(|err| StoreError::Backend(format!("request build: {err}")))?,
        );
        let mut attempt = 0;
        while let Some(request) = pending.take() {
            let output = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(backend)?;
            found.extend(output.responses.and_then(|mut r| r.remove(table)).unwrap_or_default());
            pending = output
                .unprocessed_keys
                .and_then(|mut unprocessed| unprocessed.remove(table))
                .filter(|k| !k.keys().is_empty());
            if pending.is_some() {
                attempt += 1;
                if attempt > retries {
                    return Err(StoreError::Backend("BatchGetItem kept throttling".into()));
                }
                jittered_backoff(10, attempt).await;
            }
        }
    }
    Ok(found)
}
