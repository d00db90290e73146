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
