//! DynamoDB repositories behind the storage traits of the pure crates (`wif-auth`, `wif-scim`,
//! `wif-registry`), the table definitions read from `infra/template.yaml`, and an SDK interceptor that counts
//! DynamoDB calls per operation (for benchmarks and call-budget tests).

pub mod audit;
pub mod call_counter;
pub mod clients;
#[cfg(feature = "directory")]
pub mod directory;
pub mod dynamo;
pub mod events;
pub mod keys;
pub mod paging;
pub mod rate_limits;
pub mod tables;
pub mod tokens;

pub use aws_sdk_dynamodb::Client as DynamoClient;
pub use call_counter::CallCounter;
pub use dynamo::{StoreError, dynamodb_client_from_env};
pub use tables::{TableKind, TableNames};
