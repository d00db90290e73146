//! SCIM 2.0 (RFC 7643 / RFC 7644) without AWS or an HTTP stack: the protocol engine (schemas, filters, PATCH, projection,
//! resource rules and Entra normalisations) and the directory service that runs it over a storage trait.
//!
//! # The protocol engine (pure functions over `serde_json::Value` documents)
//!
//! - [`schema`]: [`schema::ResourceSchema::user`] (core User + Enterprise extension) and
//!   [`schema::ResourceSchema::group`], attribute characteristics, case-insensitive
//!   [`schema::ResourceSchema::resolve`]; [`schema::discovery`] builds `/ServiceProviderConfig`, `/ResourceTypes` and
//!   `/Schemas` from a [`schema::discovery::DiscoveryConfig`] (base URL and the limits the service enforces).
//! - [`filter`]: [`filter::parse`] (strict RFC grammar), [`filter::parse_and_validate`] (what a `filter` query
//!   parameter needs: Entra tolerance + schema check), [`filter::matches`] and [`filter::validate`]; `Display` prints
//!   a filter that parses back to the same tree.
//! - [`resource`]: [`resource::prepare_create`] / [`resource::prepare_replace`] turn a POST/PUT body into a
//!   [`resource::PreparedResource`] (canonical document, password and group members split off, index keys via
//!   [`resource::PreparedResource::index_keys`] / [`resource::index_keys`]); [`resource::meta`] builds `meta` and
//!   handles weak ETags and `If-Match` / `If-None-Match`.
//! - [`patch`]: [`patch::PatchRequest::parse`], [`patch::take_member_operations`] (groups) and [`patch::apply`],
//!   which reports [`patch::PatchOutcome::changed`] so no-op PATCHes can skip the write.
//! - [`projection`]: [`projection::parse_attribute_list`], [`projection::project`], [`projection::needs_members`].
//! - [`sort`]: [`sort::parse_sort_by`], [`sort::SortOrder`], [`sort::compare`] / [`sort::compare_ordered`].
//! - [`entra_compat`]: every Entra quirk as a named step, applied by the functions above before the RFC rules.
//! - [`error`]: [`error::ScimError`] with its RFC 7644 §3.12 JSON.

pub mod entra_compat;
pub mod error;
pub mod filter;
mod json;
pub mod patch;
pub mod projection;
pub mod resource;
pub mod schema;
pub mod sort;

// Directory service over storage (the service engineer's part): the storage port, its in-memory implementation and
// the storage contract suite every backend must pass.
pub mod api;
#[cfg(any(test, feature = "test-support"))]
pub mod contract;
pub mod memory;
pub mod service;
pub mod store;
