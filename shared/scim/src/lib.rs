//! SCIM 2.0 (RFC 7643 / RFC 7644) without AWS or an HTTP stack: the RFC protocol engines, Microsoft Entra's dialect
//! of the protocol, and the directory service that runs them over a storage trait. Modules depend only on the layers
//! above them in this list (`tests/module_cycles.rs` fails on any module cycle).
//!
//! # Vocabulary
//!
//! - [`attr_path`]: [`attr_path::AttrPath`], how every engine names an attribute (`urn:..:User:name.givenName`).
//! - [`schema`]: [`schema::ResourceSchema::user`] (core User + Enterprise extension) and
//!   [`schema::ResourceSchema::group`], attribute characteristics, case-insensitive
//!   [`schema::ResourceSchema::resolve`]; [`schema::discovery`] builds `/ServiceProviderConfig`, `/ResourceTypes` and
//!   `/Schemas` from a [`schema::discovery::DiscoveryConfig`] (base URL and the limits the service enforces).
//! - [`error`]: [`error::ScimError`] with its RFC 7644 §3.12 JSON.
//!
//! # The RFC engines (pure functions over `serde_json::Value` documents; they know no particular client)
//!
//! - [`filter`]: [`filter::parse`] (strict RFC grammar), [`filter::parse_with`] (grammar extensions),
//!   [`filter::validate`] and [`filter::matches`]; `Display` prints a filter that parses back to the same tree.
//! - [`resource`]: [`resource::prepare_create`] / [`resource::prepare_replace`] turn a POST/PUT body, after the
//!   caller's normalisation, into a [`resource::PreparedResource`] (canonical document, password and group members
//!   split off, index keys via [`resource::index_keys`]); [`resource::meta`] builds `meta` and handles weak ETags and
//!   `If-Match` / `If-None-Match`.
//! - [`patch`]: [`patch::PatchRequest::parse`], [`patch::take_member_operations`] (groups) and [`patch::apply`] (with
//!   the caller's normalisation of each operation), which reports [`patch::PatchOutcome::changed`] so no-op PATCHes
//!   can skip the write.
//! - [`projection`]: [`projection::Projection`] (a request's `attributes` / `excludedAttributes`),
//!   [`projection::project`].
//! - [`sort`]: [`sort::parse_sort_by`], [`sort::SortOrder`], [`sort::compare`] / [`sort::compare_ordered`].
//!
//! # Entra's dialect
//!
//! - [`entra_compat`]: every Entra quirk as a named step, and the entry points that hand those steps to the engines
//!   ([`entra_compat::filter::parse_and_validate`], [`entra_compat::resource::prepare_create`] /
//!   [`entra_compat::resource::prepare_replace`], [`entra_compat::patch::apply`]).
//!
//! # The directory
//!
//! - [`store`]: the storage port [`store::DirectoryStore`] and its records (implemented over DynamoDB by wif-store).
//! - [`service`]: [`service::DirectoryService`], what each SCIM operation reads and writes, per resource kind, with
//!   the audit trail; list and search with query planning.
//! - [`api`]: the SCIM HTTP surface over `http::Request` / `http::Response` (routes, headers, bodies, status codes).
//!
//! # Test support (feature `test-support`)
//!
//! - `contract`: the storage contract suite every [`store::DirectoryStore`] must pass.
//! - `memory`: an in-memory [`store::DirectoryStore`].

pub mod attr_path;
pub mod bulk;
pub mod entra_compat;
pub mod error;
pub mod filter;
mod json;
pub mod patch;
pub mod projection;
pub mod resource;
pub mod schema;
pub mod sort;

pub mod api;
#[cfg(any(test, feature = "test-support"))]
pub mod contract;
#[cfg(any(test, feature = "test-support"))]
pub mod memory;
pub mod service;
pub mod store;
