//! The ISV portal's backend (Entra setup step 2): client registrations and their lifecycle, over a storage trait.
//! The admin Lambda is a thin HTTP adapter over [`service::RegistryService`].

pub mod error;
pub mod memory;
pub mod ports;
pub mod service;
pub mod view;

pub use error::RegistryError;
pub use service::{Actor, PublicUrls, RegistryService};
