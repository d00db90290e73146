//! The admin API's wire types, defined once: the admin Lambda (through `wif-registry`) serializes them and the
//! `wif-admin` CLI deserializes them, so the two cannot drift apart. Plain serde types with no server-side or
//! AWS dependency.
//!
//! - [`client`]: registrations (`/clients…`): what a registration looks like, what creating and changing one sends.
//! - [`credential`]: a registration's federated credentials and their audiences (`/clients/{id}/credentials…`), and
//!   the one-off trust-marker migration (`/migrations/trust-markers`).
//! - [`migration`]: the one-off Directory membership migration (`/migrations/directory-memberships`).
//! - [`secret`]: client secrets (`/clients/{id}/secrets…`).
//! - [`check`]: the connection test (`/clients/{id}/test`).
//! - [`push`]: RFC 8935 push delivery state and redelivery (`/clients/{id}/push…`).
//! - [`audit`]: the audit trail (`/audit`), including the audit event every function records.
//!
//! Responses tolerate members they do not know (a newer server may add some); request bodies leave out what the
//! caller did not set, and the server refuses members it does not know.

pub mod audit;
pub mod check;
pub mod client;
pub mod credential;
pub mod migration;
pub mod push;
pub mod secret;

pub use audit::{AuditCategory, AuditEvent, AuditFilter, AuditPage};
pub use check::{Check, ConnectionReport};
pub use client::{
    Client, ClientEvents, ClientPage, ClientSettings, ClientUpdate, Deleted, NewClient, SecretInfo, TokensRevoked,
};
pub use credential::{
    AudienceChange, CredentialChange, CredentialList, CredentialRemoved, CredentialSettings, CredentialUpdate,
    FederatedCredential, MarkerConflict, MarkerMigration,
};
pub use migration::MembershipMigration;
pub use push::PushStatus;
pub use secret::{CreatedSecret, NewSecret, RevokedSecret, SecretList};
