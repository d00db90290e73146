//! SCIM 2.0 (RFC 7643 / RFC 7644) without AWS or HTTP: the protocol engine (schemas, filters, PATCH, projection,
//! resource rules and Entra normalisations) and the directory service that runs it over a storage trait.

// Directory service over storage (the service engineer's part): the storage port, its in-memory implementation and
// the storage contract suite every backend must pass.
#[cfg(any(test, feature = "test-support"))]
pub mod contract;
pub mod memory;
pub mod store;
