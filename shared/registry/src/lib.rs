//! The ISV portal's backend (Entra setup step 2) over storage traits: client registrations and their lifecycle
//! ([`RegistryService`]), client secrets ([`secrets`]), connection checks ([`ConnectionTester`]) and audit queries
//! ([`AuditQueries`]). The admin Lambda is a thin HTTP adapter over these.

pub mod audit_query;
pub mod checks;
pub mod error;
pub mod memory;
pub mod ports;
pub mod secrets;
pub mod service;
pub mod view;

pub use audit_query::{AuditQueries, AuditRequest};
pub use checks::{ConnectionReport, ConnectionTester};
pub use error::RegistryError;
pub use service::{Actor, ClientCreate, PersonActor, PublicUrls, RegistryService};
