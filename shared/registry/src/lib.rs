//! The ISV portal's backend (Entra setup step 2) over storage traits: client registrations and their lifecycle
//! ([`RegistryService`]: reads in [`service`], create and update in [`settings`], federated credentials and their
//! audiences in [`credentials`], enable/disable/delete/revoke in [`lifecycle`], the one-off trust-marker migration
//! in [`migration`]), client secrets ([`secrets`]), connection checks ([`ConnectionTester`]) and audit queries
//! ([`AuditQueries`]). Requests and answers are the wire types of `wif-admin-api`, shared with the `wif-admin` CLI;
//! [`view`] turns stored registrations into them. The admin Lambda is a thin HTTP adapter over these.

pub mod audit_query;
pub mod checks;
pub mod credentials;
pub mod error;
pub mod lifecycle;
#[cfg(any(test, feature = "test-support"))]
pub mod memory;
pub mod migration;
pub mod ports;
pub mod secrets;
pub mod service;
pub mod settings;
mod trust;
pub mod view;

#[cfg(test)]
mod tests;

pub use audit_query::AuditQueries;
pub use checks::ConnectionTester;
pub use error::RegistryError;
pub use service::{Actor, PersonActor, PublicUrls, RegistryPorts, RegistryService};
pub use settings::parse_new_client;
