//! DynamoDB repositories behind the storage traits of the pure crates (`wif-auth`, `wif-scim`,
//! `wif-registry`) and the table names each function is configured with ([`tables`]).
//!
//! Feature `test-support` adds what only tests and benchmarks use: an SDK interceptor that counts DynamoDB calls
//! per operation ([`CallCounter`]) and the check of a function's declared permissions against its configuration
//! ([`tables::declaration_mismatch`]). Creating tables from `infra/template.yaml` is `wif-testkit`'s job.

pub mod audit;
#[cfg(any(test, feature = "test-support"))]
pub mod call_counter;
pub mod clients;
#[cfg(feature = "directory")]
pub mod directory;
pub mod dynamo;
pub mod keys;
pub mod paging;
pub mod portal;
pub mod rate_limits;
pub mod tables;
pub mod tokens;

pub use aws_sdk_dynamodb::Client as DynamoClient;
#[cfg(any(test, feature = "test-support"))]
pub use call_counter::CallCounter;
pub use dynamo::{StoreError, dynamodb_client_from_env};
pub use tables::{TableKind, TableNames};
